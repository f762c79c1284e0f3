"""seqnotes.diagrams.recurrent: the unrolled RNN and the LSTM cell diagrams draw and check their arguments."""

from __future__ import annotations

import pytest


def test_unrolled_rnn_diagram_draws_and_checks_its_argument() -> None:
    from seqnotes.diagrams import draw_unrolled_rnn

    ax = draw_unrolled_rnn(steps=4)
    assert len(ax.patches) > 10 and not ax.axison
    with pytest.raises(ValueError, match=r"steps must be an int in \[3, 8\]"):
        draw_unrolled_rnn(steps=2)


def test_lstm_diagram_draws() -> None:
    from seqnotes.diagrams import draw_lstm_cell

    ax = draw_lstm_cell()
    texts = {t.get_text() for t in ax.texts}
    assert {"망각", "입력", "후보", "출력"} <= texts
