"""Attention from scratch: scaled dot-product attention, masks, multi-head attention (Chapter 4.1).

Notes lines 29-53 (self-attention, "이게 1개의 head이다", multi-head) and line 57 (the mask
that blocks future queries). Chapter 4 builds the Transformer from these pieces, following
the notes' lines 41-46::

    q, k, v = x W^q, x W^k, x W^v        # every word gets a query, a key and a value
    scores  = q . k / sqrt(d_k)          # similarity of a query with every key, scaled down
    weights = softmax(scores)            # one probability distribution per query
    output  = weights @ v                # the weighted average of the values

Masks follow one convention everywhere in the book: a bool tensor that is **True where
attention is allowed**, like ``torch.nn.functional.scaled_dot_product_attention``.
(``torch.nn.MultiheadAttention`` uses the opposite convention: True = blocked.)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from seqnotes.utils import check_positive_int, check_tensor

__all__ = [
    "CausalSelfAttention",
    "MultiHeadAttention",
    "causal_mask",
    "check_mask",
    "padding_mask",
    "scaled_dot_product_attention",
]


def check_mask(mask: object, shape: tuple[int, ...], expected: str) -> torch.Tensor:
    """Validate a bool attention mask broadcastable to ``shape``; ``expected`` names it."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(
            f"mask must be a bool torch.Tensor broadcastable to {expected}, got {type(mask).__name__}"
        )
    if mask.dtype != torch.bool:
        raise TypeError(
            f"mask must have dtype torch.bool (True = may attend), shape {expected}, got {mask.dtype}"
        )
    try:
        ok = mask.dim() <= len(shape) and torch.broadcast_shapes(mask.shape, shape) == torch.Size(shape)
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(
            f"mask must be broadcastable to {expected} = {tuple(shape)}, got shape {tuple(mask.shape)}"
        )
    return mask


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q kᵀ / sqrt(d_k)) v, returning ``(output, weights)``.

    Args:
        q: queries ``(..., T_q, d_k)``.
        k: keys ``(..., T_k, d_k)`` (same leading dims as ``q``).
        v: values ``(..., T_k, d_v)``.
        mask: optional bool tensor broadcastable to ``(..., T_q, T_k)``, True where query
            ``i`` may attend to key ``j``.

    Returns:
        ``output (..., T_q, d_v)`` and ``weights (..., T_q, T_k)``; every row of ``weights``
        sums to 1 over the allowed keys. A query whose keys are all masked has nothing to
        look at: its weights are all 0 and its output is the zero vector (never NaN, and
        its gradient is 0).
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() < 2:
            raise ValueError(f"{name} must have shape (..., T, d) with at least 2 dims, got {tuple(t.shape)}")
    if q.shape[:-2] != k.shape[:-2] or k.shape[:-2] != v.shape[:-2]:
        raise ValueError(
            f"q (..., T_q, d_k), k (..., T_k, d_k) and v (..., T_k, d_v) must share leading dims, "
            f"got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    if q.size(-1) != k.size(-1):
        raise ValueError(
            f"q (..., T_q, d_k) and k (..., T_k, d_k) need the same d_k, got {q.size(-1)} and {k.size(-1)}"
        )
    if k.size(-2) != v.size(-2):
        raise ValueError(
            f"k (..., T_k, d_k) and v (..., T_k, d_v) need the same T_k, got {k.size(-2)} and {v.size(-2)}"
        )
    d_k = q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., T_q, T_k)
    if mask is not None:
        check_mask(mask, tuple(scores.shape), "(..., T_q, T_k)")
        # A large finite negative number instead of -inf: a fully masked row then gives a
        # uniform softmax (no NaN), which is set to 0 just below.
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)  # (..., T_q, T_k)
    weights = torch.softmax(scores, dim=-1)  # (..., T_q, T_k), each row sums to 1
    if mask is not None:
        weights = weights * mask  # exact zeros where blocked; all-zero rows where fully masked
    return weights @ v, weights  # (..., T_q, d_v), (..., T_q, T_k)


