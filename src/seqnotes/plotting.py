"""Figures of every chapter (Chapters 0-5): heatmaps, training curves, one colour per model.

The figures the notes only describe in words: attention weights as heatmaps (notes lines
44-45), gradients against distance (lines 9-10), results over seeds. The Korean font and the
book's style are :mod:`seqnotes.style`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from seqnotes.utils import check_positive_int

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from seqnotes.training.loop import History

__all__ = [
    "MODEL_COLORS",
    "gradient_markers_legend",
    "heatmap",
    "heatmap_grid",
    "plot_curves",
    "plot_gradient_vs_distance",
    "plot_history",
    "plot_ranking_spread",
    "plot_seed_spread",
    "plot_seeds_by_length",
]


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
    """Plot training curves: one line per key of a :class:`~seqnotes.training.loop.History`.

    Per-step keys (``"loss"``, ``"grad_norm"``, ``"lr"``) are plotted against the step;
    evaluated metrics (anything ``eval_fn`` returned to ``fit``), named ``"eval:<name>"``,
    against the steps they were measured at, with markers: ``keys=("loss", "eval:loss")``
    draws the training loss of every step and the held-out loss of
    :func:`seqnotes.models.lm.evaluate` on one axis.
    ``smooth`` > 1 applies a running mean over that many steps (per-step keys only).
    """
    import matplotlib.pyplot as plt

    from seqnotes.training.loop import History

    check_positive_int(smooth, "smooth")
    if ax is None:
        _, ax = plt.subplots()
    for key in keys:
        evaluated = False
        if isinstance(history, History):
            steps, values = history.series(key)
            evaluated = steps is history.eval_steps
        elif isinstance(history, Mapping):
            if key not in history:
                raise KeyError(f"history has no key {key!r}; keys: {sorted(history)}")
            values = list(history[key])
            steps = list(range(1, len(values) + 1))
        else:
            raise TypeError(f"history must be a History or a mapping, got {type(history).__name__}")
        y = np.asarray(values, dtype=np.float64)
        x = np.asarray(steps)
        if smooth > 1 and len(y) >= smooth and not evaluated:
            y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
            x = x[smooth - 1 :]
        ax.plot(x, y, "o-" if evaluated else "-", label=(labels or {}).get(key, key))
    ax.set_xlabel("학습 단계(step)")
    if logy:
        ax.set_yscale("log")
    if len(keys) > 1 or labels:
        ax.legend()
    if title:
        ax.set_title(title)
    return ax


# ----------------------------------------------------------------------------------------
# One colour per model for the whole book, and Chapter 5's comparison figures

MODEL_COLORS: dict[str, str] = {
    "트라이그램": "#7f7f7f",
    "보간 n-그램": "#000000",
    "RNN": "#b3611a",
    "LSTM": "#2b5d8a",
    "GRU": "#5fa55a",
    "트랜스포머": "#8e44ad",
}
"""The book's colour for each model (look up by the model's Korean name in the book)."""


def plot_ranking_spread(
    values: Mapping[str, Sequence[float]],
    *,
    baselines: Mapping[str, float] | None = None,
    ax: Axes | None = None,
    ylabel: str = "",
    colors: Mapping[str, str] | None = None,
) -> Axes:
    """One column per model: every seed as a dot, the min–max range as a bar, the median
    as a wide tick. ``baselines`` (e.g. deterministic n-gram models) are horizontal lines."""
    import matplotlib.pyplot as plt

    if not values or not all(len(v) > 0 for v in values.values()):
        raise ValueError("values must map every model name to at least one number")
    colors = {**MODEL_COLORS, **(colors or {})}
    if ax is None:
        _, ax = plt.subplots()
    for i, (name, seeds) in enumerate(values.items()):
        y = np.sort(np.asarray(seeds, dtype=np.float64))
        color = colors.get(name, f"C{i}")
        ax.vlines(i, y[0], y[-1], color=color, lw=2, alpha=0.5)
        ax.plot(np.full(len(y), i), y, "o", ms=5, color=color)
        ax.hlines(float(np.median(y)), i - 0.25, i + 0.25, color=color, lw=2.5)
    for j, (name, level) in enumerate((baselines or {}).items()):
        ax.axhline(level, color=colors.get(name, "gray"), ls=(":", "--")[j % 2], lw=1, label=name)
    ax.set_xticks(range(len(values)), list(values))
    ax.set_xlim(-0.6, len(values) - 0.4)
    ax.set_ylabel(ylabel)
    if baselines:
        ax.legend(fontsize=9)
    return ax


def plot_curves(
    curves: Mapping[str, Sequence[tuple[Sequence[float], Sequence[float]]]],
    *,
    ax: Axes | None = None,
    xlabel: str = "",
    ylabel: str = "",
    baselines: Mapping[str, float] | None = None,
    colors: Mapping[str, str] | None = None,
    logy: bool = True,
) -> Axes:
    """Several runs per model as ``(x, y)`` curves in the model's colour (the first run
    labelled and drawn with markers, the others thin); ``baselines`` as horizontal lines."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    colors = {**MODEL_COLORS, **(colors or {})}
    if ax is None:
        _, ax = plt.subplots()
    for i, (name, runs) in enumerate(curves.items()):
        color = colors.get(name, f"C{i}")
        for k, (x, y) in enumerate(runs):
            first = {"marker": "o", "ms": 3, "lw": 1.5, "label": name}
            style = first if k == 0 else {"lw": 0.8, "alpha": 0.6}
            ax.plot(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), color=color, **style)
    for j, (name, level) in enumerate((baselines or {}).items()):
        ax.axhline(level, color=colors.get(name, "gray"), ls=(":", "--")[j % 2], lw=1, label=name)
    if logy:
        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


