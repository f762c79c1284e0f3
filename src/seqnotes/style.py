"""The book's figure style, Korean font and one colour per model (Chapters 0-5; no line of the notes).

Hangul needs a font that has it. :func:`setup_korean_font` registers NanumGothic from the
files that ship inside the ``koreanize-matplotlib`` wheel (read from disk, the package is
not imported), so every figure shows Korean on a machine that only has pip.
:func:`use_book_style` (called by :func:`seqnotes.utils.book_setup`) sets the book's defaults.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager

__all__ = ["KOREAN_FONT", "MODEL_COLORS", "setup_korean_font", "use_book_style"]

KOREAN_FONT = "NanumGothic"

MODEL_COLORS: dict[str, str] = {
    "트라이그램": "#7f7f7f",
    "보간 n-그램": "#000000",
    "RNN": "#b3611a",
    "LSTM": "#2b5d8a",
    "GRU": "#5fa55a",
    "트랜스포머": "#8e44ad",
}
"""The book's one colour for each model, in every chapter (look up by the model's Korean name)."""


def _nanum_font_files() -> list[Path]:
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or spec.origin is None:
        return []
    return sorted((Path(spec.origin).parent / "fonts").glob("NanumGothic*.ttf"))


def setup_korean_font() -> str:
    """Register NanumGothic with matplotlib and use it for Hangul.

    The font family becomes ``["DejaVu Sans", "NanumGothic"]``: Latin letters, digits and
    the minus sign (U+2212, which NanumGothic lacks, also inside mathtext tick labels such
    as ``10^{-2}``) come from DejaVu Sans, and every Hangul glyph falls back to NanumGothic.
    Returns the Korean family name.

    Raises ``RuntimeError`` if the font files cannot be found (``koreanize-matplotlib`` is
    listed in ``requirements.txt``).
    """
    files = _nanum_font_files()
    if not files:
        raise RuntimeError(
            "NanumGothic not found: install the pinned requirements "
            "(koreanize-matplotlib ships the font files)"
        )
    known = {Path(f.fname).name for f in font_manager.fontManager.ttflist}
    for path in files:
        if path.name not in known:
            font_manager.fontManager.addfont(str(path))
    mpl.rcParams["font.family"] = ["DejaVu Sans", KOREAN_FONT]
    return KOREAN_FONT


def use_book_style() -> None:
    """The book's figure defaults: Korean font, a modest size and resolution, light grid."""
    setup_korean_font()
    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.facecolor": "white",
            "figure.constrained_layout.use": True,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
            "legend.frameon": False,
        }
    )
