"""Curves of every chapter: training histories, results over seeds, gradients by distance (Chapters 0-5).

The figures the notes only describe in words: gradients against distance (notes lines 9-10:
"아주 먼 과거의 데이터가 소실 됨"), results over seeds, Chapter 5's comparison. Every model
keeps its colour (:data:`seqnotes.style.MODEL_COLORS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from seqnotes.style import MODEL_COLORS
from seqnotes.utils import check_positive_int

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from seqnotes.training.loop import History

__all__ = [
    "gradient_markers_legend",
    "plot_curves",
    "plot_gradient_vs_distance",
    "plot_history",
    "plot_ranking_spread",
    "plot_seed_spread",
    "plot_seeds_by_length",
]


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
# Chapter 5's comparison figures


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
