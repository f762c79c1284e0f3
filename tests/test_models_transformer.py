"""seqnotes.models.transformer against nn.TransformerEncoderLayer / DecoderLayer, and the decoder-only LM."""

from __future__ import annotations

import math
import pickle

import pytest
import torch
from torch import nn

from seqnotes.models.attention import causal_mask, padding_mask
from seqnotes.models.lm import LanguageModel, evaluate
from seqnotes.models.transformer import (
    DecoderLayer,
    EncoderLayer,
    TransformerLM,
    TransformerLMConfig,
    sinusoidal_positional_encoding,
)
from seqnotes.training.loop import fit

ATOL = 1e-5


def test_positional_encoding_formula_and_odd_d_model() -> None:
    pe = sinusoidal_positional_encoding(50, 16)
    assert pe.shape == (50, 16)
    pos, i = 7, 3
    assert math.isclose(float(pe[pos, 2 * i]), math.sin(pos / 10000 ** (2 * i / 16)), abs_tol=1e-6)
    assert math.isclose(float(pe[pos, 2 * i + 1]), math.cos(pos / 10000 ** (2 * i / 16)), abs_tol=1e-6)
    # the dot product of two positions depends only on their distance
    torch.testing.assert_close(pe[3] @ pe[8], pe[20] @ pe[25], atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="even"):
        sinusoidal_positional_encoding(10, 7)
    with pytest.raises(ValueError, match="positive int"):
        sinusoidal_positional_encoding(0, 8)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_torch(norm_first: bool) -> None:
    torch.manual_seed(0)
    theirs = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True, norm_first=norm_first)
    ours = EncoderLayer.from_torch(theirs)
    x = torch.randn(3, 6, 16)
    keep = padding_mask(torch.tensor([6, 3, 5]), 6)  # (B, T) True = real
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = ours(x1, keep[:, None, None, :])
    ref = theirs(x2, src_key_padding_mask=~keep)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    out.pow(2).sum().backward()
    ref.pow(2).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-4, rtol=0)
    torch.testing.assert_close(ours.ff.linear1.weight.grad, theirs.linear1.weight.grad, atol=1e-4, rtol=0)
    # causal self-attention (a decoder-only block) with a bool mask of the opposite convention
    out = ours(x, causal_mask(6))
    ref = theirs(x, src_mask=~causal_mask(6))
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first: bool) -> None:
    torch.manual_seed(1)
    theirs = nn.TransformerDecoderLayer(16, 4, 32, dropout=0.0, batch_first=True, norm_first=norm_first)
    ours = DecoderLayer.from_torch(theirs)
    y = torch.randn(2, 5, 16)
    memory = torch.randn(2, 7, 16)
    keep = padding_mask(torch.tensor([7, 4]), 7)  # (B, S)
    y1, y2 = y.clone().requires_grad_(), y.clone().requires_grad_()
    out = ours(y1, memory, causal_mask(5), keep[:, None, None, :])
    ref = theirs(y2, memory, tgt_mask=~causal_mask(5), memory_key_padding_mask=~keep)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    out.sum().backward()
    ref.sum().backward()
    torch.testing.assert_close(y1.grad, y2.grad, atol=1e-4, rtol=0)
    torch.testing.assert_close(
        ours.cross_attn.out_proj.weight.grad, theirs.multihead_attn.out_proj.weight.grad, atol=1e-4, rtol=0
    )


def test_layers_reject_bad_input() -> None:
    layer = EncoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 8\)"):
        layer(torch.randn(2, 3, 6))
    dec = DecoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"memory must have shape \(2, S, 8\)"):
        dec(torch.randn(2, 3, 8), torch.randn(3, 4, 8))
    with pytest.raises(ValueError, match="batch_first=True"):
        EncoderLayer.from_torch(nn.TransformerEncoderLayer(8, 2, 16))
    with pytest.raises(TypeError, match="TransformerDecoderLayer"):
        DecoderLayer.from_torch(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True))


def test_transformer_lm_is_a_causal_language_model() -> None:
    torch.manual_seed(0)
    config = TransformerLMConfig(
        vocab_size=11, context_size=16, d_model=32, num_heads=4, num_layers=2, d_ff=64
    )
    model = TransformerLM(config).eval()
    assert isinstance(model, LanguageModel) and model.context_size == 16
    idx = torch.randint(0, 11, (2, 10))
    logits, loss = model(idx, idx)
    assert logits.shape == (2, 10, 11) and loss is not None
    changed = idx.clone()
    changed[:, 6:] = (changed[:, 6:] + 1) % 11  # changing the future ...
    torch.testing.assert_close(model(changed)[0][:, :6], logits[:, :6])  # ... leaves the past unchanged
    with pytest.raises(ValueError, match="context_size=16"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match=r"in \[0, 11\)"):
        model(torch.full((1, 3), 11))
    # it learns: a repeating pattern becomes almost certain
    ids = torch.arange(11).repeat(40)  # (440,)
    x, y = ids[:-1].unfold(0, 16, 8), ids[1:].unfold(0, 16, 8)
    model.train()
    fit(model, lambda step: (x, y), steps=40, lr=3e-3)
    assert evaluate(model, ids, block_size=16)["perplexity"] < 1.5
    pickle.dumps(model.state_dict())
