"""seqnotes.models.recurrent: the from-scratch RNN against torch.nn.RNN, hand-written BPTT against
autograd."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqnotes import count_parameters
from seqnotes.models.recurrent import RNN, RNNCell, bptt

ATOL = 1e-5


def _pair(input_size: int, hidden_size: int, nonlinearity: str, batch_first: bool = True):
    torch.manual_seed(input_size * 100 + hidden_size)
    ref = nn.RNN(input_size, hidden_size, nonlinearity=nonlinearity, batch_first=batch_first)
    return ref, RNN.from_torch(ref)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize(
    ("batch", "steps", "input_size", "hidden_size"),
    [(1, 1, 1, 1), (1, 7, 3, 5), (4, 1, 6, 2), (3, 12, 8, 16), (2, 30, 4, 32)],
)
def test_rnn_matches_torch_forward_and_gradients(nonlinearity, batch, steps, input_size, hidden_size) -> None:
    ref, ours = _pair(input_size, hidden_size, nonlinearity)
    x = torch.randn(batch, steps, input_size, requires_grad=True)
    h0 = torch.randn(batch, hidden_size, requires_grad=True)
    out_ref, h_ref = ref(x, h0[None])  # torch wants h0 as (layers, B, H)
    out, h_last = ours(x, h0)
    assert out.shape == (batch, steps, hidden_size) and h_last.shape == (batch, hidden_size)
    torch.testing.assert_close(out, out_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(h_last, h_ref[0], atol=ATOL, rtol=0)

    weights = torch.randn(batch, steps, hidden_size)  # a loss that uses every output
    grads_ref = torch.autograd.grad((out_ref * weights).sum(), [x, h0, *ref.parameters()])
    grads = torch.autograd.grad((out * weights).sum(), [x, h0, *ours.parameters()])
    gx_ref, gh_ref, gw_ih, gw_hh, gb_ih, gb_hh = grads_ref
    gx, gh, w_ih, w_hh, b = grads
    for a, b_ in ((gx, gx_ref), (gh, gh_ref), (w_ih, gw_ih), (w_hh, gw_hh), (b, gb_ih), (b, gb_hh)):
        torch.testing.assert_close(a, b_, atol=1e-4, rtol=1e-4)


def test_rnn_without_initial_state_and_time_major() -> None:
    ref, ours = _pair(3, 4, "tanh", batch_first=False)
    x = torch.randn(6, 2, 3)  # (T, B, D)
    out_ref, h_ref = ref(x)
    out, h_last = ours(x)
    assert out.shape == (6, 2, 4)
    torch.testing.assert_close(out, out_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(h_last, h_ref[0], atol=ATOL, rtol=0)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_cell_matches_torch(nonlinearity) -> None:
    torch.manual_seed(1)
    ref = nn.RNNCell(5, 7, nonlinearity=nonlinearity)
    cell = RNNCell.from_torch(ref)
    x, h = torch.randn(3, 5), torch.randn(3, 7)
    torch.testing.assert_close(cell(x, h), ref(x, h), atol=ATOL, rtol=0)
    torch.testing.assert_close(cell(x), ref(x), atol=ATOL, rtol=0)


def test_sigmoid_rnn_follows_the_formula() -> None:
    torch.manual_seed(2)
    rnn = RNN(3, 4, nonlinearity="sigmoid")
    x = torch.randn(2, 5, 3)
    h = torch.zeros(2, 4)
    c = rnn.cell
    for t in range(5):
        h = torch.sigmoid(x[:, t] @ c.weight_ih.T + h @ c.weight_hh.T + c.bias)
    torch.testing.assert_close(rnn(x)[1], h, atol=ATOL, rtol=0)


def test_parameter_count_does_not_depend_on_length() -> None:
    rnn = RNN(10, 32)
    assert count_parameters(rnn) == 32 * 10 + 32 * 32 + 32
    assert rnn(torch.randn(1, 3, 10))[0].shape == (1, 3, 32)
    assert rnn(torch.randn(1, 300, 10))[0].shape == (1, 300, 32)


def test_bad_shapes_and_arguments_give_clear_errors() -> None:
    rnn = RNN(3, 5)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 3\)"):
        rnn(torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 3\).*dim 2 is 2"):
        rnn(torch.randn(4, 6, 2))
    with pytest.raises(ValueError, match=r"state must have shape \(4, 5\)"):
        rnn(torch.randn(4, 6, 3), torch.randn(1, 4, 5))
    with pytest.raises(ValueError, match="T >= 1"):
        rnn(torch.randn(4, 0, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(T, B, 3\)"):
        RNN(3, 5, batch_first=False)(torch.randn(2, 3))
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        RNN(3, 5, nonlinearity="gelu")
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        RNN(3, 0)
    with pytest.raises(TypeError, match="torch.nn.RNN"):
        RNN.from_torch(nn.LSTM(3, 5))
    with pytest.raises(ValueError, match="num_layers=1"):
        RNN.from_torch(nn.RNN(3, 5, num_layers=2))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 3\)"):
        RNNCell(3, 5)(torch.randn(2, 4))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu", "sigmoid"])
def test_hand_written_bptt_equals_autograd_through_torch(nonlinearity) -> None:
    torch.manual_seed(3)
    ours = RNN(3, 6, nonlinearity=nonlinearity)
    x = torch.randn(2, 9, 3, requires_grad=True)
    h0 = torch.randn(2, 6, requires_grad=True)
    g_out = torch.randn(2, 9, 6)
    if nonlinearity == "sigmoid":  # torch has no sigmoid RNN: compare with autograd on ours
        out, _ = ours(x, h0)
        params = [ours.cell.weight_ih, ours.cell.weight_hh, ours.cell.bias]
        auto = torch.autograd.grad((out * g_out).sum(), [x, h0, *params])
        auto_b = auto[4]
    else:
        ref = nn.RNN(3, 6, nonlinearity=nonlinearity, batch_first=True)
        with torch.no_grad():
            ref.weight_ih_l0.copy_(ours.cell.weight_ih)
            ref.weight_hh_l0.copy_(ours.cell.weight_hh)
            ref.bias_ih_l0.copy_(ours.cell.bias)
            ref.bias_hh_l0.zero_()
        out, _ = ref(x, h0[None])
        auto = torch.autograd.grad((out * g_out).sum(), [x, h0, *ref.parameters()])
        auto_b = auto[4]
    manual = bptt(ours, x.detach(), g_out, h0.detach())
    torch.testing.assert_close(manual["x"], auto[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(manual["h0"], auto[1], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(manual["weight_ih"], auto[2], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(manual["weight_hh"], auto[3], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(manual["bias"], auto_b, atol=1e-5, rtol=1e-4)