# ----------------------------------------------------------------------------------------
# Chapters 2, 3 and 5: results over seeds, gradient norms by distance


def plot_seeds_by_length(
    values: Mapping[str, Mapping[int, Sequence[float]]],
    *,
    ax: Axes | None = None,
    baseline: float | None = None,
    ylabel: str = "",
    logy: bool = True,
) -> Axes:
    """For each model, one value per seed at every sequence length ``T``: the seeds as dots,
    the min–max range as a bar and the median joined by a line. ``baseline`` is a dashed line."""
    import matplotlib.pyplot as plt

    if not values or not all(v and all(len(s) > 0 for s in v.values()) for v in values.values()):
        raise ValueError("values must map every model to {T: at least one value per seed}")
    if ax is None:
        _, ax = plt.subplots()
    for i, (name, by_length) in enumerate(values.items()):
        color = MODEL_COLORS.get(name, f"C{i}")
        lengths = sorted(by_length)
        shift = (i - (len(values) - 1) / 2) * 0.04  # side by side on a log-x axis
        xs = [t * (1 + shift) for t in lengths]
        for x, t in zip(xs, lengths, strict=True):
            y = np.asarray(by_length[t], dtype=np.float64)
            ax.vlines(x, y.min(), y.max(), color=color, lw=2, alpha=0.4)
            ax.plot(np.full(len(y), x), y, "o", ms=4, color=color, alpha=0.8)
        medians = [float(np.median(np.asarray(by_length[t], dtype=np.float64))) for t in lengths]
        ax.plot(xs, medians, "-", color=color, lw=1.5, label=f"{name} (중앙값)")
    if baseline is not None:
        ax.axhline(baseline, color="gray", ls="--", lw=1, label=f"기준선 {baseline:.3g}")
    if logy:
        ax.set_yscale("log")
    ax.set_xscale("log")
    all_lengths = sorted({t for v in values.values() for t in v})
    ax.set_xticks(all_lengths, [str(t) for t in all_lengths])
    ax.minorticks_off()
    ax.set_xlabel("시퀀스 길이 T")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return ax


