"""Schematic figures of attention: self-attention as data flow, multi-head attention (Chapter 4.1).

Notes lines 41-46 (q, k, v; scores; softmax; the weighted average of the values) and lines
48-53 (one head, eight heads). Each function draws into ``ax`` (a new figure if None).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seqnotes.diagrams.parts import (
    GATE,
    GATE_EDGE,
    K_EDGE,
    K_FACE,
    Q_EDGE,
    Q_FACE,
    V_EDGE,
    V_FACE,
    arrow,
    box,
    grid,
    line,
    new_ax,
    two_lines,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes

__all__ = ["draw_multi_head", "draw_self_attention_flow"]


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
    ax = new_ax(ax, (11.0, 4.9))
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
    grid(ax, left["X"], top, T, cols["X"], c, "#eeeeee", "#555555")
    for i, w in enumerate(words):
        ax.text(left["X"] - 0.12, top - (i + 0.5) * c, w, ha="right", va="center", fontsize=13)
    two_lines(ax, mid["X"], bottom - 0.12, "$X$", "단어 임베딩")
    # Q
    arrow(ax, (right["X"] + 0.05, 0), (left["Q"] - 0.05, 0), Q_EDGE, "$\\times W^q$", (0, 0.22))
    grid(ax, left["Q"], top, T, cols["Q"], c, Q_FACE, Q_EDGE)
    two_lines(ax, mid["Q"], bottom - 0.12, "$Q$", "쿼리", Q_EDGE)
    # K^T above the score grid
    kt_top = top + 3 * c + 0.45
    grid(ax, left["S"], kt_top, 3, T, c, K_FACE, K_EDGE)
    for j, w in enumerate(words):
        x = left["S"] + (j + 0.5) * c
        ax.text(
            x, kt_top + 0.06, w, ha="left", va="bottom", fontsize=11.5, rotation=60, rotation_mode="anchor"
        )
    ax.text(
        right["S"] + 0.12, kt_top - 1.1 * c, "$K^\\top$", ha="left", va="center", fontsize=13, color=K_EDGE
    )
    ax.text(
        right["S"] + 0.12, kt_top - 2.1 * c, "키 (전치)", ha="left", va="center", fontsize=12.5, color=K_EDGE
    )
    k_y = kt_top - 1.5 * c
    line(ax, [(mid["X"], top + 0.05), (mid["X"], k_y), (left["S"] - 0.03, k_y)], color=K_EDGE)
    ax.text(mid["X"] + 0.1, k_y + 0.2, "$\\times W^k$", ha="left", va="bottom", fontsize=12, color=K_EDGE)
    # scores Q K^T / sqrt(d_k)
    arrow(ax, (right["Q"] + 0.05, 0), (left["S"] - 0.05, 0), Q_EDGE)
    arrow(ax, (mid["S"], kt_top - 3 * c - 0.03), (mid["S"], top + 0.03), K_EDGE)
    grid(ax, left["S"], top, T, T, c, "#f3e9d9", "#8a6d3b")
    two_lines(ax, mid["S"], bottom - 0.12, "$QK^\\top/\\sqrt{d_k}$", "점수")
    # softmax per row -> attention weights
    arrow(ax, (right["S"] + 0.05, 0), (left["A"] - 0.05, 0), text="소프트맥스", offset=(0, 0.22))
    ax.text((right["S"] + left["A"]) / 2, -0.22, "행마다", ha="center", va="center", fontsize=12)
    cmap, vmax = colormaps["Blues"], max(max(r) for r in rows) or 1.0
    shades = [[cmap(0.1 + 0.8 * v / vmax) for v in r] for r in rows]
    grid(ax, left["A"], top, T, T, c, shades, K_EDGE)
    two_lines(ax, mid["A"], bottom - 0.12, "$A$", "어텐션 가중치")
    # A . V = Z, with V routed from X below everything
    ax.text((right["A"] + left["V"]) / 2, 0, "$\\cdot$", ha="center", va="center", fontsize=24)
    grid(ax, left["V"], top, T, cols["V"], c, V_FACE, V_EDGE)
    two_lines(ax, mid["V"], top + 0.12, "$V$", "값", V_EDGE, below=False)
    y_route = bottom - 1.15
    start = mid["X"] - 0.4
    line(
        ax,
        [(start, bottom - 0.75), (start, y_route), (mid["V"], y_route), (mid["V"], bottom - 0.03)],
        V_EDGE,
    )
    ax.text(
        (start + mid["V"]) / 2,
        y_route - 0.12,
        "$\\times W^v$",
        ha="center",
        va="top",
        fontsize=12,
        color=V_EDGE,
    )
    ax.text((right["V"] + left["Z"]) / 2, 0, "=", ha="center", va="center", fontsize=18)
    grid(ax, left["Z"], top, T, cols["Z"], c, "#eeeeee", "#555555")
    for i in range(T):
        ax.text(right["Z"] + 0.1, top - (i + 0.5) * c, f"$z_{i + 1}$", ha="left", va="center", fontsize=12)
    two_lines(ax, mid["Z"], bottom - 0.12, "$Z = AV$", "출력 (가중 평균)")
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
    ax = new_ax(ax, (11.0, 5.0))
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
    for n, (name, edge) in enumerate((("$Q$", Q_EDGE), ("$K$", K_EDGE), ("$V$", V_EDGE))):
        x = x0 + n * gap
        for i, y in enumerate(ys):
            ax.add_patch(Rectangle((x, y - row / 2), bar_w, row, fc=colors[i], ec=edge, lw=1.2))
        ax.add_patch(Rectangle((x, -h * row / 2), bar_w, h * row, fc="none", ec=edge, lw=2.0))
        ax.text(x + bar_w / 2, h * row / 2 + 0.12, name, ha="center", va="bottom", fontsize=14, color=edge)
    arrow(ax, (bar_w + 0.05, 0), (x0 - 0.05, 0))
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
        arrow(ax, (qkv_right + 0.05, y), (hx - 0.05, y), color="#555555")
        ax.add_patch(Rectangle((hx, y - 0.22), hw, 0.44, fc=colors[i], ec="#555555", lw=1.0))
        ax.text(hx + hw / 2, y, f"헤드 {i + 1}", ha="center", va="center", fontsize=12.5)
        arrow(ax, (hx + hw + 0.05, y), (cx - 0.05, y), color="#555555")
    ax.text(hx + hw / 2, -half - 0.15, f"{h}개의 어텐션을 동시에", ha="center", va="top", fontsize=12)
    ax.text(hx + hw / 2, -half - 0.5, f"헤드마다 T × {d_head}", ha="center", va="top", fontsize=12)
    bar(cx, "이어 붙이기", f"T × {d_model}", split=True)
    # W^O mixes the heads
    wx = cx + bar_w + 0.7
    arrow(ax, (cx + bar_w + 0.05, 0), (wx - 0.05, 0))
    box(ax, wx + 0.45, 0, 0.9, 0.9, "$W^O$", GATE, GATE_EDGE, 13)
    ax.text(wx + 0.45, -0.75, "헤드들을 섞기", ha="center", va="top", fontsize=12)
    ox = wx + 0.9 + 0.7
    arrow(ax, (wx + 0.95, 0), (ox - 0.05, 0))
    bar(ox, "출력", f"T × {d_model}", split=False)
    ax.set_xlim(-0.4, ox + bar_w + 0.4)
    ax.set_ylim(-half - 1.0, half + 0.6)
    return ax