def causal_mask(T: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Bool ``(T, T)``: True on and below the diagonal (position i may see j <= i)."""
    check_positive_int(T, "T")
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()  # (T, T)


def padding_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """Bool ``(B, T)``: True at the real (non-padding) positions ``t < lengths[b]``.

    Use it as a key mask with ``mask[:, None, None, :]`` -> ``(B, 1, 1, T)``.
    """
    check_tensor(lengths, "lengths", ("B",), dtype=(torch.int64, torch.int32))
    check_positive_int(T, "T")
    if lengths.numel() and (int(lengths.min()) < 0 or int(lengths.max()) > T):
        raise ValueError(f"lengths must be in [0, T={T}], got [{int(lengths.min())}, {int(lengths.max())}]")
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]  # (B, T)


class MultiHeadAttention(nn.Module):
    """Multi-head attention: ``num_heads`` scaled dot-product attentions side by side.

    Each head gets its own slice of the projections ``W^q, W^k, W^v`` (``d_model ->
    d_head = d_model / num_heads``), attends on its own, and the heads' outputs are
    concatenated and mixed by ``W^O``. The attention weights of the last call are kept in
    :attr:`last_weights` ``(B, heads, T_q, T_k)`` (detached) for plotting.
    """

    def __init__(self, d_model: int, num_heads: int, bias: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        _check_sizes(d_model, num_heads, dropout)
        self.d_model, self.num_heads, self.d_head = d_model, num_heads, d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)  # W^q of all heads, stacked
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)  # W^k
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)  # W^v
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)  # W^O
        self.dropout = nn.Dropout(dropout)
        self.last_weights: torch.Tensor | None = None

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, d_model)`` -> ``(B, heads, T, d_head)``."""
        B, T, _ = x.shape
        return x.view(B, T, self.num_heads, self.d_head).transpose(1, 2)  # (B, h, T, d_head)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attend from ``query (B, T_q, d_model)`` to ``key``/``value (B, T_k, d_model)``.

        ``mask``: bool, True = may attend, broadcastable to ``(B, heads, T_q, T_k)``, e.g.
        ``(T_q, T_k)`` for a causal mask or ``(B, 1, 1, T_k)`` for a padding mask.
        Returns ``output (B, T_q, d_model)`` and ``weights (B, heads, T_q, T_k)``.
        """
        _check_inputs(self, query, key, value, mask)
        B, T_q, D = query.shape
        q = self.split_heads(self.q_proj(query))  # (B, h, T_q, d_head)
        k = self.split_heads(self.k_proj(key))  # (B, h, T_k, d_head)
        v = self.split_heads(self.v_proj(value))  # (B, h, T_k, d_head)
        heads, weights = scaled_dot_product_attention(q, k, v, mask)  # (B, h, T_q, d_head), (B, h, T_q, T_k)
        if self.dropout.p > 0 and self.training:  # dropout on the weights, as in torch
            heads = self.dropout(weights) @ v  # (B, h, T_q, d_head)
        self.last_weights = weights.detach()
        concat = heads.transpose(1, 2).reshape(B, T_q, D)  # (B, T_q, d_model): heads side by side
        return self.out_proj(concat), weights  # (B, T_q, d_model), (B, h, T_q, T_k)

    @classmethod
    def from_torch(cls, m: nn.MultiheadAttention) -> MultiHeadAttention:
        """A copy of ``torch.nn.MultiheadAttention`` ``m`` (``batch_first=True``, with biases).

        ``m.in_proj_weight`` ``(3 d_model, d_model)`` stacks ``[W^q; W^k; W^v]``.
        """
        if not isinstance(m, nn.MultiheadAttention):
            raise TypeError(f"m must be a torch.nn.MultiheadAttention, got {type(m).__name__}")
        if not m.batch_first:
            raise ValueError("m must be created with batch_first=True (inputs (B, T, d_model))")
        if not m._qkv_same_embed_dim or m.in_proj_bias is None or m.bias_k is not None:
            raise ValueError("m must have kdim = vdim = embed_dim, bias=True and add_bias_kv=False")
        ours = cls(m.embed_dim, m.num_heads, bias=True, dropout=m.dropout)
        w_q, w_k, w_v = m.in_proj_weight.detach().chunk(3, dim=0)  # 3 x (D, D)
        b_q, b_k, b_v = m.in_proj_bias.detach().chunk(3, dim=0)  # 3 x (D,)
        with torch.no_grad():
            for proj, w, b in ((ours.q_proj, w_q, b_q), (ours.k_proj, w_k, b_k), (ours.v_proj, w_v, b_v)):
                proj.weight.copy_(w)
                proj.bias.copy_(b)
            ours.out_proj.weight.copy_(m.out_proj.weight)
            ours.out_proj.bias.copy_(m.out_proj.bias)
        return ours.to(m.in_proj_weight.device, m.in_proj_weight.dtype)


def _check_sizes(d_model: int, num_heads: int, dropout: float) -> None:
    if not isinstance(d_model, int) or not isinstance(num_heads, int) or d_model < 1 or num_heads < 1:
        raise ValueError(f"d_model and num_heads must be positive ints, got {d_model!r}, {num_heads!r}")
    if d_model % num_heads:
        raise ValueError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads})")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")


def _check_inputs(
    attn: MultiHeadAttention, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: object
) -> None:
    """The guards of :meth:`MultiHeadAttention.forward`, kept out of the way of the idea."""
    D = attn.d_model
    check_tensor(query, "query", ("B", "T_q", D))
    check_tensor(key, "key", ("B", "T_k", D))
    check_tensor(value, "value", ("B", "T_k", D))
    if query.size(0) != key.size(0) or key.shape != value.shape:
        raise ValueError(
            f"query (B, T_q, {D}), key and value (B, T_k, {D}) must agree, got "
            f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}"
        )
    if mask is not None:
        B, T_q, T_k = query.size(0), query.size(1), key.size(1)
        check_mask(mask, (B, attn.num_heads, T_q, T_k), "(B, heads, T_q, T_k)")


class CausalSelfAttention(nn.Module):
    """One masked self-attention layer with a recurrent layer's interface.

    ``forward(x (B, T, D)) -> (outputs (B, T, D), weights (B, heads, T, T))``: position
    ``t`` attends to positions ``1..t`` only (a :func:`causal_mask`), so
    ``outputs[:, t]`` depends on ``x_1..x_t`` exactly like a recurrent layer's ``h_t``. It
    is :class:`MultiHeadAttention` with queries, keys and values all
    from ``x``; Chapter 5 times and differentiates it side by side with RNNs.
    """

    def __init__(self, d_model: int, num_heads: int) -> None:
        super().__init__()
        self.attn = MultiHeadAttention(d_model, num_heads)
        self.d_model = d_model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_tensor(x, "x", ("B", "T", self.d_model))
        mask = causal_mask(x.size(1), device=x.device)  # (T, T)
        return self.attn(x, x, x, mask)  # (B, T, D), (B, heads, T, T)
