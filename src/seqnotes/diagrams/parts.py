"""The drawing parts every schematic figure of the book shares: boxes, arrows, grids, colours.

Used by :mod:`seqnotes.diagrams.recurrent`, :mod:`seqnotes.diagrams.attention` and
:mod:`seqnotes.diagrams.transformer` (Chapters 2-4.2; the figures of notes lines 9, 14-19 and
41-62); each part draws into ``ax``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "arrow",
    "box",
    "grid",
    "layer_frame",
    "line",
    "new_ax",
    "op",
    "stack_block",
    "two_lines",
]

BOX = "#dbe9f6"
EDGE = "#2b5d8a"
GATE = "#fde2c8"
GATE_EDGE = "#b3611a"
STATE = "#e4f2e1"

Q_EDGE, K_EDGE, V_EDGE = "#b3611a", "#2b5d8a", "#3a7d3a"
Q_FACE, K_FACE, V_FACE = "#fde2c8", "#dbe9f6", "#e4f2e1"
ADD_FACE, ADD_EDGE = "#fff4c2", "#9a7b00"


def new_ax(ax: Axes | None, size: tuple[float, float]) -> Axes:
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size)
    ax.set_axis_off()
    ax.set_aspect("equal")
    return ax


def box(ax: Axes, x: float, y: float, w: float, h: float, text: str, face: str, edge: str, size=11) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            fc=face,
            ec=edge,
            lw=1.5,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=size)


def arrow(ax: Axes, start, end, color="black", text: str | None = None, offset=(0.0, 0.0), **kw) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, lw=1.3, color=color, **kw))
    if text:
        mx, my = (start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1]
        ax.text(mx, my, text, ha="center", va="center", fontsize=9, color=color)


def op(ax: Axes, x: float, y: float, symbol: str) -> None:
    ax.add_patch(Circle((x, y), 0.22, fc="white", ec="black", lw=1.3, zorder=3))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=12, zorder=4)


def line(ax: Axes, points, color="black", arrow=True, lw=1.3) -> None:
    xs, ys = zip(*points, strict=True)
    if len(points) > 2:
        ax.plot(xs[:-1], ys[:-1], color=color, lw=lw, solid_capstyle="round")
    last = (points[-2], points[-1])
    style = "-|>" if arrow else "-"
    ax.add_patch(
        FancyArrowPatch(
            *last,
            arrowstyle=style,
            mutation_scale=12,
            lw=lw,
            color=color,
            shrinkA=0,
            shrinkB=0 if not arrow else 2,
        )
    )


def grid(ax: Axes, x: float, y: float, rows: int, cols: int, cell: float, face, edge: str) -> None:
    """``rows x cols`` square cells with the top-left corner at ``(x, y)``.

    ``face`` is one color for every cell or a ``rows x cols`` nested list of colors.
    """
    from matplotlib.patches import Rectangle

    for i in range(rows):
        for j in range(cols):
            color = face if isinstance(face, str) else face[i][j]
            ax.add_patch(Rectangle((x + j * cell, y - (i + 1) * cell), cell, cell, fc=color, ec=edge, lw=0.8))


def two_lines(ax: Axes, x: float, y: float, math: str, hangul: str, color="black", below=True) -> None:
    """A math name and a Hangul gloss under (``below``) or over a grid, as separate texts.

    Mathtext has no Hangul glyphs, so the two never share one string.
    """
    va, step = ("top", -0.4) if below else ("bottom", 0.34)
    first, second = (math, hangul) if below else (hangul, math)
    for n, text in enumerate((first, second)):
        ax.text(x, y + n * step, text, ha="center", va=va, fontsize=14 if text is math else 12.5, color=color)


def stack_block(ax: Axes, x: float, y: float, w: float, parts, skip_x: float) -> float:
    """Sublayers bottom-up from ``y``, each followed by add & norm with a residual skip on the
    ``skip_x`` side; returns the top y. ``parts`` are ``(text, face, edge)``."""
    h_sub, h_add, gap = 0.5, 0.34, 0.22
    for text, face, edge in parts:
        start = y
        arrow(ax, (x, y), (x, y + gap), shrinkA=0, shrinkB=0)
        y += gap
        box(ax, x, y + h_sub / 2, w, h_sub, text, face, edge, 10)
        y += h_sub
        arrow(ax, (x, y), (x, y + gap), shrinkA=0, shrinkB=0)
        y += gap
        box(ax, x, y + h_add / 2, w, h_add, "더하기 & 층 정규화", ADD_FACE, ADD_EDGE, 9)
        # residual: from below the sublayer, around it, into add & norm
        side = x + skip_x
        line(
            ax,
            [
                (x, start + 0.08),
                (side, start + 0.08),
                (side, y + h_add / 2),
                (x + w / 2 * (1 if skip_x > 0 else -1), y + h_add / 2),
            ],
            color="#777777",
            lw=1.0,
        )
        y += h_add
    return y


def layer_frame(ax: Axes, left: float, y0: float, y1: float, w: float, edge: str) -> None:
    """A dashed frame around one encoder or decoder layer drawn from ``y0`` to ``y1``."""
    frame = FancyBboxPatch(
        (left, y0 + 0.12),
        w + 0.75,
        y1 - y0 - 0.1,
        boxstyle="round,pad=0.05",
        fc="none",
        ec=edge,
        lw=1.0,
        ls="--",
        zorder=0,
    )
    ax.add_patch(frame)
