"""Schematic figures of the Transformer: the encoder-decoder stack, one decoding step (Chapter 4.2).

Notes lines 56-62: the decoder's masked self-attention, the encoder's keys and values, add &
norm, feed-forward, softmax and argmax. Each function draws into ``ax`` (a new figure if None).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.patches import FancyBboxPatch

from seqnotes.diagrams.parts import (
    K_EDGE,
    K_FACE,
    Q_EDGE,
    Q_FACE,
    STATE,
    arrow,
    box,
    layer_frame,
    line,
    new_ax,
    stack_block,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes

__all__ = ["draw_decoding_step", "draw_encoder_decoder"]


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
    ax = new_ax(ax, (10.0, 4.2 + 3.0 * num_layers))
    w, ex, dx = 2.7, 0.0, 6.4
    layer_edge = "#999999"
    # inputs and embeddings
    for x, token_text, emb in (
        (ex, "입력: 숫자 1 0 2 4", "숫자 임베딩"),
        (dx, "입력: <s> 천 이 십", "음절 임베딩"),
    ):
        ax.text(x, -0.25, token_text, ha="center", va="center", fontsize=10)
        arrow(ax, (x, -0.05), (x, 0.3), shrinkA=0, shrinkB=0)
        box(ax, x, 0.55, w, 0.5, emb + " × √d + 위치 인코딩", "#eeeeee", "#555555", 9.5)
    ax.text(
        dx,
        -0.6,
        "(정답을 한 칸 밀어 넣기: 교사 강요)",
        ha="center",
        va="center",
        fontsize=8.5,
        color="#555555",
    )
    enc_parts = [("셀프 어텐션", K_FACE, K_EDGE), ("피드포워드", STATE, "#3a7d3a")]
    dec_parts = [
        ("마스크된 셀프 어텐션", Q_FACE, Q_EDGE),
        ("인코더-디코더 어텐션", "#efe1f5", "#7b3f99"),
        ("피드포워드", STATE, "#3a7d3a"),
    ]
    # encoder layers
    y = 0.8
    for i in range(num_layers):
        y0 = y
        y = stack_block(ax, ex, y, w, enc_parts, skip_x=-(w / 2 + 0.3))
        layer_frame(ax, ex - w / 2 - 0.5, y0, y, w, layer_edge)
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
    arrow(ax, (ex, enc_top), (ex, enc_top + 0.35), shrinkA=0, shrinkB=0)
    box(ax, ex, enc_top + 0.6, w, 0.5, "메모리 (인코더 출력)", "#efe1f5", "#7b3f99", 10)
    mem_y = enc_top + 0.6
    # decoder layers; the memory bus runs up between the columns
    bus_x = (ex + dx) / 2 - 0.1
    y = 0.8
    cross_ys = []
    for i in range(num_layers):
        y0 = y
        cross_y = y + 0.74 + 0.22 + 0.22 + 0.25  # centre of the second sublayer
        y = stack_block(ax, dx, y, w, dec_parts, skip_x=w / 2 + 0.3)
        layer_frame(ax, dx - w / 2 - 0.25, y0, y, w, layer_edge)
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
        arrow(ax, (bus_x, cross_y), (dx - w / 2 - 0.02, cross_y), color="#7b3f99", shrinkA=0)
        ax.text(
            bus_x + 0.12,
            cross_y + 0.16,
            f"$W^K_{i + 1}, W^V_{i + 1}$",
            ha="left",
            va="bottom",
            fontsize=9,
            color="#7b3f99",
        )
    line(
        ax, [(ex + w / 2, mem_y), (bus_x, mem_y), (bus_x, cross_ys[0])], color="#7b3f99", arrow=False, lw=1.8
    )
    ax.text(bus_x - 0.12, 1.45, "키·값은 메모리에서", ha="right", va="bottom", fontsize=9, color="#7b3f99")
    ax.text(bus_x - 0.12, 1.1, "층마다 따로 투영", ha="right", va="bottom", fontsize=9, color="#7b3f99")
    dec_top = y
    arrow(ax, (dx, dec_top), (dx, dec_top + 0.3), shrinkA=0, shrinkB=0)
    box(ax, dx, dec_top + 0.55, w, 0.5, "선형 층 → 로짓", "#eeeeee", "#555555", 10)
    arrow(ax, (dx, dec_top + 0.8), (dx, dec_top + 1.1), shrinkA=0, shrinkB=0)
    box(ax, dx, dec_top + 1.35, w, 0.5, "소프트맥스", "#eeeeee", "#555555", 10)
    arrow(ax, (dx, dec_top + 1.6), (dx, dec_top + 1.9), shrinkA=0, shrinkB=0)
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
    ax = new_ax(ax, (10.0, 4.6))
    T, c = len(prefix), 0.62
    x0 = 0.0
    xs = [x0 + i * (c + 0.12) for i in range(T + 1)]
    # the input row and the empty slot the choice goes into
    for i, tok in enumerate(prefix):
        box(ax, xs[i] + c / 2, 0, c, 0.5, tok, "#eeeeee", "#555555", 10)
    box(ax, xs[T] + c / 2, 0, c, 0.5, "?", "white", Q_EDGE, 10)
    row_right = xs[T] + c
    ax.text(x0 - 0.15, 0, "디코더 입력", ha="right", va="center", fontsize=10.5)
    ax.text(x0 - 0.15, -0.3, "(지금까지의 출력)", ha="right", va="center", fontsize=8.5)
    # the decoder over the prefix
    dec_w = xs[T - 1] + c - x0
    dec_y = 1.45
    for i in range(T):
        arrow(ax, (xs[i] + c / 2, 0.27), (xs[i] + c / 2, dec_y - 0.4), shrinkA=0, shrinkB=0)
    box(ax, x0 + dec_w / 2, dec_y, dec_w + 0.1, 0.75, "디코더 (인과 마스크)", Q_FACE, Q_EDGE, 10)
    arrow(ax, (x0 - 1.2, dec_y), (x0 - 0.05, dec_y), color="#7b3f99")
    ax.text(x0 - 1.25, dec_y + 0.05, "메모리", ha="right", va="bottom", fontsize=9.5, color="#7b3f99")
    ax.text(x0 - 1.25, dec_y - 0.05, "(인코더, 한 번만)", ha="right", va="top", fontsize=8.5, color="#7b3f99")
    # one output per position; only the last one is used
    out_y = 2.55
    for i in range(T):
        last = i == T - 1
        color = "black" if last else "#bbbbbb"
        arrow(
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
    line(ax, [(lx, out_y + 0.18), (lx, out_y + 0.6), (px - 0.05, out_y + 0.6)])
    ax.text((lx + px) / 2 + 0.1, out_y + 0.72, "마지막 위치만", ha="center", va="bottom", fontsize=10)
    box(ax, px + 0.75, out_y + 0.6, 1.5, 0.5, "선형 층 → 로짓", "#eeeeee", "#555555", 9.5)
    sx = px + 1.5 + 0.45
    arrow(ax, (px + 1.52, out_y + 0.6), (sx - 0.02, out_y + 0.6))
    box(ax, sx + 0.65, out_y + 0.6, 1.3, 0.5, "소프트맥스", "#eeeeee", "#555555", 9.5)
    # the probabilities as horizontal bars
    bx = sx + 1.3 + 0.55
    top = out_y + 0.6 + 0.35 * (len(candidates) - 1) / 2
    arrow(ax, (sx + 1.32, out_y + 0.6), (bx - 0.05, out_y + 0.6))
    for j, (tok, p) in enumerate(candidates):
        y = top - 0.35 * j
        ax.text(bx + 0.05, y, tok, ha="left", va="center", fontsize=10)
        ax.add_patch(
            FancyBboxPatch(
                (bx + 0.4, y - 0.11),
                1.2 * p + 0.01,
                0.22,
                boxstyle="square,pad=0",
                fc=Q_EDGE if j == 0 else "#cccccc",
                ec="none",
            )
        )
        ax.text(bx + 0.45 + 1.2 * p, y, f"{p:.2f}", ha="left", va="center", fontsize=8.5)
    ax.text(bx + 0.9, top + 0.3, "다음 음절의 확률", ha="center", va="bottom", fontsize=10)
    # argmax -> the chosen syllable -> back into the empty slot
    choice = candidates[0][0]
    ay = 0.9
    arrow(ax, (bx + 0.9, top - 0.35 * (len(candidates) - 1) - 0.2), (bx + 0.9, ay + 0.3))
    ax.text(
        bx + 1.0,
        (top - 0.35 * len(candidates) + ay + 0.3) / 2 + 0.05,
        "argmax",
        ha="left",
        va="center",
        fontsize=9.5,
    )
    box(ax, bx + 0.9, ay, c, 0.5, choice, Q_FACE, Q_EDGE, 11)
    line(
        ax,
        [(bx + 0.9, ay - 0.27), (bx + 0.9, -0.75), (xs[T] + c / 2, -0.75), (xs[T] + c / 2, -0.27)],
        color=Q_EDGE,
    )
    ax.text(
        (xs[T] + c / 2 + bx + 0.9) / 2,
        -0.88,
        "다음 단계의 입력 끝에 붙인다: \u201c그 출력이 입력 쿼리로 온다\u201d",
        ha="center",
        va="top",
        fontsize=9.5,
        color=Q_EDGE,
    )
    ax.set_xlim(x0 - 2.6, bx + 2.3)
    ax.set_ylim(-1.3, top + 0.75)
    return ax
