"""Schematic figures drawn with matplotlib: the unrolled RNN and the LSTM cell.

They are drawn from code (no image files) so they carry the book's font and style and can
be regenerated. Each function draws into ``ax`` (a new figure if None) and returns it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes

__all__ = [
    "draw_decoding_step",
    "draw_encoder_decoder",
    "draw_lstm_cell",
    "draw_multi_head",
    "draw_self_attention_flow",
    "draw_unrolled_rnn",
]

_BOX = "#dbe9f6"
_EDGE = "#2b5d8a"
_GATE = "#fde2c8"
_GATE_EDGE = "#b3611a"
_STATE = "#e4f2e1"


def _new_ax(ax: Axes | None, size: tuple[float, float]) -> Axes:
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size)
    ax.set_axis_off()
    ax.set_aspect("equal")
    return ax


def _box(ax: Axes, x: float, y: float, w: float, h: float, text: str, face: str, edge: str, size=11) -> None:
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


def _arrow(ax: Axes, start, end, color="black", text: str | None = None, offset=(0.0, 0.0), **kw) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, lw=1.3, color=color, **kw))
    if text:
        mx, my = (start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1]
        ax.text(mx, my, text, ha="center", va="center", fontsize=9, color=color)


def draw_unrolled_rnn(steps: int = 4, ax: Axes | None = None) -> Axes:
    """The folded RNN (one cell with a loop) and the same cell unrolled over ``steps`` boxes.

    Every horizontal arrow carries the same ``W_hh``, every vertical input arrow the same
    ``W_xh`` and every output arrow the same ``W_hy``: unrolling copies the picture, not the
    weights. The boxes are ``h_1, h_2, ...`` and the last one is ``h_T``, with a gap (⋯) before it.
    """
    if not isinstance(steps, int) or not 3 <= steps <= 8:
        raise ValueError(f"steps must be an int in [3, 8], got {steps!r}")
    ax = _new_ax(ax, (1.55 * steps + 4.0, 3.3))
    # folded: one box and a loop back into itself
    _box(ax, 0, 0, 1.0, 0.8, "$h_t$", _BOX, _EDGE, 13)
    _arrow(ax, (0, -1.35), (0, -0.42), text="$W_{xh}$", offset=(-0.38, 0))
    ax.text(0, -1.6, "$x_t$", ha="center", va="center", fontsize=12)
    _line(ax, [(0.5, 0.15), (0.9, 0.15), (0.9, -0.75), (0.3, -0.75), (0.3, -0.42)], color=_GATE_EDGE)
    ax.text(1.0, -0.3, "$W_{hh}$", ha="left", va="center", fontsize=9, color=_GATE_EDGE)
    _arrow(ax, (0, 0.42), (0, 1.2), text="$W_{hy}$", offset=(-0.38, 0))
    ax.text(0, 1.45, "$\\hat y_t$", ha="center", va="center", fontsize=12)
    ax.text(2.0, 0, "=", ha="center", va="center", fontsize=22)
    ax.text(0.3, -2.15, "접은 그림", ha="center", va="center", fontsize=10)
    # unrolled: boxes 1, 2, ..., steps-1, then a gap and T
    x0, dx = 4.1, 1.6
    positions = [x0 + t * dx for t in range(steps - 1)] + [x0 + (steps - 0.4) * dx]
    labels = [str(t + 1) for t in range(steps - 1)] + ["T"]
    ax.text(2.85, 0, "$h_0$", ha="center", va="center", fontsize=12)
    for t, (x, label) in enumerate(zip(positions, labels, strict=True)):
        _box(ax, x, 0, 1.0, 0.8, f"$h_{{{label}}}$", _BOX, _EDGE, 12)
        _arrow(ax, (x, -1.35), (x, -0.42), text="$W_{xh}$", offset=(0.38, 0))
        ax.text(x, -1.6, f"$x_{{{label}}}$", ha="center", va="center", fontsize=12)
        _arrow(ax, (x, 0.42), (x, 1.2), text="$W_{hy}$", offset=(0.38, 0))
        ax.text(x, 1.45, f"$\\hat y_{{{label}}}$", ha="center", va="center", fontsize=12)
        if t == 0:
            _arrow(ax, (3.1, 0), (x - 0.52, 0), color=_GATE_EDGE, text="$W_{hh}$", offset=(0, 0.22))
        elif t < steps - 1:
            _arrow(
                ax,
                (positions[t - 1] + 0.52, 0),
                (x - 0.52, 0),
                color=_GATE_EDGE,
                text="$W_{hh}$",
                offset=(0, 0.22),
            )
        else:
            gap = positions[t - 1] + 0.52
            _arrow(ax, (gap, 0), (gap + 0.45, 0), color=_GATE_EDGE)
            ax.text((gap + x - 0.52) / 2, 0, "$\\cdots$", ha="center", va="center", fontsize=14)
            _arrow(ax, (x - 0.97, 0), (x - 0.52, 0), color=_GATE_EDGE)
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


def _op(ax: Axes, x: float, y: float, symbol: str) -> None:
    ax.add_patch(Circle((x, y), 0.22, fc="white", ec="black", lw=1.3, zorder=3))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=12, zorder=4)


def _line(ax: Axes, points, color="black", arrow=True, lw=1.3) -> None:
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


def draw_lstm_cell(ax: Axes | None = None) -> Axes:
    """One LSTM step: the cell-state line on top, the four gate layers below it.

    ``c_{t-1} -> (x f_t) -> (+ i_t * g_t) -> c_t`` runs straight along the top: the additive
    path the gradient follows. ``h_t = o_t * tanh(c_t)`` leaves on the right.
    """
    ax = _new_ax(ax, (8.6, 4.6))
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
    _line(ax, [(-1.2, top), (0.78, top)], color=_EDGE, lw=2.2)
    _op(ax, 1.0, top, "×")
    _line(ax, [(1.22, top), (3.18, top)], color=_EDGE, lw=2.2)
    _op(ax, 3.4, top, "+")
    _line(ax, [(3.62, top), (7.7, top)], color=_EDGE, lw=2.2)
    ax.text(-1.25, top + 0.3, "$c_{t-1}$", fontsize=12, ha="left")
    ax.text(7.7, top + 0.3, "$c_t$", fontsize=12, ha="right")
    ax.text(2.2, top + 0.3, "셀 상태: 곱하고 더하기만 하는 길", fontsize=9, ha="center", color=_EDGE)
    # input bus [h_{t-1}, x_t]
    _line(ax, [(-1.2, bottom), (4.8, bottom)], arrow=False)
    ax.text(-1.25, bottom + 0.25, "$h_{t-1}$", fontsize=12, ha="left")
    _line(ax, [(0.3, -2.75), (0.3, bottom)], arrow=False)
    ax.text(0.3, -3.0, "$x_t$", fontsize=12, ha="center")
    names = {
        "f": ("$\\sigma$", "$f_t$", "망각"),
        "i": ("$\\sigma$", "$i_t$", "입력"),
        "g": ("tanh", "$g_t$", "후보"),
        "o": ("$\\sigma$", "$o_t$", "출력"),
    }
    for key, x in xs.items():
        _line(ax, [(x, bottom), (x, gate_y - 0.3)])
        _box(ax, x, gate_y, 0.8, 0.55, names[key][0], _GATE, _GATE_EDGE, 11)
        # math and Hangul in separate texts: mathtext has no Hangul glyphs
        ax.text(x + 0.1, gate_y - 0.55, names[key][1], fontsize=10, ha="left", va="center", color=_GATE_EDGE)
        ax.text(x + 0.45, gate_y - 0.55, names[key][2], fontsize=9, ha="left", va="center", color=_GATE_EDGE)
    # forget gate to the first multiply
    _line(ax, [(1.0, gate_y + 0.3), (1.0, top - 0.24)])
    # input gate * candidate -> +
    _op(ax, 3.4, 0.95, "×")
    _line(ax, [(2.3, gate_y + 0.3), (2.3, 0.95), (3.16, 0.95)])
    _line(ax, [(3.4, gate_y + 0.3), (3.4, 0.71)])
    _line(ax, [(3.4, 1.19), (3.4, top - 0.24)])
    # output: tanh(c_t) * o_t -> h_t
    _box(ax, 5.8, 1.15, 0.75, 0.45, "tanh", "white", "black", 10)
    _line(ax, [(5.8, top), (5.8, 1.4)])
    _op(ax, 5.8, 0.2, "×")
    _line(ax, [(5.8, 0.92), (5.8, 0.44)])
    _line(ax, [(4.8, gate_y + 0.3), (4.8, 0.2), (5.56, 0.2)])
    _line(ax, [(5.8, -0.02), (5.8, -1.0), (7.7, -1.0)])
    _line(ax, [(6.3, -1.0), (6.3, -2.6)])
    ax.text(7.7, -0.75, "$h_t$", fontsize=12, ha="right")
    ax.text(6.45, -2.6, "$h_t$", fontsize=12, ha="left", va="center")
    ax.text(6.85, -2.6, "출력", fontsize=9, ha="left", va="center")
    ax.set_xlim(-1.4, 7.9)
    ax.set_ylim(-3.2, 2.75)
    return ax


# --- Chapter 4.1: self-attention as data flow, and multi-head attention ---------------------

_Q_EDGE, _K_EDGE, _V_EDGE = "#b3611a", "#2b5d8a", "#3a7d3a"
_Q_FACE, _K_FACE, _V_FACE = "#fde2c8", "#dbe9f6", "#e4f2e1"


def _grid(ax: Axes, x: float, y: float, rows: int, cols: int, cell: float, face, edge: str) -> None:
    """``rows x cols`` square cells with the top-left corner at ``(x, y)``.

    ``face`` is one color for every cell or a ``rows x cols`` nested list of colors.
    """
    from matplotlib.patches import Rectangle

    for i in range(rows):
        for j in range(cols):
            color = face if isinstance(face, str) else face[i][j]
            ax.add_patch(Rectangle((x + j * cell, y - (i + 1) * cell), cell, cell, fc=color, ec=edge, lw=0.8))


def _two_lines(ax: Axes, x: float, y: float, math: str, hangul: str, color="black", below=True) -> None:
    """A math name and a Hangul gloss under (``below``) or over a grid, as separate texts.

    Mathtext has no Hangul glyphs, so the two never share one string.
    """
    va, step = ("top", -0.4) if below else ("bottom", 0.34)
    first, second = (math, hangul) if below else (hangul, math)
    for n, text in enumerate((first, second)):
        ax.text(x, y + n * step, text, ha="center", va=va, fontsize=14 if text is math else 12.5, color=color)


def draw_self_attention_flow(
    words: Sequence[str] = ("나는", "어제", "친구와", "영화를", "봤다"),
    weights: object | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Self-attention on one sentence as data flow, one grid row per word.

    ``X`` (one embedding row per word) times ``W^Q`` gives ``Q``; times ``W^K``, transposed,
    gives ``Kᵀ`` (drawn above the score grid: its columns are the keys); ``Q Kᵀ / sqrt(d_k)``
    is the ``(T, T)`` score grid (row: query, column: key); a softmax per row gives the
    attention weights ``A``; ``A V`` is the output, one row ``z_i`` per word. ``weights``
    (optional, shape ``(T, T)``, e.g. the chapter's computed weights) shades ``A``.
    """
    from matplotlib import colormaps

    if (
        not isinstance(words, (list, tuple))
        or not 2 <= len(words) <= 8
        or not all(isinstance(w, str) for w in words)
    ):
        raise ValueError(f"words must be a list or tuple of 2 to 8 strings, got {words!r}")
    T = len(words)
    if weights is None:
        rows = [[1.0 / T] * T for _ in range(T)]
    else:
        shape = tuple(getattr(weights, "shape", ()))
        if shape != (T, T):
            raise ValueError(
                f"weights must have shape (T, T) = ({T}, {T}) for {T} words, got {shape or weights!r}"
            )
        rows = [[float(v) for v in row] for row in weights]
        if min(min(r) for r in rows) < 0:
            raise ValueError("weights must be non-negative (softmax outputs)")
    ax = _new_ax(ax, (11.0, 4.9))
    c = 0.4  # cell size
    top, bottom = T * c / 2, -T * c / 2  # every T-row grid is centred on y = 0
    cols = {"X": 4, "Q": 3, "S": T, "A": T, "V": 3, "Z": 3}
    left = {"X": 0.0, "Q": 2.7, "S": 4.7}
    left["A"] = left["S"] + T * c + 1.5
    left["V"] = left["A"] + T * c + 0.7
    left["Z"] = left["V"] + 3 * c + 0.8
    mid = {k: left[k] + cols[k] * c / 2 for k in left}
    right = {k: left[k] + cols[k] * c for k in left}
    # X, one row per word
    _grid(ax, left["X"], top, T, cols["X"], c, "#eeeeee", "#555555")
    for i, w in enumerate(words):
        ax.text(left["X"] - 0.12, top - (i + 0.5) * c, w, ha="right", va="center", fontsize=13)
    _two_lines(ax, mid["X"], bottom - 0.12, "$X$", "단어 임베딩")
    # Q
    _arrow(ax, (right["X"] + 0.05, 0), (left["Q"] - 0.05, 0), _Q_EDGE, "$\\times W^q$", (0, 0.22))
    _grid(ax, left["Q"], top, T, cols["Q"], c, _Q_FACE, _Q_EDGE)
    _two_lines(ax, mid["Q"], bottom - 0.12, "$Q$", "쿼리", _Q_EDGE)
    # K^T above the score grid
    kt_top = top + 3 * c + 0.45
    _grid(ax, left["S"], kt_top, 3, T, c, _K_FACE, _K_EDGE)
    for j, w in enumerate(words):
        x = left["S"] + (j + 0.5) * c
        ax.text(
            x, kt_top + 0.06, w, ha="left", va="bottom", fontsize=11.5, rotation=60, rotation_mode="anchor"
        )
    ax.text(
        right["S"] + 0.12, kt_top - 1.1 * c, "$K^\\top$", ha="left", va="center", fontsize=13, color=_K_EDGE
    )
    ax.text(
        right["S"] + 0.12, kt_top - 2.1 * c, "키 (전치)", ha="left", va="center", fontsize=12.5, color=_K_EDGE
    )
    k_y = kt_top - 1.5 * c
    _line(ax, [(mid["X"], top + 0.05), (mid["X"], k_y), (left["S"] - 0.03, k_y)], color=_K_EDGE)
    ax.text(mid["X"] + 0.1, k_y + 0.2, "$\\times W^k$", ha="left", va="bottom", fontsize=12, color=_K_EDGE)
    # scores Q K^T / sqrt(d_k)
    _arrow(ax, (right["Q"] + 0.05, 0), (left["S"] - 0.05, 0), _Q_EDGE)
    _arrow(ax, (mid["S"], kt_top - 3 * c - 0.03), (mid["S"], top + 0.03), _K_EDGE)
    _grid(ax, left["S"], top, T, T, c, "#f3e9d9", "#8a6d3b")
    _two_lines(ax, mid["S"], bottom - 0.12, "$QK^\\top/\\sqrt{d_k}$", "점수")
    # softmax per row -> attention weights
    _arrow(ax, (right["S"] + 0.05, 0), (left["A"] - 0.05, 0), text="소프트맥스", offset=(0, 0.22))
    ax.text((right["S"] + left["A"]) / 2, -0.22, "행마다", ha="center", va="center", fontsize=12)
    cmap, vmax = colormaps["Blues"], max(max(r) for r in rows) or 1.0
    shades = [[cmap(0.1 + 0.8 * v / vmax) for v in r] for r in rows]
    _grid(ax, left["A"], top, T, T, c, shades, _K_EDGE)
    _two_lines(ax, mid["A"], bottom - 0.12, "$A$", "어텐션 가중치")
    # A . V = Z, with V routed from X below everything
    ax.text((right["A"] + left["V"]) / 2, 0, "$\\cdot$", ha="center", va="center", fontsize=24)
    _grid(ax, left["V"], top, T, cols["V"], c, _V_FACE, _V_EDGE)
    _two_lines(ax, mid["V"], top + 0.12, "$V$", "값", _V_EDGE, below=False)
    y_route = bottom - 1.15
    start = mid["X"] - 0.4
    _line(
        ax,
        [(start, bottom - 0.75), (start, y_route), (mid["V"], y_route), (mid["V"], bottom - 0.03)],
        _V_EDGE,
    )
    ax.text(
        (start + mid["V"]) / 2,
        y_route - 0.12,
        "$\\times W^v$",
        ha="center",
        va="top",
        fontsize=12,
        color=_V_EDGE,
    )
    ax.text((right["V"] + left["Z"]) / 2, 0, "=", ha="center", va="center", fontsize=18)
    _grid(ax, left["Z"], top, T, cols["Z"], c, "#eeeeee", "#555555")
    for i in range(T):
        ax.text(right["Z"] + 0.1, top - (i + 0.5) * c, f"$z_{i + 1}$", ha="left", va="center", fontsize=12)
    _two_lines(ax, mid["Z"], bottom - 0.12, "$Z = AV$", "출력 (가중 평균)")
    ax.set_xlim(-1.1, right["Z"] + 0.6)
    ax.set_ylim(y_route - 0.5, kt_top + 0.75)
    return ax


