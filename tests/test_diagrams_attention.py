"""seqnotes.diagrams.attention: the self-attention and multi-head diagrams draw, carry their Hangul
labels and miss no glyph."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from seqnotes.diagrams import draw_multi_head, draw_self_attention_flow

from .helpers import draw_without_missing_glyphs as _draw_without_missing_glyphs
from .helpers import texts as _texts


def test_self_attention_flow_labels_and_glyphs():
    words = ["나는", "어제", "친구와", "영화를", "봤다"]
    weights = torch.softmax(torch.randn(5, 5, generator=torch.Generator().manual_seed(0)), dim=-1)
    ax = _draw_without_missing_glyphs(draw_self_attention_flow, words=words, weights=weights)
    assert isinstance(ax.figure, Figure)
    texts = _texts(ax)
    glosses = ["쿼리", "값", "단어 임베딩", "점수", "어텐션 가중치", "출력 (가중 평균)", "행마다"]
    for label in [*words, *glosses]:
        assert label in texts, label
    assert "$QK^\\top/\\sqrt{d_k}$" in texts and "소프트맥스" in texts
    assert words.count("나는") == 1 and texts.count("나는") == 2  # a row of X and a column of K^T
    plt.close(ax.figure)


def test_self_attention_flow_rejects_bad_input():
    with pytest.raises(ValueError, match="2 to 8 strings"):
        draw_self_attention_flow(words=["하나"])
    with pytest.raises(ValueError, match="2 to 8 strings"):
        draw_self_attention_flow(words="나는 봤다")
    with pytest.raises(ValueError, match=r"shape \(T, T\) = \(3, 3\)"):
        draw_self_attention_flow(words=["a", "b", "c"], weights=torch.ones(3, 4))
    with pytest.raises(ValueError, match="non-negative"):
        draw_self_attention_flow(words=["a", "b"], weights=-torch.ones(2, 2))
    plt.close("all")


def test_multi_head_labels_and_glyphs():
    ax = _draw_without_missing_glyphs(draw_multi_head, num_heads=8, d_model=512)
    assert isinstance(ax.figure, Figure)
    texts = _texts(ax)
    heads = [t for t in texts if t.startswith("헤드 ") and t[3:].isdigit()]
    assert heads == [f"헤드 {i}" for i in range(1, 9)]
    for label in ["나누기: 512 = 8 × 64", "이어 붙이기", "헤드들을 섞기", "출력", "$W^O$"]:
        assert label in texts, label
    plt.close(ax.figure)


def test_multi_head_other_sizes_and_bad_input():
    ax = draw_multi_head(num_heads=2, d_model=8)
    assert "나누기: 8 = 2 × 4" in _texts(ax)
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="divisible"):
        draw_multi_head(num_heads=3, d_model=8)
    with pytest.raises(ValueError, match="num_heads"):
        draw_multi_head(num_heads=0)
