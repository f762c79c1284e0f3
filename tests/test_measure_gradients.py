"""seqnotes.measure.gradients: every probe returns float64 values by distance, equal to hand-written
BPTT and autograd."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from seqnotes.measure.gradients import (
    gaussian_init_,
    input_gradient_norms,
    spectral_radius,
    state_gradient_norms,
)
from seqnotes.models.attention import CausalSelfAttention
from seqnotes.models.gated import LSTM
from seqnotes.models.recurrent import RNN, bptt


def test_state_gradient_norms_match_hand_written_bptt() -> None:
    torch.manual_seed(4)
    rnn = RNN(2, 8)
    x = torch.randn(3, 10, 2)
    norms = state_gradient_norms(rnn, x)  # (T,) by distance
    g_out = torch.zeros(3, 10, 8)
    g_out[:, -1] = 1.0  # L = sum(h_T)
    delta = bptt(rnn, x, g_out)["h"]  # (B, T, H)
    expected = delta.double().norm(dim=-1).mean(dim=0).flip(0)
    torch.testing.assert_close(norms, expected, atol=1e-6, rtol=1e-5)
    assert math.isclose(float(norms[0]), math.sqrt(8), rel_tol=1e-6)  # distance 0: dL/dh_T = ones
    with pytest.raises(ValueError, match="needs an LSTM"):
        state_gradient_norms(rnn, x, which="c")


def test_state_gradient_norms_do_not_overflow_or_underflow_in_float32() -> None:
    # A linear RNN (relu on positive states) with W_hh = w * I: dL/dh_t = w^(T-t) * ones(H).
    # Squaring such gradients in float32 overflows (w = 8) or underflows (w = 0.1) long before
    # the gradients themselves do; the norms must still be finite and non-zero.
    steps, hidden = 24, 4
    for w in (8.0, 0.1):
        rnn = RNN(1, hidden, "relu")
        with torch.no_grad():
            rnn.cell.weight_hh.copy_(w * torch.eye(hidden))
            rnn.cell.weight_ih.fill_(1.0)
            rnn.cell.bias.zero_()
        norms = state_gradient_norms(rnn, torch.ones(2, steps, 1))
        assert norms.dtype == torch.float64
        expected = torch.tensor([w**d * math.sqrt(hidden) for d in range(steps)], dtype=torch.float64)
        torch.testing.assert_close(norms, expected, rtol=1e-4, atol=0.0)


def test_gaussian_init_sets_the_spectral_radius() -> None:
    gen = torch.Generator().manual_seed(0)
    rnn = gaussian_init_(RNN(4, 256), 0.5, gen)
    assert abs(spectral_radius(rnn.cell.weight_hh) - 0.5) < 0.05
    assert float(rnn.cell.bias.detach().abs().max()) == 0.0
    with pytest.raises(ValueError, match="recurrent_scale must be positive"):
        gaussian_init_(rnn, 0.0, gen)


def test_gradient_vs_distance_is_built_from_its_public_parts() -> None:
    from seqnotes.measure.gradients import gaussian_rnn, gradient_vs_distance, probe_inputs, spectral_norm

    norms = gradient_vs_distance("tanh", 2.0, seq_len=20, hidden_size=16, seed=3)
    rnn = gaussian_rnn("tanh", 2.0, hidden_size=16, seed=3)
    again = state_gradient_norms(rnn, probe_inputs(32, 20, 16, seed=3))
    assert torch.equal(norms, again) and norms.shape == (20,)
    w = rnn.cell.weight_hh.detach()
    assert spectral_norm(w) == pytest.approx(float(torch.linalg.svdvals(w.double())[0]))
    assert spectral_norm(w) >= spectral_radius(w) - 1e-9  # ||W||_2 bounds every |eigenvalue|
    with pytest.raises(ValueError, match="w must have shape"):
        spectral_norm(torch.ones(2, 3))


def test_cell_gradient_paths_full_matches_state_gradient_norms():
    from seqnotes.measure.gradients import cell_gradient_paths, state_gradient_norms

    torch.manual_seed(0)
    layer = LSTM(3, 5)
    x = torch.randn(4, 12, 3)
    paths = cell_gradient_paths(layer, x)
    reference = state_gradient_norms(layer, x, which="c")
    torch.testing.assert_close(paths["full"], reference, rtol=1e-4, atol=1e-7)
    assert paths["direct"].shape == (12,) and paths["tanh_slope"].shape == (12,)
    # distance 0: only the direct path exists (dL/dc_T through h_T = o_T tanh(c_T))
    torch.testing.assert_close(paths["direct"][0], paths["full"][0])
    assert float(paths["h_paths"][0]) == 0


def test_cell_gradient_paths_direct_is_forget_gate_product():
    from seqnotes.measure.gradients import cell_gradient_paths

    torch.manual_seed(1)
    layer = LSTM(2, 1)
    with torch.no_grad():
        layer.cell.weight_hh.zero_()  # no h-paths at all: the direct path is everything
    x = torch.randn(1, 6, 2)
    paths = cell_gradient_paths(layer, x)
    torch.testing.assert_close(paths["direct"], paths["full"])
    f = layer.gates(x)["f"][0, :, 0]  # (6,)
    ratio = paths["direct"][1] / paths["direct"][0]
    torch.testing.assert_close(ratio.float(), f[-1], rtol=1e-5, atol=1e-7)


def test_cell_gradient_paths_needs_lstm():
    from seqnotes.measure.gradients import cell_gradient_paths
    from seqnotes.models.recurrent import RNN

    with pytest.raises(TypeError, match="LSTM"):
        cell_gradient_paths(RNN(2, 3), torch.randn(1, 4, 2))


def test_input_gradient_norms_match_autograd() -> None:
    torch.manual_seed(0)
    for layer in (RNN(4, 6), CausalSelfAttention(4, 2)):
        x = torch.randn(2, 7, 4)
        norms = input_gradient_norms(layer, x)  # (T,) by distance
        leaf = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(layer(leaf)[0][:, -1].sum(), leaf)  # (B, T, D)
        assert norms.dtype == torch.float64
        assert torch.allclose(norms, grad.double().norm(dim=-1).mean(0).flip(0))
        assert not x.requires_grad  # the caller's tensor is left alone


def test_input_gradient_norms_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, D\)"):
        input_gradient_norms(RNN(4, 6), torch.randn(7, 4))
    with pytest.raises(TypeError, match="must return"):
        input_gradient_norms(nn.Linear(4, 4), torch.randn(2, 7, 4))
