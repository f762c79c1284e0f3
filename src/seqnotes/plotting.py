"""Figures for the book: Korean text, attention-style heatmaps and training curves.

Hangul needs a font that has it. :func:`setup_korean_font` registers NanumGothic from the
files that ship inside the ``koreanize-matplotlib`` wheel (read from disk, the package is
not imported), so every figure shows Korean on a machine that only has pip.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib as mpl
import numpy as np
import torch
from matplotlib import font_manager

from seqnotes.utils import check_positive_int

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from seqnotes.training import History

__all__ = ["KOREAN_FONT", "heatmap", "plot_history", "setup_korean_font", "use_book_style"]

KOREAN_FONT = "NanumGothic"


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


def _as_2d_array(matrix: object, name: str = "matrix") -> np.ndarray:
    if isinstance(matrix, torch.Tensor):
        matrix = matrix.detach().to("cpu", torch.float64).numpy()
    if not isinstance(matrix, np.ndarray):
        raise TypeError(f"{name} must be a 2-D torch.Tensor or numpy array, got {type(matrix).__name__}")
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, cols), got shape {matrix.shape}")
    return matrix.astype(np.float64)


def heatmap(
    matrix: torch.Tensor | np.ndarray,
    x_labels: Sequence[str] | None = None,
    y_labels: Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    annotate: bool | None = None,
    fmt: str = ".2f",
    colorbar: bool = True,
) -> Axes:
    """Draw a matrix such as attention weights ``(T_q, T_k)`` with labelled axes.

    Rows are queries (``y_labels``, top to bottom) and columns are keys (``x_labels``).
    ``annotate=None`` writes the values into the cells when the matrix is at most 12 x 12.
    """
    import matplotlib.pyplot as plt

    data = _as_2d_array(matrix)
    rows, cols = data.shape
    for labels, size, what in ((x_labels, cols, "x_labels"), (y_labels, rows, "y_labels")):
        if labels is not None and len(labels) != size:
            raise ValueError(
                f"{what} must have {size} entries to match matrix shape {data.shape}, got {len(labels)}"
            )
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.45 * cols + 1.5), max(3.0, 0.4 * rows + 1.0)))
    image = ax.imshow(data, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    ax.grid(False)
    if x_labels is not None:
        ax.set_xticks(range(cols), [str(s) for s in x_labels], rotation=90 if cols > 12 else 0)
    if y_labels is not None:
        ax.set_yticks(range(rows), [str(s) for s in y_labels])
    if annotate is None:
        annotate = rows <= 12 and cols <= 12
    if annotate:
        lo, hi = image.get_clim()
        mid = (lo + hi) / 2
        for i in range(rows):
            for j in range(cols):
                color = "black" if data[i, j] > mid else "white"
                ax.text(j, i, format(data[i, j], fmt), ha="center", va="center", fontsize=8, color=color)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if title:
        ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    return ax


def plot_history(
    history: History | Mapping[str, Sequence[float]],
    keys: Sequence[str] = ("loss",),
    *,
    ax: Axes | None = None,
    logy: bool = False,
    smooth: int = 1,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Axes:
    """Plot training curves: one line per key of a :class:`~seqnotes.training.History`.

    Per-step keys (``"loss"``, ``"grad_norm"``) are plotted against the step; evaluation
    keys (anything passed to ``fit`` through ``eval_fn``) against the steps they were
    measured at. ``smooth`` > 1 applies a running mean over that many steps.
    """
    import matplotlib.pyplot as plt

    from seqnotes.training import History

    check_positive_int(smooth, "smooth")
    if ax is None:
        _, ax = plt.subplots()
    for key in keys:
        if isinstance(history, History):
            steps, values = history.series(key)
        elif isinstance(history, Mapping):
            if key not in history:
                raise KeyError(f"history has no key {key!r}; keys: {sorted(history)}")
            values = list(history[key])
            steps = list(range(1, len(values) + 1))
        else:
            raise TypeError(f"history must be a History or a mapping, got {type(history).__name__}")
        y = np.asarray(values, dtype=np.float64)
        x = np.asarray(steps)
        if smooth > 1 and len(y) >= smooth:
            y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
            x = x[smooth - 1 :]
        ax.plot(x, y, label=(labels or {}).get(key, key))
    ax.set_xlabel("학습 단계(step)")
    if logy:
        ax.set_yscale("log")
    if len(keys) > 1 or labels:
        ax.legend()
    if title:
        ax.set_title(title)
    return ax
