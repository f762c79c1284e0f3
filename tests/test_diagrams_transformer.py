"""seqnotes.diagrams.transformer: the encoder-decoder and decoding-step diagrams draw, carry their
labels and miss no glyph."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from .helpers import draw_without_missing_glyphs as _draw_without_missing_glyphs
from .helpers import texts as _texts


def test_encoder_decoder_labels_and_glyphs():
    from seqnotes.diagrams import draw_encoder_decoder

    ax = _draw_without_missing_glyphs(draw_encoder_decoder, num_layers=2)
    texts = _texts(ax)
    assert texts.count("인코더-디코더 어텐션") == 2  # memory feeds every decoder layer
    assert texts.count("더하기 & 층 정규화") == 2 * 2 + 2 * 3
    for label in ["$W^K_1, W^V_1$", "$W^K_2, W^V_2$", "메모리 (인코더 출력)", "소프트맥스", "선형 층 → 로짓"]:
        assert label in texts, label
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="num_layers"):
        draw_encoder_decoder(num_layers=0)


def test_decoding_step_labels_and_glyphs():
    from seqnotes.diagrams import draw_decoding_step

    ax = _draw_without_missing_glyphs(draw_decoding_step, prefix=["<s>", "천"], candidates=[("이", 0.9)])
    texts = _texts(ax)
    assert "argmax" in texts and "<s>" in texts and texts.count("이") == 2  # a bar label and the choice
    assert any("그 출력이 입력 쿼리로 온다" in t for t in texts)
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="prefix"):
        draw_decoding_step(prefix=[])
    with pytest.raises(ValueError, match="candidates"):
        draw_decoding_step(candidates=[("이", 1.5)])
