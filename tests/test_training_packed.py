"""seqnotes.training.packed: seeds packed into one block-diagonal layer behave like separate models."""

import pytest
import torch
from torch import nn

from seqnotes import make_generator
from seqnotes.tasks.adding import adding_problem
from seqnotes.training.packed import PackedRegressor, train_packed_seeds, unpack


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_packed_equals_unpacked_models(kind):
    runs = train_packed_seeds(kind, 8, [0, 1, 2], steps=5, n_test=10)
    x, _ = adding_problem(4, 8, make_generator(9))  # (4, 8, 2)
    packed = runs.model(torch.stack([x, 2 * x, -x]))  # (3, 4): each seed its own input
    for i, scale in enumerate((1, 2, -1)):
        layer, head = unpack(runs, i)
        assert isinstance(layer, {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind])
        single = head(layer(scale * x)[0][:, -1]).squeeze(-1)
        torch.testing.assert_close(single, packed[i], atol=1e-5, rtol=1e-5)


def test_blocks_do_not_interact():
    model = PackedRegressor("lstm", [0, 1, 2], 4)
    x = torch.randn(3, 2, 5, 2)
    model(x)[1].sum().backward()  # a loss of seed 1 only
    model.clip_and_mask_(None)
    params = dict(model.named_parameters())
    for name, owner in model._owners.items():
        grad = params[name].grad
        assert float(grad[owner != 1].abs().max()) == 0, name  # seeds 0, 2 and the off-block entries
    assert float(model.layer.weight_hh_l0.grad.abs().max()) > 0


def test_seed_training_matches_separate_training():
    both = train_packed_seeds("lstm", 6, [3, 4], steps=30, n_test=50)
    alone = train_packed_seeds("lstm", 6, [4], steps=30, n_test=50)
    torch.testing.assert_close(both.loss[:, 1], alone.loss[:, 0], atol=1e-5, rtol=1e-4)
    assert abs(both.test_mse[1] - alone.test_mse[0]) < 1e-5


def test_clipping_is_per_seed():
    model = PackedRegressor("rnn", [0, 1], 4)
    x = torch.randn(2, 3, 5, 2)
    (1000 * model(x)[0]).sum().backward()  # a huge gradient for seed 0 only
    norms = model.clip_and_mask_(1.0)
    assert float(norms[0]) > 1 and float(norms[1]) == 0
    after = model.clip_and_mask_(None)
    assert abs(float(after[0]) - 1.0) < 1e-3


def test_escape_step_and_smoothing():
    runs = train_packed_seeds("rnn", 5, [0], steps=30, n_test=10)
    runs.loss = torch.cat([torch.full((10, 1), 0.2), torch.full((20, 1), 0.01)])
    assert runs.smoothed_loss(5).shape == (1, 26)
    assert runs.escape_step(level=0.05, window=5) == [14]  # steps 10..14 average 0.048
    runs.loss = torch.full((30, 1), 0.2)
    assert runs.escape_step() == [None]


def test_bad_input():
    with pytest.raises(ValueError, match="kind"):
        train_packed_seeds("transformer", 5, [0], steps=1)
    with pytest.raises(ValueError, match="distinct"):
        train_packed_seeds("rnn", 5, [0, 0], steps=1)
    with pytest.raises(ValueError, match="forget_bias"):
        train_packed_seeds("rnn", 5, [0], steps=1, forget_bias=1.0)
    runs = train_packed_seeds("rnn", 5, [0], steps=1, n_test=5)
    with pytest.raises(ValueError, match="index"):
        unpack(runs, 1)
