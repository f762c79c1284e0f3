"""Several seeds as one batched model: the hand-written BPTT equals autograd, seqnotes and torch.nn."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqnotes.models.gated import LSTM
from seqnotes.models.lm import make_recurrent
from seqnotes.models.recurrent import SequenceRegressor
from seqnotes.training.stacked import _FUNCTIONS, GATES, StackedRegressor, last_state

KINDS = ["rnn", "lstm", "gru"]
S, B, T, D, H = 3, 4, 7, 2, 5


def _close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-4)


def _singles(kind: str, n: int = S, hidden: int = H) -> list[SequenceRegressor]:
    torch.manual_seed(11)
    return [SequenceRegressor(make_recurrent(kind, D, hidden), hidden) for _ in range(n)]


def _torch_layer(single: SequenceRegressor, kind: str) -> nn.Module:
    """The ``torch.nn`` layer with the same weights (one bias in seqnotes RNN/LSTM = b_ih + b_hh)."""
    cell = single.layer.cell
    layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](D, H, batch_first=True)
    with torch.no_grad():
        layer.weight_ih_l0.copy_(cell.weight_ih)
        layer.weight_hh_l0.copy_(cell.weight_hh)
        layer.bias_ih_l0.copy_(cell.bias_ih if kind == "gru" else cell.bias)
        layer.bias_hh_l0.copy_(cell.bias_hh if kind == "gru" else torch.zeros_like(cell.bias))
    return layer


@pytest.mark.parametrize("kind", KINDS)
def test_forward_and_gradients_equal_the_single_models_and_torch_nn(kind: str) -> None:
    singles = _singles(kind)
    stacked = StackedRegressor(singles)
    assert stacked.kind == kind and stacked.weight_hh.shape == (S, GATES[kind] * H, H)
    x, y = torch.randn(S, B, T, D), torch.randn(S, B)  # (S, B, T, D), (S, B)
    pred, mse = stacked(x, y)  # (S, B), (S,)
    assert pred.shape == (S, B) and mse.shape == (S,)
    (mse * torch.tensor([1.0, 2.0, 3.0])).sum().backward()  # each seed its own weight in the loss
    for s, single in enumerate(singles):
        head = single.head
        torch_layer = _torch_layer(single, kind)
        p1, l1 = single(x[s], y[s])  # (B,), ()
        p2 = head(torch_layer(x[s])[0][:, -1]).squeeze(-1)  # (B,)
        torch.testing.assert_close(pred[s], p1, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(pred[s], p2, atol=1e-5, rtol=1e-5)
        (l1 * (s + 1)).backward()
        head.zero_grad()
        (((p2 - y[s]) ** 2).mean() * (s + 1)).backward()
        cell = single.layer.cell
        for name, p in cell.named_parameters():
            _close(getattr(stacked, name).grad[s], p.grad)
        torch.testing.assert_close(
            stacked.weight_ih.grad[s], torch_layer.weight_ih_l0.grad, atol=1e-5, rtol=1e-4
        )
        torch.testing.assert_close(
            stacked.weight_hh.grad[s], torch_layer.weight_hh_l0.grad, atol=1e-5, rtol=1e-4
        )
        bias = stacked.bias_ih if kind == "gru" else stacked.bias
        _close(bias.grad[s], torch_layer.bias_ih_l0.grad)
        if kind == "gru":
            torch.testing.assert_close(
                stacked.bias_hh.grad[s], torch_layer.bias_hh_l0.grad, atol=1e-5, rtol=1e-4
            )
        _close(stacked.head_weight.grad[s], head.weight.grad[0])
        _close(stacked.head_bias.grad[s], head.bias.grad[0])


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_gradcheck_of_the_hand_written_bptt(kind: str) -> None:
    g = torch.Generator().manual_seed(3)
    gh = GATES[kind] * 3
    xw = torch.randn(2, 3, 4, gh, generator=g, dtype=torch.float64).requires_grad_()  # (S, B, T, G*H)
    w = (0.5 * torch.randn(2, gh, 3, generator=g, dtype=torch.float64)).requires_grad_()  # (S, G*H, H)
    args = (xw, w)
    if kind == "gru":
        args += (torch.randn(2, gh, generator=g, dtype=torch.float64).requires_grad_(),)  # (S, 3H)
    assert torch.autograd.gradcheck(_FUNCTIONS[kind].apply, args)
    assert torch.autograd.gradcheck(lambda *a: last_state(kind, *a), args)


@pytest.mark.parametrize("kind", KINDS)
def test_one_step_and_the_seeds_do_not_interact(kind: str) -> None:
    singles = _singles(kind)
    stacked = StackedRegressor(singles)
    x = torch.randn(S, B, 1, D)  # (S, B, 1, D): T = 1
    with torch.no_grad():
        _close(stacked(x)[0][2], singles[2](x[2])[0])
    x = torch.randn(S, B, 2, D)  # (S, B, 2, D)
    stacked(x)[0][1].sum().backward()  # a loss of seed 1 only
    for name, p in stacked.named_parameters():
        assert float(p.grad[[0, 2]].abs().max()) == 0, name
        assert float(p.grad[1].abs().max()) > 0, name


@pytest.mark.parametrize("kind", KINDS)
def test_unstack_round_trip(kind: str) -> None:
    singles = _singles(kind)
    stacked = StackedRegressor(singles)
    x = torch.randn(S, B, T, D)  # (S, B, T, D)
    with torch.no_grad():
        pred, none = stacked(x)  # (S, B)
    assert none is None
    for s, single in enumerate(singles):
        copy = stacked.unstack(s)
        assert isinstance(copy, SequenceRegressor) and not copy.training
        assert type(copy.layer) is type(single.layer)
        for (name, p), q in zip(copy.named_parameters(), single.parameters(), strict=True):
            assert torch.equal(p, q), name
        with torch.no_grad():
            torch.testing.assert_close(copy(x[s])[0], pred[s], atol=1e-5, rtol=1e-5)
    again = StackedRegressor([stacked.unstack(s) for s in range(S)])
    for (name, p), q in zip(again.named_parameters(), stacked.parameters(), strict=True):
        assert torch.equal(p, q), name


def test_bad_input_raises() -> None:
    singles = _singles("rnn")
    stacked = StackedRegressor(singles)
    with pytest.raises(TypeError, match="SequenceRegressor"):
        StackedRegressor(singles[0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one"):
        StackedRegressor([])
    with pytest.raises(ValueError, match="one kind, layer type and size"):
        StackedRegressor([singles[0], *_singles("gru", 1)])
    with pytest.raises(ValueError, match="one kind, layer type and size"):
        StackedRegressor([singles[0], *_singles("rnn", 1, hidden=6)])
    with pytest.raises(ValueError, match="tanh"):
        StackedRegressor([SequenceRegressor(make_recurrent("rnn", D, H).__class__(D, H, "relu"), H)])
    with pytest.raises(TypeError, match="seqnotes RNN, LSTM or GRU or a torch.nn LSTM or GRU"):
        StackedRegressor([SequenceRegressor(nn.RNN(D, H, batch_first=True), H)])
    with pytest.raises(ValueError, match="one layer"):
        StackedRegressor([SequenceRegressor(nn.LSTM(D, H, num_layers=2, batch_first=True), H)])
    with pytest.raises(ValueError, match="batch_first"):
        StackedRegressor([SequenceRegressor(LSTM(D, H, batch_first=False), H)])
    with pytest.raises(ValueError, match=r"x must have shape \(3, B, T, 2\)"):
        stacked(torch.randn(2, B, T, D))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        stacked([[0.0]])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dtype"):
        stacked(torch.randn(S, B, T, D, dtype=torch.float64))
    with pytest.raises(ValueError, match="T >= 1"):
        stacked(torch.randn(S, B, 0, D))
    with pytest.raises(ValueError, match="y must have shape"):
        stacked(torch.randn(S, B, T, D), torch.randn(S, B + 1))
    with pytest.raises(ValueError, match="s must be an int"):
        stacked.unstack(S)
    with pytest.raises(ValueError, match="kind"):
        last_state("transformer", torch.randn(S, B, T, H), stacked.weight_hh)
    with pytest.raises(ValueError, match="kind must be 'rnn' or 'gru'"):
        last_state("lstm", torch.randn(S, B, T, 4 * H), stacked.weight_hh)
    with pytest.raises(ValueError, match="bias_hh is for kind='gru'"):
        last_state("rnn", torch.randn(S, B, T, H), stacked.weight_hh, torch.zeros(S, H))
    with pytest.raises(TypeError, match="bias_hh must be a torch.Tensor"):
        last_state("gru", torch.randn(S, B, T, 3 * H), torch.randn(S, 3 * H, H))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_torch_nn_layers_stack_and_unstack(kind: str) -> None:
    """Seeds built on torch.nn.LSTM / torch.nn.GRU (two biases) compute what those modules compute."""
    from seqnotes import make_generator
    from seqnotes.training.adding import torch_default_regressor

    singles = [torch_default_regressor(kind, H, make_generator(s)) for s in range(S)]
    stacked = StackedRegressor(singles)
    x, y = torch.randn(S, B, T, D), torch.randn(S, B)
    pred, mse = stacked(x, y)
    mse.sum().backward()
    for s, single in enumerate(singles):
        p, loss = single(x[s], y[s])
        loss.backward()
        _close(pred[s], p)
        _close(stacked.weight_hh.grad[s], single.layer.weight_hh_l0.grad)
        _close(stacked.bias_hh.grad[s], single.layer.bias_hh_l0.grad)
        back = stacked.unstack(s)
        assert type(back.layer) is type(single.layer)
        _close(back(x[s])[0], p.detach())
