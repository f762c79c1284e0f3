"""seqnotes.models.attention against torch: F.scaled_dot_product_attention and nn.MultiheadAttention."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqnotes.models.attention import (
    CausalSelfAttention,
    MultiHeadAttention,
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
)

ATOL = 1e-5


def _qkv(*lead: int, T_q: int = 5, T_k: int = 7, d_k: int = 8, d_v: int = 6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(*lead, T_q, d_k, generator=g)
    k = torch.randn(*lead, T_k, d_k, generator=g)
    v = torch.randn(*lead, T_k, d_v, generator=g)
    return q, k, v


def test_matches_torch_without_mask() -> None:
    q, k, v = _qkv(2, 3)
    out, weights = scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 5, 6) and weights.shape == (2, 3, 5, 7)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), atol=ATOL, rtol=0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))


def test_matches_torch_with_a_broadcast_bool_mask() -> None:
    q, k, v = _qkv(2, 3)
    mask = torch.rand(2, 1, 5, 7, generator=torch.Generator().manual_seed(1)) > 0.4  # (B, 1, T_q, T_k)
    mask[..., 0] = True  # no fully masked row here
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(
        out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=ATOL, rtol=0
    )
    assert bool((weights[~mask.expand_as(weights)] == 0).all())


def test_causal_matches_torch_is_causal() -> None:
    q, k, v = _qkv(2, T_q=6, T_k=6)
    out, weights = scaled_dot_product_attention(q, k, v, causal_mask(6))
    torch.testing.assert_close(
        out, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=ATOL, rtol=0
    )
    assert bool((weights.triu(1) == 0).all())


def test_gradients_match_torch() -> None:
    q, k, v = _qkv(2, T_q=6, T_k=6)
    mask = causal_mask(6)
    ours = [t.clone().requires_grad_() for t in (q, k, v)]
    theirs = [t.clone().requires_grad_() for t in (q, k, v)]
    scaled_dot_product_attention(*ours, mask)[0].pow(2).sum().backward()
    F.scaled_dot_product_attention(*theirs, attn_mask=mask).pow(2).sum().backward()
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-4, rtol=0)


def test_gradcheck_in_double_precision() -> None:
    q, k, v = (t.double().requires_grad_() for t in _qkv(T_q=3, T_k=4, d_k=4, d_v=2))
    mask = torch.tensor([[True, True, False, True], [True] * 4, [False, True, True, False]])
    assert torch.autograd.gradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c, mask)[0], (q, k, v))


def test_fully_masked_row_gives_zeros_without_nan() -> None:
    q, k, v = (t.requires_grad_() for t in _qkv(T_q=3, T_k=4))
    mask = torch.ones(3, 4, dtype=torch.bool)
    mask[1] = False  # query 1 may look at nothing
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    assert torch.isfinite(out).all() and torch.isfinite(weights).all()
    assert bool((weights[1] == 0).all()) and bool((out[1] == 0).all())
    torch.testing.assert_close(weights[[0, 2]].sum(-1), torch.ones(2))
    out.sum().backward()
    assert all(torch.isfinite(t.grad).all() for t in (q, k, v))
    assert bool((q.grad[1] == 0).all())


def test_causal_mask_matches_generate_square_subsequent_mask() -> None:
    for T in (1, 4, 9):
        theirs = nn.Transformer.generate_square_subsequent_mask(T)  # float: 0 allowed, -inf blocked
        assert torch.equal(causal_mask(T), theirs == 0)
        assert causal_mask(T).dtype == torch.bool


def test_padding_mask() -> None:
    mask = padding_mask(torch.tensor([3, 1, 4]), 4)
    expected = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(mask, expected)


@pytest.mark.parametrize("T_q, T_k", [(5, 5), (3, 7)])
def test_multi_head_matches_nn_multihead_attention(T_q: int, T_k: int) -> None:
    torch.manual_seed(0)
    theirs = nn.MultiheadAttention(16, 4, batch_first=True).eval()
    ours = MultiHeadAttention.from_torch(theirs)
    x = torch.randn(2, T_q, 16)
    memory = torch.randn(2, T_k, 16)
    out, weights = ours(x, memory, memory)
    ref, ref_w = theirs(x, memory, memory, average_attn_weights=False)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(weights, ref_w, atol=ATOL, rtol=0)
    assert weights.shape == (2, 4, T_q, T_k)


def test_multi_head_self_attention_with_causal_and_padding_masks() -> None:
    torch.manual_seed(1)
    theirs = nn.MultiheadAttention(12, 3, batch_first=True).eval()
    ours = MultiHeadAttention.from_torch(theirs)
    x = torch.randn(3, 6, 12)
    lengths = torch.tensor([6, 4, 2])
    keep = padding_mask(lengths, 6)  # (B, T) True = real
    # our convention: True = may attend; nn.MultiheadAttention: True = blocked
    out, _ = ours(x, x, x, keep[:, None, None, :])
    ref, _ = theirs(x, x, x, key_padding_mask=~keep)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    out, w = ours(x, x, x, causal_mask(6))
    ref, _ = theirs(x, x, x, attn_mask=~causal_mask(6))
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    assert torch.equal(ours.last_weights, w.detach())


def test_multi_head_gradients_match() -> None:
    torch.manual_seed(2)
    theirs = nn.MultiheadAttention(8, 2, batch_first=True)
    ours = MultiHeadAttention.from_torch(theirs)
    x = torch.randn(2, 4, 8)
    ours(x, x, x, causal_mask(4))[0].sum().backward()
    theirs(x, x, x, attn_mask=~causal_mask(4))[0].sum().backward()
    w_q, w_k, w_v = theirs.in_proj_weight.grad.chunk(3)
    for ours_grad, ref in (
        (ours.q_proj.weight.grad, w_q),
        (ours.k_proj.weight.grad, w_k),
        (ours.v_proj.weight.grad, w_v),
        (ours.out_proj.weight.grad, theirs.out_proj.weight.grad),
    ):
        torch.testing.assert_close(ours_grad, ref, atol=1e-4, rtol=0)


def test_bad_inputs_name_the_expected_shape() -> None:
    q, k, v = _qkv()
    with pytest.raises(ValueError, match="same d_k"):
        scaled_dot_product_attention(q, k[..., :3], v)
    with pytest.raises(ValueError, match="same T_k"):
        scaled_dot_product_attention(q, k, v[:3])
    with pytest.raises(TypeError, match="torch.bool"):
        scaled_dot_product_attention(q, k, v, torch.ones(5, 7))
    with pytest.raises(ValueError, match=r"broadcastable to \(\.\.\., T_q, T_k\)"):
        scaled_dot_product_attention(q, k, v, torch.ones(5, 6, dtype=torch.bool))
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(2, 3, 8)
    with pytest.raises(ValueError, match=r"query must have shape \(B, T_q, 8\)"):
        mha(torch.randn(2, 3, 7), x, x)
    with pytest.raises(ValueError, match=r"\(B, heads, T_q, T_k\)"):
        mha(x, x, x, torch.ones(4, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 4)
    with pytest.raises(ValueError, match="batch_first=True"):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(8, 2))
    with pytest.raises(ValueError, match="positive int"):
        causal_mask(0)
    with pytest.raises(ValueError, match=r"lengths must be in \[0, T=4\]"):
        padding_mask(torch.tensor([5]), 4)


def test_causal_self_attention_is_masked_multi_head_attention() -> None:
    torch.manual_seed(0)
    layer = CausalSelfAttention(8, 2)
    x = torch.randn(3, 5, 8)  # (B, T, D)
    out, weights = layer(x)
    ref, ref_w = MultiHeadAttention.forward(layer.attn, x, x, x, causal_mask(5))
    assert torch.allclose(out, ref) and torch.allclose(weights, ref_w)
    changed = x.clone()
    changed[:, 3:] = torch.randn(3, 2, 8)  # the future must not matter
    assert torch.allclose(layer(changed)[0][:, :3], out[:, :3], atol=1e-6)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 8\)"):
        layer(torch.randn(3, 5, 4))
