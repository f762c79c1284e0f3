"""seqnotes.training.adding: one adding-problem run, and seeds batched into one model equal to single runs."""

from __future__ import annotations

import math

import pytest
import torch

from seqnotes import make_generator
from seqnotes.models.gated import set_forget_bias_
from seqnotes.models.recurrent import RNN, SequenceRegressor
from seqnotes.tasks.adding import adding_problem
from seqnotes.training.adding import (
    torch_default_regressor,
    train_adding,
    train_adding_seeds,
)
from seqnotes.training.stacked import StackedRegressor


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
    runs = train_adding_seeds(8, [2, 0], steps=30)
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
    both = train_adding_seeds(6, [0, 1], steps=15, clip_grad_norm=[None, 0.5])
    alone = train_adding_seeds(6, [1], steps=15, clip_grad_norm=0.5)
    assert both.loss[:, 1].tolist() == pytest.approx(alone.loss[:, 0].tolist(), rel=1e-5)


def test_divergence_freezes_the_seed_that_overflowed() -> None:
    runs = train_adding_seeds(
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
    # the clipped seed trains on; this run is chaotic (SGD, lr 0.2, init_scale 2), so its curve
    # depends on float rounding and only a robust claim is checked
    assert float(runs.loss[-50:, 1].mean()) < 0.75 * float(runs.loss[:50, 1].mean())


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="distinct"):
        train_adding_seeds(5, [0, 0], steps=1)
    with pytest.raises(ValueError, match="one clip value per seed"):
        train_adding_seeds(5, [0, 1], steps=1, clip_grad_norm=[1.0])
    with pytest.raises(ValueError, match="optimizer"):
        train_adding_seeds(5, [0], steps=1, optimizer="rmsprop")
    with pytest.raises(ValueError, match="at least one"):
        StackedRegressor([])
    with pytest.raises(ValueError, match="kind"):
        train_adding_seeds(5, [0], steps=1, kind="transformer")
    with pytest.raises(ValueError, match="init_scale needs kind='rnn'"):
        train_adding_seeds(5, [0], steps=1, kind="lstm", init_scale=1.0)
    with pytest.raises(ValueError, match="forget_bias needs kind='lstm'"):
        train_adding_seeds(5, [0], steps=1, kind="gru", forget_bias=1.0)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gated_seeds_start_from_torch_defaults_and_do_not_interact(kind: str) -> None:
    runs = train_adding_seeds(8, [1, 0], kind=kind, steps=20, n_test=50)
    alone = train_adding_seeds(8, [0], kind=kind, steps=20, n_test=50)
    assert runs.kind == kind and runs.init_weight_hh.shape == (2, {"lstm": 4, "gru": 3}[kind] * 32, 32)
    assert torch.allclose(runs.init_weight_hh[1], alone.init_weight_hh[0])
    start = torch_default_regressor(kind, 32, make_generator(0))  # seed 0's model before training
    assert torch.equal(runs.init_weight_hh[1], start.layer.weight_hh_l0)
    assert runs.loss[:, 1].tolist() == pytest.approx(alone.loss[:, 0].tolist(), rel=1e-5, abs=1e-7)
    assert float(runs.test_mse[1]) == pytest.approx(float(alone.test_mse[0]), rel=1e-5)
    model = runs.model.unstack(1)
    assert type(model.layer) is type(start.layer) and not model.training


def test_gated_batched_run_equals_a_single_torch_model_trained_alone() -> None:
    """One LSTM seed of train_adding_seeds is the torch.nn.LSTM trained by hand with the same recipe."""
    runs = train_adding_seeds(6, [3], kind="lstm", steps=12, n_test=20, decay_at=None)
    model = torch_default_regressor("lstm", 32, make_generator(3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    gen = make_generator(4)
    for step in range(12):
        x, y = adding_problem(32, 6, gen)
        loss = model(x, y)[1]
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        assert float(runs.loss[step, 0]) == pytest.approx(float(loss.detach()), rel=1e-4, abs=1e-6)


def test_forget_bias_is_set_before_stacking() -> None:
    runs = train_adding_seeds(6, [0], kind="lstm", steps=10, n_test=10, forget_bias=1.0)
    model = torch_default_regressor("lstm", 32, make_generator(0))
    set_forget_bias_(model.layer, 1.0)
    x, y = adding_problem(32, 6, make_generator(1))
    assert float(runs.loss[0, 0]) == pytest.approx(float(model(x, y)[1].detach()), rel=1e-5)


def test_smoothed_loss_and_escape_step_survive_a_stop() -> None:
    runs = train_adding_seeds(6, [0, 1], steps=30, n_test=10)
    runs.loss = torch.tensor([[0.2, 0.2]] * 10 + [[0.01, 0.2]] * 20)  # (30, 2)
    runs.loss[25:, 1] = float("nan")  # seed 1 stopped at step 26
    smooth = runs.smoothed_loss(5)  # (2, 26)
    assert smooth.shape == (2, 26)
    assert float(smooth[0, 0]) == pytest.approx(0.2) and float(smooth[0, -1]) == pytest.approx(0.01)
    assert torch.isnan(smooth[1, -1]) and float(smooth[1, 20]) == pytest.approx(0.2)
    assert runs.escape_step(level=0.05, window=5) == [14, None]
    with pytest.raises(ValueError, match="window"):
        runs.smoothed_loss(31)
