"""Schematic figures of recurrent models: the unrolled RNN and the LSTM cell (Chapters 2, 3).

Notes line 9 ("하나의 가중치로 계속 학습": the same weights at every step of the unrolled
RNN) and lines 14-19 (the LSTM's three gates). Drawn from code (no image files), so they
carry the book's font and style; each function draws into ``ax`` (a new figure if None).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.patches import FancyBboxPatch

from seqnotes.diagrams.parts import BOX, EDGE, GATE, GATE_EDGE, arrow, box, line, new_ax, op

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["draw_lstm_cell", "draw_unrolled_rnn"]


def draw_unrolled_rnn(steps: int = 4, ax: Axes | None = None) -> Axes:
    """The folded RNN (one cell with a loop) and the same cell unrolled over ``steps`` boxes.

    Every horizontal arrow carries the same ``W_hh``, every vertical input arrow the same
    ``W_xh`` and every output arrow the same ``W_hy``: unrolling copies the picture, not the
    weights. The boxes are ``h_1, h_2, ...`` and the last one is ``h_T``, with a gap (⋯) before it.
    """
    if not isinstance(steps, int) or not 3 <= steps <= 8:
        raise ValueError(f"steps must be an int in [3, 8], got {steps!r}")
    ax = new_ax(ax, (1.55 * steps + 4.0, 3.3))
    # folded: one box and a loop back into itself
    box(ax, 0, 0, 1.0, 0.8, "$h_t$", BOX, EDGE, 13)
    arrow(ax, (0, -1.35), (0, -0.42), text="$W_{xh}$", offset=(-0.38, 0))
    ax.text(0, -1.6, "$x_t$", ha="center", va="center", fontsize=12)
    line(ax, [(0.5, 0.15), (0.9, 0.15), (0.9, -0.75), (0.3, -0.75), (0.3, -0.42)], color=GATE_EDGE)
    ax.text(1.0, -0.3, "$W_{hh}$", ha="left", va="center", fontsize=9, color=GATE_EDGE)
    arrow(ax, (0, 0.42), (0, 1.2), text="$W_{hy}$", offset=(-0.38, 0))
    ax.text(0, 1.45, "$\\hat y_t$", ha="center", va="center", fontsize=12)
    ax.text(2.0, 0, "=", ha="center", va="center", fontsize=22)
    ax.text(0.3, -2.15, "접은 그림", ha="center", va="center", fontsize=10)
    # unrolled: boxes 1, 2, ..., steps-1, then a gap and T
    x0, dx = 4.1, 1.6
    positions = [x0 + t * dx for t in range(steps - 1)] + [x0 + (steps - 0.4) * dx]
    labels = [str(t + 1) for t in range(steps - 1)] + ["T"]
    ax.text(2.85, 0, "$h_0$", ha="center", va="center", fontsize=12)
    for t, (x, label) in enumerate(zip(positions, labels, strict=True)):
        box(ax, x, 0, 1.0, 0.8, f"$h_{{{label}}}$", BOX, EDGE, 12)
        arrow(ax, (x, -1.35), (x, -0.42), text="$W_{xh}$", offset=(0.38, 0))
        ax.text(x, -1.6, f"$x_{{{label}}}$", ha="center", va="center", fontsize=12)
        arrow(ax, (x, 0.42), (x, 1.2), text="$W_{hy}$", offset=(0.38, 0))
        ax.text(x, 1.45, f"$\\hat y_{{{label}}}$", ha="center", va="center", fontsize=12)
        if t == 0:
            arrow(ax, (3.1, 0), (x - 0.52, 0), color=GATE_EDGE, text="$W_{hh}$", offset=(0, 0.22))
        elif t < steps - 1:
            arrow(
                ax,
                (positions[t - 1] + 0.52, 0),
                (x - 0.52, 0),
                color=GATE_EDGE,
                text="$W_{hh}$",
                offset=(0, 0.22),
            )
        else:
            gap = positions[t - 1] + 0.52
            arrow(ax, (gap, 0), (gap + 0.45, 0), color=GATE_EDGE)
            ax.text((gap + x - 0.52) / 2, 0, "$\\cdots$", ha="center", va="center", fontsize=14)
            arrow(ax, (x - 0.97, 0), (x - 0.52, 0), color=GATE_EDGE)
    ax.text(
        (positions[0] + positions[-1]) / 2,
        -2.15,
        "시간 방향으로 펼친 그림: 모든 시점이 같은 가중치를 씁니다",
        ha="center",
        va="center",
        fontsize=10,
    )
    ax.set_xlim(-0.9, positions[-1] + 0.8)
    ax.set_ylim(-2.45, 1.75)
    return ax


def draw_lstm_cell(ax: Axes | None = None) -> Axes:
    """One LSTM step: the cell-state line on top, the four gate layers below it.

    ``c_{t-1} -> (x f_t) -> (+ i_t * g_t) -> c_t`` runs straight along the top: the additive
    path the gradient follows. ``h_t = o_t * tanh(c_t)`` leaves on the right.
    """
    ax = new_ax(ax, (8.6, 4.6))
    top, bottom = 2.0, -1.6
    gate_y = -0.35
    xs = {"f": 1.0, "i": 2.3, "g": 3.4, "o": 4.8}
    # cell state line
    ax.add_patch(
        FancyBboxPatch(
            (-0.2, -2.1),
            6.9,
            4.7,
            boxstyle="round,pad=0.05,rounding_size=0.3",
            fc="#f7f7f7",
            ec="#999999",
            lw=1.0,
            zorder=0,
        )
    )
    line(ax, [(-1.2, top), (0.78, top)], color=EDGE, lw=2.2)
    op(ax, 1.0, top, "×")
    line(ax, [(1.22, top), (3.18, top)], color=EDGE, lw=2.2)
    op(ax, 3.4, top, "+")
    line(ax, [(3.62, top), (7.7, top)], color=EDGE, lw=2.2)
    ax.text(-1.25, top + 0.3, "$c_{t-1}$", fontsize=12, ha="left")
    ax.text(7.7, top + 0.3, "$c_t$", fontsize=12, ha="right")
    ax.text(2.2, top + 0.3, "셀 상태: 곱하고 더하기만 하는 길", fontsize=9, ha="center", color=EDGE)
    # input bus [h_{t-1}, x_t]
    line(ax, [(-1.2, bottom), (4.8, bottom)], arrow=False)
    ax.text(-1.25, bottom + 0.25, "$h_{t-1}$", fontsize=12, ha="left")
    line(ax, [(0.3, -2.75), (0.3, bottom)], arrow=False)
    ax.text(0.3, -3.0, "$x_t$", fontsize=12, ha="center")
    names = {
        "f": ("$\\sigma$", "$f_t$", "망각"),
        "i": ("$\\sigma$", "$i_t$", "입력"),
        "g": ("tanh", "$g_t$", "후보"),
        "o": ("$\\sigma$", "$o_t$", "출력"),
    }
    for key, x in xs.items():
        line(ax, [(x, bottom), (x, gate_y - 0.3)])
        box(ax, x, gate_y, 0.8, 0.55, names[key][0], GATE, GATE_EDGE, 11)
        # math and Hangul in separate texts: mathtext has no Hangul glyphs
        ax.text(x + 0.1, gate_y - 0.55, names[key][1], fontsize=10, ha="left", va="center", color=GATE_EDGE)
        ax.text(x + 0.45, gate_y - 0.55, names[key][2], fontsize=9, ha="left", va="center", color=GATE_EDGE)
    # forget gate to the first multiply
    line(ax, [(1.0, gate_y + 0.3), (1.0, top - 0.24)])
    # input gate * candidate -> +
    op(ax, 3.4, 0.95, "×")
    line(ax, [(2.3, gate_y + 0.3), (2.3, 0.95), (3.16, 0.95)])
    line(ax, [(3.4, gate_y + 0.3), (3.4, 0.71)])
    line(ax, [(3.4, 1.19), (3.4, top - 0.24)])
    # output: tanh(c_t) * o_t -> h_t
    box(ax, 5.8, 1.15, 0.75, 0.45, "tanh", "white", "black", 10)
    line(ax, [(5.8, top), (5.8, 1.4)])
    op(ax, 5.8, 0.2, "×")
    line(ax, [(5.8, 0.92), (5.8, 0.44)])
    line(ax, [(4.8, gate_y + 0.3), (4.8, 0.2), (5.56, 0.2)])
    line(ax, [(5.8, -0.02), (5.8, -1.0), (7.7, -1.0)])
    line(ax, [(6.3, -1.0), (6.3, -2.6)])
    ax.text(7.7, -0.75, "$h_t$", fontsize=12, ha="right")
    ax.text(6.45, -2.6, "$h_t$", fontsize=12, ha="left", va="center")
    ax.text(6.85, -2.6, "출력", fontsize=9, ha="left", va="center")
    ax.set_xlim(-1.4, 7.9)
    ax.set_ylim(-3.2, 2.75)
    return ax
