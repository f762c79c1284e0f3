"""seqnotes.models.gated: the from-scratch LSTM and GRU against torch.nn, their gates and the forget bias."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqnotes.measure.gradients import state_gradient_norms
from seqnotes.models.gated import GATE_NAMES, GRU, LSTM, GRUCell, LSTMCell, set_forget_bias_
from seqnotes.models.recurrent import RNN

ATOL = 1e-5


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = ATOL) -> None:
    torch.testing.assert_close(a, b, atol=tol, rtol=tol)


@pytest.mark.parametrize(
    ("batch", "steps", "input_size", "hidden_size"),
    [(1, 1, 1, 1), (1, 9, 3, 5), (5, 1, 4, 3), (3, 12, 8, 16), (2, 25, 6, 32)],
)
@pytest.mark.parametrize("given_state", [False, True])
@pytest.mark.parametrize("fused", [True, False], ids=["hand-written-bptt", "autograd-loop"])
def test_lstm_matches_torch_forward_and_gradients(
    batch, steps, input_size, hidden_size, given_state, fused
) -> None:
    torch.manual_seed(steps * 31 + hidden_size)
    ref = nn.LSTM(input_size, hidden_size, batch_first=True)
    ours = LSTM.from_torch(ref)
    ours.fused = fused
    x = torch.randn(batch, steps, input_size, requires_grad=True)
    h0 = torch.randn(batch, hidden_size, requires_grad=True)
    c0 = torch.randn(batch, hidden_size, requires_grad=True)
    if given_state:
        out_ref, (h_ref, c_ref) = ref(x, (h0[None], c0[None]))  # torch: (layers, B, H)
        out, (h_last, c_last) = ours(x, (h0, c0))
    else:
        out_ref, (h_ref, c_ref) = ref(x)
        out, (h_last, c_last) = ours(x)
    assert out.shape == (batch, steps, hidden_size)
    assert h_last.shape == c_last.shape == (batch, hidden_size)
    _close(out, out_ref)
    _close(h_last, h_ref[0])
    _close(c_last, c_ref[0])

    w_out, w_c = torch.randn_like(out), torch.randn_like(c_last)
    inputs = [x, h0, c0] if given_state else [x]
    loss_ref = (out_ref * w_out).sum() + (c_ref[0] * w_c).sum()
    loss = (out * w_out).sum() + (c_last * w_c).sum()
    g_ref = torch.autograd.grad(loss_ref, [*inputs, *ref.parameters()])
    g = torch.autograd.grad(loss, [*inputs, *ours.parameters()])
    n = len(inputs)
    for a, b in zip(g[:n], g_ref[:n], strict=True):  # inputs and initial state
        _close(a, b, 1e-4)
    w_ih, w_hh, bias = g[n:]
    gw_ih, gw_hh, gb_ih, gb_hh = g_ref[n:]
    _close(w_ih, gw_ih, 1e-4)
    _close(w_hh, gw_hh, 1e-4)
    _close(bias, gb_ih, 1e-4)  # one bias = b_ih + b_hh: the same gradient reaches both
    _close(bias, gb_hh, 1e-4)


def test_lstm_time_major() -> None:
    torch.manual_seed(0)
    ref = nn.LSTM(3, 4)
    ours = LSTM.from_torch(ref)
    assert not ours.batch_first
    x = torch.randn(7, 2, 3)  # (T, B, D)
    out_ref, (h_ref, _) = ref(x)
    out, (h_last, _) = ours(x)
    assert out.shape == (7, 2, 4)
    _close(out, out_ref)
    _close(h_last, h_ref[0])


@pytest.mark.parametrize(("input_size", "hidden_size"), [(1, 1), (4, 6), (10, 20)])
def test_lstm_cell_matches_torch(input_size, hidden_size) -> None:
    torch.manual_seed(input_size)
    ref = nn.LSTMCell(input_size, hidden_size)
    cell = LSTMCell.from_torch(ref)
    x = torch.randn(3, input_size, requires_grad=True)
    h, c = torch.randn(3, hidden_size), torch.randn(3, hidden_size)
    h_ref, c_ref = ref(x, (h, c))
    h_new, c_new = cell(x, (h, c))
    _close(h_new, h_ref)
    _close(c_new, c_ref)
    h0_ref, _ = ref(x)
    _close(cell(x)[0], h0_ref)
    gx_ref = torch.autograd.grad((h_ref + c_ref).sum(), x)[0]
    gx = torch.autograd.grad((h_new + c_new).sum(), x)[0]
    _close(gx, gx_ref, 1e-4)


@pytest.mark.parametrize("fused", [True, False])
def test_gates_over_time(fused) -> None:
    torch.manual_seed(1)
    lstm = LSTM(3, 5, fused=fused)
    x = torch.randn(2, 6, 3)
    out, (h_last, c_last) = lstm(x)
    gates = lstm.gates(x)
    assert not any(g.requires_grad for g in gates.values())  # for looking, not for training
    assert set(gates) == {*GATE_NAMES, "c"}
    for name in ("i", "f", "o"):
        assert gates[name].shape == (2, 6, 5)
        assert float(gates[name].min()) > 0 and float(gates[name].max()) < 1
    assert float(gates["g"].abs().max()) < 1
    # the gates reproduce the state updates
    c_prev = torch.cat([torch.zeros(2, 1, 5), gates["c"][:, :-1]], dim=1)  # (B, T, H)
    _close(gates["c"], gates["f"] * c_prev + gates["i"] * gates["g"])
    _close(out, gates["o"] * torch.tanh(gates["c"]))
    _close(gates["c"][:, -1], c_last)
    _close(out[:, -1], h_last)
    # the same gates with the other code path
    lstm.fused = not fused
    other = lstm.gates(x)
    for name in gates:
        _close(other[name], gates[name])


@pytest.mark.parametrize(("batch", "steps", "hidden_size"), [(1, 1, 2), (3, 8, 7)])
def test_gru_matches_torch(batch, steps, hidden_size) -> None:
    torch.manual_seed(2)
    ref = nn.GRU(4, hidden_size, batch_first=True)
    ours = GRU.from_torch(ref)
    x = torch.randn(batch, steps, 4, requires_grad=True)
    h0 = torch.randn(batch, hidden_size)
    out_ref, h_ref = ref(x, h0[None])
    out, h_last = ours(x, h0)
    _close(out, out_ref)
    _close(h_last, h_ref[0])
    g_ref = torch.autograd.grad(out_ref.sum(), [x, *ref.parameters()])
    g = torch.autograd.grad(out.sum(), [x, *ours.parameters()])
    for a, b in zip(g, g_ref, strict=True):
        _close(a, b, 1e-4)
    cell_ref = nn.GRUCell(4, hidden_size)
    cell = GRUCell(4, hidden_size)
    cell.load_state_dict(cell_ref.state_dict())
    _close(cell(x[:, 0], h0), cell_ref(x[:, 0], h0))


def test_bad_shapes_and_arguments_give_clear_errors() -> None:
    lstm = LSTM(3, 5)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 3\)"):
        lstm(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 5\)"):
        lstm(torch.randn(2, 4, 3), (torch.zeros(1, 2, 5), torch.zeros(2, 5)))
    with pytest.raises(ValueError, match=r"c0 must have shape \(2, 5\)"):
        lstm(torch.randn(2, 4, 3), (torch.zeros(2, 5), torch.zeros(2, 6)))
    with pytest.raises(TypeError, match=r"state must be a tuple \(h0, c0\)"):
        lstm(torch.randn(2, 4, 3), torch.zeros(2, 5))
    with pytest.raises(ValueError, match="T >= 1"):
        lstm(torch.randn(2, 0, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 3\)"):
        LSTMCell(3, 5)(torch.randn(2, 4))
    with pytest.raises(TypeError, match="torch.nn.LSTM"):
        LSTM.from_torch(nn.GRU(3, 5))
    with pytest.raises(ValueError, match="num_layers=1"):
        LSTM.from_torch(nn.LSTM(3, 5, num_layers=2))
    with pytest.raises(ValueError, match="proj_size=0"):
        LSTM.from_torch(nn.LSTM(3, 5, proj_size=2))
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 3\)"):
        GRU(3, 5)(torch.randn(2, 4, 4))


def test_cell_state_gradient_and_forget_bias() -> None:
    torch.manual_seed(3)
    lstm = LSTM(2, 8)
    x = torch.randn(4, 20, 2)
    gh = state_gradient_norms(lstm, x, which="h")
    gc = state_gradient_norms(lstm, x, which="c")
    assert gh.shape == gc.shape == (20,)
    assert bool(torch.isfinite(gh).all() and torch.isfinite(gc).all())
    set_forget_bias_(lstm, 5.0)
    gc_open = state_gradient_norms(lstm, x, which="c")
    assert float(gc_open[-1]) > float(gc[-1])  # a forget gate near 1 keeps the path open
    ref = nn.LSTM(2, 8, batch_first=True)
    set_forget_bias_(ref, 1.0)
    assert float(ref.bias_ih_l0.detach()[8:16].min()) == 1.0
    assert float(ref.bias_hh_l0.detach()[8:16].abs().max()) == 0.0
    with pytest.raises(TypeError, match="must be an LSTM"):
        set_forget_bias_(RNN(2, 8), 1.0)
