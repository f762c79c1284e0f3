"""seqnotes.measure.reader: the measurements of a trained number reader."""

from __future__ import annotations

import pytest

from seqnotes.models.seq2seq import Seq2SeqConfig
from seqnotes.tasks.numbers import (
    SRC_TOKENS,
    TGT_TOKENS,
    make_split,
)


def test_digit_positions_silent_man_and_decoder_changes() -> None:
    from seqnotes.measure.reader import decoder_changes, digit_positions, exact_match, silent_man

    assert digit_positions(1024) == [2, 3]  # 천이십사: the 1 before 천 is silent, the 0 unread
    assert digit_positions(10000) == [] and digit_positions(100010000) == [0]  # 만 / 일억 만
    assert digit_positions(110000) == [1]  # 십일만: the 1 of 만 is read when 만's group is 11
    assert digit_positions(300020001) == [0, 4, 8]
    for n in make_split(max_digits=9, test_per_length=30, round_per_length=30, seed=2).test_round:
        digit_positions(n)  # the rule agrees with num2words (it raises otherwise)
    assert silent_man(300000001) and silent_man(1200001234) and not silent_man(300010001)
    assert not silent_man(10000)
    assert exact_match([1, 2], ["일", "삼"]) == 0.5
    assert decoder_changes([1, 2, 3], ["일", "삼", "삼"], ["이", "이", "삼"]) == {
        "changed": 2,
        "fixed": 1,
        "broken": 1,
    }
    with pytest.raises(ValueError, match="equal length"):
        exact_match([1], [])
    with pytest.raises(ValueError, match="lengths"):
        decoder_changes([1], ["일"], [])


def test_alignment_share_and_evaluate_reader_of_a_tiny_model() -> None:
    from seqnotes.measure.reader import alignment_share, evaluate_reader
    from seqnotes.training.recipes import train_number_reader

    split = make_split(max_digits=9, test_per_length=3, round_per_length=3, seed=0)
    V_src, V_tgt = len(SRC_TOKENS), len(TGT_TOKENS)
    config = Seq2SeqConfig(V_src, V_tgt, d_model=16, num_heads=2, d_ff=32, context_size=32)
    model, history = train_number_reader(split, config, seed=0, steps=3, batch_size=8, warmup_steps=1)
    assert len(history.loss) == 3
    share = alignment_share(model, [123456789, 300020001])
    assert 0.0 <= share <= 1.0
    row = evaluate_reader(model, split)
    assert row["silent_man_total"] == sum(n >= 10**8 and n % 10**8 // 10**4 == 0 for n in split.test_round)
    assert 0 <= row["beam_fixed"] + row["beam_broken"] <= row["beam_changed"] <= len(split.test_round)