def draw_multi_head(num_heads: int = 8, d_model: int = 512, ax: Axes | None = None) -> Axes:
    """Multi-head attention: project, split into ``num_heads`` slices, attend in parallel, concat, ``W^O``.

    ``Q, K, V`` are each one ``(T, d_model)`` projection of ``X`` cut into ``num_heads``
    slices of ``d_model / num_heads`` columns (one color per head); each head attends with
    its own slices, side by side; the heads' outputs are concatenated back to ``d_model``
    columns and mixed by ``W^O``.
    """
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    if not isinstance(num_heads, int) or not 1 <= num_heads <= 12:
        raise ValueError(f"num_heads must be an int in [1, 12], got {num_heads!r}")
    if not isinstance(d_model, int) or d_model < 1 or d_model % num_heads:
        raise ValueError(
            f"d_model must be a positive int divisible by num_heads={num_heads}, got {d_model!r}"
        )
    h, d_head = num_heads, d_model // num_heads
    ax = _new_ax(ax, (11.0, 5.0))
    row = 0.62  # vertical space per head
    half = max(h, 4) * row / 2
    ys = [(h / 2 - i - 0.5) * row for i in range(h)]  # centre of head i
    colors = [colormaps["Set3" if h > 9 else "Pastel1"](i) for i in range(h)]
    bar_w = 0.42

    def bar(x: float, name: str, size: str, split: bool, edge: str = "#555555", lw: float = 1.0) -> None:
        if split:
            for i, y in enumerate(ys):
                ax.add_patch(Rectangle((x, y - row / 2), bar_w, row, fc=colors[i], ec=edge, lw=lw))
        ax.add_patch(
            Rectangle((x, -h * row / 2), bar_w, h * row, fc="none" if split else "#eeeeee", ec=edge, lw=lw)
        )
        size_name = 14 if "$" in name else 12.5
        ax.text(x + bar_w / 2, -half - 0.15, name, ha="center", va="top", fontsize=size_name)
        ax.text(x + bar_w / 2, -half - 0.5, size, ha="center", va="top", fontsize=12)

    bar(0.0, "$X$", f"T × {d_model}", split=False)
    x0, gap = 2.3, 0.56
    for n, (name, edge) in enumerate((("$Q$", _Q_EDGE), ("$K$", _K_EDGE), ("$V$", _V_EDGE))):
        x = x0 + n * gap
        for i, y in enumerate(ys):
            ax.add_patch(Rectangle((x, y - row / 2), bar_w, row, fc=colors[i], ec=edge, lw=1.2))
        ax.add_patch(Rectangle((x, -h * row / 2), bar_w, h * row, fc="none", ec=edge, lw=2.0))
        ax.text(x + bar_w / 2, h * row / 2 + 0.12, name, ha="center", va="bottom", fontsize=14, color=edge)
    _arrow(ax, (bar_w + 0.05, 0), (x0 - 0.05, 0))
    ax.text((bar_w + x0) / 2, 0.28, "$\\times W^q, W^k, W^v$", ha="center", va="center", fontsize=12)
    ax.text((bar_w + x0) / 2, -0.28, "투영", ha="center", va="center", fontsize=12)
    ax.text(
        x0 + gap + bar_w / 2,
        -half - 0.15,
        f"나누기: {d_model} = {h} × {d_head}",
        ha="center",
        va="top",
        fontsize=12,
    )
    ax.text(x0 + gap + bar_w / 2, -half - 0.5, "(헤드마다 한 조각)", ha="center", va="top", fontsize=12)
    # the heads, side by side
    qkv_right = x0 + 2 * gap + bar_w
    hx, hw = qkv_right + 0.9, 2.8
    formula = "$\\mathrm{head}_h = \\mathrm{Attention}(Q_h, K_h, V_h)$"
    ax.text(hx + hw / 2, h * row / 2 + 0.12, formula, ha="center", va="bottom", fontsize=12)
    cx = hx + hw + 0.8
    for i, y in enumerate(ys):
        _arrow(ax, (qkv_right + 0.05, y), (hx - 0.05, y), color="#555555")
        ax.add_patch(Rectangle((hx, y - 0.22), hw, 0.44, fc=colors[i], ec="#555555", lw=1.0))
        ax.text(hx + hw / 2, y, f"헤드 {i + 1}", ha="center", va="center", fontsize=12.5)
        _arrow(ax, (hx + hw + 0.05, y), (cx - 0.05, y), color="#555555")
    ax.text(hx + hw / 2, -half - 0.15, f"{h}개의 어텐션을 동시에", ha="center", va="top", fontsize=12)
    ax.text(hx + hw / 2, -half - 0.5, f"헤드마다 T × {d_head}", ha="center", va="top", fontsize=12)
    bar(cx, "이어 붙이기", f"T × {d_model}", split=True)
    # W^O mixes the heads
    wx = cx + bar_w + 0.7
    _arrow(ax, (cx + bar_w + 0.05, 0), (wx - 0.05, 0))
    _box(ax, wx + 0.45, 0, 0.9, 0.9, "$W^O$", _GATE, _GATE_EDGE, 13)
    ax.text(wx + 0.45, -0.75, "헤드들을 섞기", ha="center", va="top", fontsize=12)
    ox = wx + 0.9 + 0.7
    _arrow(ax, (wx + 0.95, 0), (ox - 0.05, 0))
    bar(ox, "출력", f"T × {d_model}", split=False)
    ax.set_xlim(-0.4, ox + bar_w + 0.4)
    ax.set_ylim(-half - 1.0, half + 0.6)
    return ax


