"""seqnotes.style: the book's figure style shows Korean without a missing glyph."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt

from seqnotes.style import setup_korean_font, use_book_style


def test_korean_text_renders_without_missing_glyph_warnings(tmp_path) -> None:
    use_book_style()
    fig, ax = plt.subplots()
    ax.plot([1, 10, 100])
    ax.set_yscale("log")  # mathtext tick labels with a minus sign: 10^{-1}
    ax.set_title("기울기 소실 −1")
    ax.set_xlabel("시간 t")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" is a UserWarning
        fig.savefig(tmp_path / "korean.png")


def test_setup_korean_font_registers_nanum() -> None:
    from matplotlib import font_manager

    name = setup_korean_font()
    path = font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
    assert "NanumGothic" in path