def plot_gradient_vs_distance(
    curves: Mapping[str, torch.Tensor | Sequence[float]],
    *,
    ax: Axes | None = None,
    colors: Mapping[str, str] | None = None,
    styles: Mapping[str, Mapping[str, object]] | None = None,
    top: float = 1e40,
    bottom: float = 1e-48,
    limits: bool = True,
    title: str | None = None,
    ylabel: str = "$\\|\\partial L / \\partial h_t\\|$",
) -> Axes:
    """Gradient norms against distance on a log axis, with overflow and underflow marked.

    ``curves`` maps a label to norms ``(T,)`` by distance ``d = T - t`` (``d = 0`` is the
    last step), as every probe of :mod:`seqnotes.measure.gradients` returns them. A log axis
    can show neither 0 nor inf/NaN, so every curve is treated the same way: the finite,
    positive values are drawn as a line; from the first distance where the value overflowed
    (inf/NaN) an ``x`` is drawn at ``top``, and from the first where it underflowed to
    exactly 0 a ``v`` at ``bottom`` (:func:`gradient_markers_legend` explains them).
    ``colors`` maps a label to its colour, ``styles`` to further keyword arguments of
    ``ax.plot`` (``ls``, ``lw``, ...). With ``limits`` the y-axis spans
    ``[bottom / 1e3, top * 1e3]``; without, matplotlib chooses it.
    Chapters 2, 3 and 5 draw every gradient-vs-distance figure with it.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    if not curves:
        raise ValueError("curves must hold at least one (label -> norms) entry")
    for label, norms in curves.items():
        g = torch.as_tensor(norms, dtype=torch.float64).detach().cpu()
        if g.dim() != 1:
            raise ValueError(f"norms of {label!r} must be 1-D (T,), got shape {tuple(g.shape)}")
        d = torch.arange(len(g))
        shown = torch.isfinite(g) & (g > 0)
        style = {"color": (colors or {}).get(label), **dict((styles or {}).get(label, {}))}
        (line,) = ax.semilogy(d[shown].numpy(), g[shown].numpy(), label=label, **style)
        color = line.get_color()
        overflow, underflow = (~torch.isfinite(g)).nonzero(), (g == 0).nonzero()
        if len(overflow):
            ax.plot(int(overflow[0]), top, "x", color=color, ms=9, mew=2)
        if len(underflow):
            ax.plot(int(underflow[0]), bottom, "v", color=color, ms=7)
    if limits:
        ax.set_ylim(bottom / 1e3, top * 1e3)
    ax.set_xlabel("거리 T − t")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def gradient_markers_legend() -> list:
    """Legend handles for the two markers of :func:`plot_gradient_vs_distance`."""
    from matplotlib.lines import Line2D

    return [
        Line2D([], [], color="black", marker="x", ls="", mew=2, label="inf/NaN이 됨"),
        Line2D([], [], color="black", marker="v", ls="", label="0이 됨"),
    ]


def plot_seed_spread(
    x: Sequence[float],
    values: torch.Tensor | np.ndarray,
    *,
    ax: Axes | None = None,
    label: str | None = None,
    color: str | None = None,
) -> Axes:
    """Median over seeds with the min-max band and every seed as a dot.

    ``values (len(x), S)`` holds one column per seed (e.g. a held-out error per length and
    seed). The median is a line, the band spans the smallest to the largest seed, and the
    individual seeds are small dots, so a claim "over seeds" shows its spread.
    """
    import matplotlib.pyplot as plt

    v = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    if v.ndim != 2 or v.shape[0] != len(x):
        raise ValueError(f"values must have shape (len(x), S) = ({len(x)}, S), got {v.shape}")
    if ax is None:
        _, ax = plt.subplots()
    xs = np.asarray(x, dtype=np.float64)
    (line,) = ax.plot(xs, np.median(v, axis=1), "o-", color=color, label=label)
    ax.fill_between(xs, v.min(axis=1), v.max(axis=1), color=line.get_color(), alpha=0.2, lw=0)
    ax.plot(np.repeat(xs, v.shape[1]), v.reshape(-1), ".", color=line.get_color(), ms=4, alpha=0.7)
    return ax
