"""Matrices as pictures: attention weights as heatmaps, one panel per head (Chapters 0, 4.1, 4.2).

Notes lines 44-45 ("각 head는 각 단어와의 유사성을 다르게 찾는다") describe in words what
:func:`heatmap_grid` draws: every head's attention weights side by side on one colour scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from seqnotes.utils import check_positive_int

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["heatmap", "heatmap_grid"]


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


def heatmap_grid(
    matrices: torch.Tensor | Sequence[torch.Tensor | np.ndarray],
    x_labels: Sequence[str] | None = None,
    y_labels: Sequence[str] | None = None,
    *,
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    suptitle: str | None = None,
    colorbar_label: str | None = None,
    figsize: tuple[float, float] | None = None,
    **heatmap_kw: object,
) -> tuple[Figure, np.ndarray]:
    """One :func:`heatmap` per matrix, side by side: e.g. every head's attention weights.

    ``matrices`` is ``(n, rows, cols)`` (a tensor, e.g. one layer's weights ``(heads, T_q,
    T_k)``) or a list of ``n`` 2-D matrices. ``titles`` defaults to "헤드 1", "헤드 2", ...;
    ``ncols`` (default: all in one row) sets the grid. ``xlabel`` goes under every panel,
    ``ylabel`` beside the first column; with ``colorbar_label`` the panels share one colour
    bar. ``heatmap_kw`` (``vmin``, ``vmax``, ``annotate``, ``cmap``, ...) goes to every panel.
    Returns ``(fig, axes)``, ``axes`` of shape ``(rows, ncols)``.
    """
    import matplotlib.pyplot as plt

    mats = list(matrices.unbind(0) if isinstance(matrices, torch.Tensor) else matrices)
    if not mats:
        raise ValueError("matrices must hold at least one 2-D matrix")
    n = len(mats)
    ncols = n if ncols is None else check_positive_int(ncols, "ncols")
    titles = [f"헤드 {h + 1}" for h in range(n)] if titles is None else list(titles)
    if len(titles) != n:
        raise ValueError(f"titles must have one entry per matrix ({n}), got {len(titles)}")
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_visible(False)
            continue
        heatmap(
            mats[k], x_labels, y_labels, ax=ax, title=titles[k], xlabel=xlabel, colorbar=False, **heatmap_kw
        )
        if ylabel and k % ncols == 0:
            ax.set_ylabel(ylabel)
    if colorbar_label:
        fig.colorbar(axes.flat[0].images[0], ax=axes, shrink=0.8, label=colorbar_label)
    if suptitle:
        fig.suptitle(suptitle)
    return fig, axes
