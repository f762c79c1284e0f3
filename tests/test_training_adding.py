"""seqnotes.training.adding: one adding-problem run, and seeds batched into one model equal to single runs."""

from __future__ import annotations

import math

import pytest
import torch

from seqnotes.models.recurrent import RNN, SequenceRegressor
from seqnotes.tasks.adding import BASELINE_MSE, adding_problem
from seqnotes.training.adding import StackedRNNRegressor, train_adding, train_rnn_seeds


def test_sequence_regressor_and_a_short_training_run() -> None:
    model = SequenceRegressor(RNN(2, 8), 8)
    x, y = adding_problem(4, 10, torch.Generator().manual_seed(0))
    pred, loss = model(x, y)
    assert pred.shape == (4,) and loss is not None
    with pytest.raises(ValueError, match=r"y must have shape \(4,\)"):
        model(x, y[:3])
    result = train_adding("rnn", 6, steps=30, hidden_size=8, batch_size=16, n_test=64)
    assert result.history.steps[-1] == 30 and math.isfinite(result.test_mse)


def test_every_seed_of_the_batched_run_is_the_single_run() -> None:
    runs = train_rnn_seeds(8, [2, 0], steps=30)
    for i, seed in enumerate((2, 0)):
        single = train_adding("rnn", 8, steps=30, seed=seed)
        assert runs.loss[:, i].tolist() == pytest.approx(single.history.loss, rel=1e-4, abs=1e-6)
        assert float(runs.test_mse[i]) == pytest.approx(single.test_mse, rel=1e-4)
        assert runs.grad_norm[:, i].tolist() == pytest.approx(single.history.grad_norm, rel=1e-4)
        model = runs.model.unstack(i)
        for (name, p), q in zip(model.named_parameters(), single.model.parameters(), strict=True):
            assert torch.allclose(p, q, atol=1e-5), name
    assert runs.init_weight_hh.shape == (2, 32, 32)


def test_seeds_do_not_interact_and_clipping_is_per_seed() -> None:
    both = train_rnn_seeds(6, [0, 1], steps=15, clip_grad_norm=[None, 0.5])
    alone = train_rnn_seeds(6, [1], steps=15, clip_grad_norm=0.5)
    assert both.loss[:, 1].tolist() == pytest.approx(alone.loss[:, 0].tolist(), rel=1e-5)


def test_divergence_freezes_the_seed_that_overflowed() -> None:
    runs = train_rnn_seeds(
        10,
        [0, 0],
        steps=200,
        optimizer="sgd",
        lr=0.2,
        decay_at=None,
        clip_grad_norm=[None, 1.0],
        init_scale=2.0,
    )
    stop = runs.stopped[0]
    assert stop is not None and runs.stopped[1] is None
    assert math.isinf(float(runs.loss[stop - 1, 0])) or math.isnan(float(runs.loss[stop - 1, 0]))
    assert torch.isnan(runs.loss[stop:, 0]).all() and torch.isfinite(runs.loss[:, 1]).all()
    model = runs.model.unstack(0)
    assert all(
        bool(torch.isfinite(p).all()) for p in model.parameters()
    )  # the loss overflowed, not the weights
    assert float(runs.max_abs_pred[stop - 1, 0]) > 1e18
    assert float(runs.loss[-50:, 1].mean()) < BASELINE_MSE


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="distinct"):
        train_rnn_seeds(5, [0, 0], steps=1)
    with pytest.raises(ValueError, match="one clip value per seed"):
        train_rnn_seeds(5, [0, 1], steps=1, clip_grad_norm=[1.0])
    with pytest.raises(ValueError, match="optimizer"):
        train_rnn_seeds(5, [0], steps=1, optimizer="rmsprop")
    with pytest.raises(TypeError, match="SequenceRegressor"):
        StackedRNNRegressor([])