# --- Chapter 4.2: the encoder-decoder stack and one decoding step ---------------------------

_ADD_FACE, _ADD_EDGE = "#fff4c2", "#9a7b00"


def _stack_block(ax: Axes, x: float, y: float, w: float, parts, skip_x: float) -> float:
    """Sublayers bottom-up from ``y``, each followed by add & norm with a residual skip on the
    ``skip_x`` side; returns the top y. ``parts`` are ``(text, face, edge)``."""
    h_sub, h_add, gap = 0.5, 0.34, 0.22
    for text, face, edge in parts:
        start = y
        _arrow(ax, (x, y), (x, y + gap), shrinkA=0, shrinkB=0)
        y += gap
        _box(ax, x, y + h_sub / 2, w, h_sub, text, face, edge, 10)
        y += h_sub
        _arrow(ax, (x, y), (x, y + gap), shrinkA=0, shrinkB=0)
        y += gap
        _box(ax, x, y + h_add / 2, w, h_add, "더하기 & 층 정규화", _ADD_FACE, _ADD_EDGE, 9)
        # residual: from below the sublayer, around it, into add & norm
        side = x + skip_x
        _line(
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


def _layer_frame(ax: Axes, left: float, y0: float, y1: float, w: float, edge: str) -> None:
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


def draw_encoder_decoder(num_layers: int = 2, ax: Axes | None = None) -> Axes:
    """The whole encoder-decoder Transformer with ``num_layers`` layers on each side (post-LN).

    Left: digits -> embedding x sqrt(d_model) + positional encoding -> encoder layers (self-
    attention, feed-forward; each followed by add & layer norm around a residual skip). The top
    encoder output, ``memory``, feeds the encoder-decoder attention of *every* decoder layer,
    each through its own ``W^K, W^V``. Right: the shifted target -> decoder layers (masked
    self-attention, encoder-decoder attention, feed-forward) -> linear -> softmax.
    """
    if not isinstance(num_layers, int) or not 1 <= num_layers <= 3:
        raise ValueError(f"num_layers must be an int in [1, 3], got {num_layers!r}")
    ax = _new_ax(ax, (10.0, 4.2 + 3.0 * num_layers))
    w, ex, dx = 2.7, 0.0, 6.4
    layer_edge = "#999999"
    # inputs and embeddings
    for x, token_text, emb in (
        (ex, "입력: 숫자 1 0 2 4", "숫자 임베딩"),
        (dx, "입력: <s> 천 이 십", "음절 임베딩"),
    ):
        ax.text(x, -0.25, token_text, ha="center", va="center", fontsize=10)
        _arrow(ax, (x, -0.05), (x, 0.3), shrinkA=0, shrinkB=0)
        _box(ax, x, 0.55, w, 0.5, emb + " × √d + 위치 인코딩", "#eeeeee", "#555555", 9.5)
    ax.text(
        dx,
        -0.6,
        "(정답을 한 칸 밀어 넣기: 교사 강요)",
        ha="center",
        va="center",
        fontsize=8.5,
        color="#555555",
    )
    enc_parts = [("셀프 어텐션", _K_FACE, _K_EDGE), ("피드포워드", _STATE, "#3a7d3a")]
    dec_parts = [
        ("마스크된 셀프 어텐션", _Q_FACE, _Q_EDGE),
        ("인코더-디코더 어텐션", "#efe1f5", "#7b3f99"),
        ("피드포워드", _STATE, "#3a7d3a"),
    ]
    # encoder layers
    y = 0.8
    for i in range(num_layers):
        y0 = y
        y = _stack_block(ax, ex, y, w, enc_parts, skip_x=-(w / 2 + 0.3))
        _layer_frame(ax, ex - w / 2 - 0.5, y0, y, w, layer_edge)
        ax.text(
            ex + w / 2 + 0.35,
            (y0 + y) / 2,
            f"인코더\n{i + 1}층",
            ha="left",
            va="center",
            fontsize=9.5,
            color="#555555",
        )
    enc_top = y
    _arrow(ax, (ex, enc_top), (ex, enc_top + 0.35), shrinkA=0, shrinkB=0)
    _box(ax, ex, enc_top + 0.6, w, 0.5, "메모리 (인코더 출력)", "#efe1f5", "#7b3f99", 10)
    mem_y = enc_top + 0.6
    # decoder layers; the memory bus runs up between the columns
    bus_x = (ex + dx) / 2 - 0.1
    y = 0.8
    cross_ys = []
    for i in range(num_layers):
        y0 = y
        cross_y = y + 0.74 + 0.22 + 0.22 + 0.25  # centre of the second sublayer
        y = _stack_block(ax, dx, y, w, dec_parts, skip_x=w / 2 + 0.3)
        _layer_frame(ax, dx - w / 2 - 0.25, y0, y, w, layer_edge)
        ax.text(
            dx - w / 2 - 0.4,
            y0 + 0.35,
            f"디코더\n{i + 1}층",
            ha="right",
            va="bottom",
            fontsize=9.5,
            color="#555555",
        )
        cross_ys.append(cross_y)
        _arrow(ax, (bus_x, cross_y), (dx - w / 2 - 0.02, cross_y), color="#7b3f99", shrinkA=0)
        ax.text(
            bus_x + 0.12,
            cross_y + 0.16,
            f"$W^K_{i + 1}, W^V_{i + 1}$",
            ha="left",
            va="bottom",
            fontsize=9,
            color="#7b3f99",
        )
    _line(
        ax, [(ex + w / 2, mem_y), (bus_x, mem_y), (bus_x, cross_ys[0])], color="#7b3f99", arrow=False, lw=1.8
    )
    ax.text(bus_x - 0.12, 1.45, "키·값은 메모리에서", ha="right", va="bottom", fontsize=9, color="#7b3f99")
    ax.text(bus_x - 0.12, 1.1, "층마다 따로 투영", ha="right", va="bottom", fontsize=9, color="#7b3f99")
    dec_top = y
    _arrow(ax, (dx, dec_top), (dx, dec_top + 0.3), shrinkA=0, shrinkB=0)
    _box(ax, dx, dec_top + 0.55, w, 0.5, "선형 층 → 로짓", "#eeeeee", "#555555", 10)
    _arrow(ax, (dx, dec_top + 0.8), (dx, dec_top + 1.1), shrinkA=0, shrinkB=0)
    _box(ax, dx, dec_top + 1.35, w, 0.5, "소프트맥스", "#eeeeee", "#555555", 10)
    _arrow(ax, (dx, dec_top + 1.6), (dx, dec_top + 1.9), shrinkA=0, shrinkB=0)
    ax.text(dx, dec_top + 2.1, "위치마다 다음 음절의 확률", ha="center", va="center", fontsize=10)
    ax.set_xlim(ex - w / 2 - 1.0, dx + w / 2 + 1.0)
    ax.set_ylim(-0.9, dec_top + 2.4)
    return ax


def draw_decoding_step(
    prefix: Sequence[str] = ("<s>", "천", "이"),
    candidates: Sequence[tuple[str, float]] = (("십", 0.97), ("백", 0.02), ("사", 0.01)),
    ax: Axes | None = None,
) -> Axes:
    """One step of greedy decoding: the prefix so far -> decoder (with the encoder's memory)
    -> the last position's logits -> softmax -> argmax -> appended as the next input.

    ``prefix`` starts with the start token; ``candidates`` are the top (syllable, probability)
    pairs of the softmax, best first (illustrative numbers).
    """
    if (
        not isinstance(prefix, (list, tuple))
        or not 1 <= len(prefix) <= 6
        or not all(isinstance(t, str) for t in prefix)
    ):
        raise ValueError(f"prefix must be a list or tuple of 1 to 6 strings, got {prefix!r}")
    if (
        not isinstance(candidates, (list, tuple))
        or not 1 <= len(candidates) <= 5
        or not all(isinstance(t, str) and 0 <= p <= 1 for t, p in candidates)
    ):
        raise ValueError(
            f"candidates must be 1 to 5 (syllable, probability in [0, 1]) pairs, got {candidates!r}"
        )
    ax = _new_ax(ax, (10.0, 4.6))
    T, c = len(prefix), 0.62
    x0 = 0.0
    xs = [x0 + i * (c + 0.12) for i in range(T + 1)]
    # the input row and the empty slot the choice goes into
    for i, tok in enumerate(prefix):
        _box(ax, xs[i] + c / 2, 0, c, 0.5, tok, "#eeeeee", "#555555", 10)
    _box(ax, xs[T] + c / 2, 0, c, 0.5, "?", "white", _Q_EDGE, 10)
    row_right = xs[T] + c
    ax.text(x0 - 0.15, 0, "디코더 입력", ha="right", va="center", fontsize=10.5)
    ax.text(x0 - 0.15, -0.3, "(지금까지의 출력)", ha="right", va="center", fontsize=8.5)
    # the decoder over the prefix
    dec_w = xs[T - 1] + c - x0
    dec_y = 1.45
    for i in range(T):
        _arrow(ax, (xs[i] + c / 2, 0.27), (xs[i] + c / 2, dec_y - 0.4), shrinkA=0, shrinkB=0)
    _box(ax, x0 + dec_w / 2, dec_y, dec_w + 0.1, 0.75, "디코더 (인과 마스크)", _Q_FACE, _Q_EDGE, 10)
    _arrow(ax, (x0 - 1.2, dec_y), (x0 - 0.05, dec_y), color="#7b3f99")
    ax.text(x0 - 1.25, dec_y + 0.05, "메모리", ha="right", va="bottom", fontsize=9.5, color="#7b3f99")
    ax.text(x0 - 1.25, dec_y - 0.05, "(인코더, 한 번만)", ha="right", va="top", fontsize=8.5, color="#7b3f99")
    # one output per position; only the last one is used
    out_y = 2.55
    for i in range(T):
        last = i == T - 1
        color = "black" if last else "#bbbbbb"
        _arrow(
            ax, (xs[i] + c / 2, dec_y + 0.4), (xs[i] + c / 2, out_y - 0.2), color=color, shrinkA=0, shrinkB=0
        )
        ax.add_patch(
            FancyBboxPatch(
                (xs[i] + 0.1, out_y - 0.18),
                c - 0.2,
                0.36,
                boxstyle="round,pad=0.02",
                fc="#dbe9f6" if last else "#f4f4f4",
                ec=color,
                lw=1.0,
            )
        )
    ax.text(xs[0] - 0.1, out_y + 0.1, "위치마다 출력", ha="right", va="bottom", fontsize=9, color="#777777")
    ax.text(
        xs[0] - 0.1, out_y - 0.1, "(학습 때는 모두 씀)", ha="right", va="top", fontsize=8.5, color="#777777"
    )
    # last position -> linear -> softmax -> argmax
    lx = xs[T - 1] + c / 2
    px = row_right + 1.0
    _line(ax, [(lx, out_y + 0.18), (lx, out_y + 0.6), (px - 0.05, out_y + 0.6)])
    ax.text((lx + px) / 2 + 0.1, out_y + 0.72, "마지막 위치만", ha="center", va="bottom", fontsize=10)
    _box(ax, px + 0.75, out_y + 0.6, 1.5, 0.5, "선형 층 → 로짓", "#eeeeee", "#555555", 9.5)
    sx = px + 1.5 + 0.45
    _arrow(ax, (px + 1.52, out_y + 0.6), (sx - 0.02, out_y + 0.6))
    _box(ax, sx + 0.65, out_y + 0.6, 1.3, 0.5, "소프트맥스", "#eeeeee", "#555555", 9.5)
    # the probabilities as horizontal bars
    bx = sx + 1.3 + 0.55
    top = out_y + 0.6 + 0.35 * (len(candidates) - 1) / 2
    _arrow(ax, (sx + 1.32, out_y + 0.6), (bx - 0.05, out_y + 0.6))
    for j, (tok, p) in enumerate(candidates):
        y = top - 0.35 * j
        ax.text(bx + 0.05, y, tok, ha="left", va="center", fontsize=10)
        ax.add_patch(
            FancyBboxPatch(
                (bx + 0.4, y - 0.11),
                1.2 * p + 0.01,
                0.22,
                boxstyle="square,pad=0",
                fc=_Q_EDGE if j == 0 else "#cccccc",
                ec="none",
            )
        )
        ax.text(bx + 0.45 + 1.2 * p, y, f"{p:.2f}", ha="left", va="center", fontsize=8.5)
    ax.text(bx + 0.9, top + 0.3, "다음 음절의 확률", ha="center", va="bottom", fontsize=10)
    # argmax -> the chosen syllable -> back into the empty slot
    choice = candidates[0][0]
    ay = 0.9
    _arrow(ax, (bx + 0.9, top - 0.35 * (len(candidates) - 1) - 0.2), (bx + 0.9, ay + 0.3))
    ax.text(
        bx + 1.0,
        (top - 0.35 * len(candidates) + ay + 0.3) / 2 + 0.05,
        "argmax",
        ha="left",
        va="center",
        fontsize=9.5,
    )
    _box(ax, bx + 0.9, ay, c, 0.5, choice, _Q_FACE, _Q_EDGE, 11)
    _line(
        ax,
        [(bx + 0.9, ay - 0.27), (bx + 0.9, -0.75), (xs[T] + c / 2, -0.75), (xs[T] + c / 2, -0.27)],
        color=_Q_EDGE,
    )
    ax.text(
        (xs[T] + c / 2 + bx + 0.9) / 2,
        -0.88,
        "다음 단계의 입력 끝에 붙인다: \u201c그 출력이 입력 쿼리로 온다\u201d",
        ha="center",
        va="top",
        fontsize=9.5,
        color=_Q_EDGE,
    )
    ax.set_xlim(x0 - 2.6, bx + 2.3)
    ax.set_ylim(-1.3, top + 0.75)
    return ax
