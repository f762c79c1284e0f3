"""seqnotes.training.loop: fit and History (per-step and evaluated metrics apart)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from seqnotes import seed_everything
from seqnotes.training.loop import History, fit


class Regressor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x, y=None):
        pred = self.linear(x)
        return pred, (None if y is None else nn.functional.mse_loss(pred, y))


def data():
    g = seed_everything(0)
    x = torch.rand(64, 1, generator=g)
    return x, 3 * x - 1


def test_fit_learns_and_records_history() -> None:
    x, y = data()
    model = Regressor()
    calls = []
    history = fit(
        model,
        lambda step: (x, y),
        steps=200,
        lr=0.1,
        eval_fn=lambda m: calls.append(m.training) or {"val": float(m(x, y)[1])},
        eval_every=50,
    )
    assert history.steps == list(range(1, 201))
    assert len(history.loss) == len(history.grad_norm) == len(history.lr) == 200
    assert history.loss[-1] < 0.01 < history.loss[0]
    assert history.eval_steps == [50, 100, 150, 200]
    assert calls == [False] * 4  # evaluation runs in eval mode
    assert history.last("eval:val") == history.evals["val"][-1] < 0.01
    assert not model.training


def test_fit_is_deterministic() -> None:
    x, y = data()
    losses = []
    for _ in range(2):
        seed_everything(1)
        model = Regressor()
        losses.append(fit(model, lambda step: (x, y), steps=20).loss)
    assert losses[0] == losses[1]


def test_fit_clips_gradients_and_records_the_norm_before_clipping() -> None:
    x, y = data()
    seed_everything(0)
    model = Regressor()
    history = fit(
        model,
        lambda step: (x, 100 * y),
        steps=1,
        optimizer=torch.optim.SGD(model.parameters(), lr=1.0),
        clip_grad_norm=0.5,
    )
    assert history.grad_norm[0] > 0.5
    # after one SGD step with lr=1 the parameters moved by exactly the clipped norm
    seed_everything(0)
    fresh = Regressor()
    moved = torch.cat(
        [(p - q).flatten() for p, q in zip(model.parameters(), fresh.parameters(), strict=True)]
    )
    assert math.isclose(moved.norm().item(), 0.5, rel_tol=1e-4)


def test_fit_stops_on_nonfinite_loss() -> None:
    x, y = data()
    model = Regressor()
    history = fit(model, lambda step: (x, y * float("nan")), steps=10)
    assert history.diverged and len(history.loss) == 1 and math.isnan(history.loss[0])


def test_fit_with_custom_loss_fn() -> None:
    x, y = data()
    model = nn.Linear(1, 1)
    history = fit(
        model,
        lambda step: (x, y),
        steps=100,
        lr=0.1,
        loss_fn=lambda m, b: nn.functional.mse_loss(m(b[0]), b[1]),
    )
    assert history.loss[-1] < history.loss[0]


def test_fit_rejects_bad_arguments() -> None:
    x, y = data()
    model = Regressor()
    with pytest.raises(ValueError, match="steps must be a positive int"):
        fit(model, lambda s: (x, y), steps=0)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        fit("model", lambda s: (x, y), steps=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="clip_grad_norm"):
        fit(model, lambda s: (x, y), steps=1, clip_grad_norm=0)
    with pytest.raises(ValueError, match="loss=None"):
        fit(model, lambda s: (x,), steps=1)
    with pytest.raises(TypeError, match=r"\(output, loss\)"):
        fit(nn.Linear(1, 1), lambda s: (x,), steps=1)
    with pytest.raises(TypeError, match="tuple of tensors"):
        fit(model, lambda s: [1, 2], steps=1)


def test_history_errors() -> None:
    with pytest.raises(ValueError, match="no values"):
        History().last("loss")
    with pytest.raises(KeyError, match="unknown history key"):
        History().series("accuracy")  # an evaluated metric is only ever "eval:accuracy"


def test_progress_bar_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = data()
    monkeypatch.delenv("SEQNOTES_PROGRESS", raising=False)
    fit(Regressor(), lambda s: (x, y), steps=5)
    assert capsys.readouterr().err == ""
    fit(Regressor(), lambda s: (x, y), steps=5, progress=True)
    assert "0/5" in capsys.readouterr().err  # outside Jupyter, tqdm draws on stderr


def test_fit_without_clipping_leaves_huge_gradients_untouched() -> None:
    """A gradient whose norm overflows float32 is reported as inf and left as it is (not NaN)."""
    model = nn.Linear(2, 1, bias=False)
    x = torch.full((1, 2), 3e38)  # d loss / d w = x: finite entries, norm 4.2e38 > float32 max

    history = fit(
        model,
        lambda step: (x,),
        steps=1,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.0),
        loss_fn=lambda m, batch: m(batch[0]).sum(),
    )
    assert math.isinf(history.grad_norm[0])
    assert torch.equal(model.weight.grad, x)


def test_evaluated_loss_is_reachable_apart_from_the_training_loss() -> None:
    x, y = data()
    history = fit(
        Regressor(), lambda step: (x, y), steps=20, lr=0.1, eval_fn=lambda m: {"loss": 123.0}, eval_every=10
    )
    assert history.series("loss")[1] == history.loss  # per-step training loss
    assert history.series("eval:loss")[1] == history.evals["loss"] == [123.0, 123.0]
    assert history.eval_series("loss") == ([10, 20], [123.0, 123.0])
    assert history.series("eval:loss")[0] == history.eval_steps
    assert history.last("eval:loss") == 123.0
    with pytest.raises(KeyError, match="evaluated"):
        history.eval_series("perplexity")
    with pytest.raises(KeyError, match="eval:loss"):
        history.series("accuracy")


def test_plot_history_draws_per_step_and_evaluated_loss() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from seqnotes.plotting import plot_history

    x, y = data()
    history = fit(Regressor(), lambda step: (x, y), steps=20, eval_fn=lambda m: {"loss": 1.0}, eval_every=5)
    ax = plot_history(history, ["loss", "eval:loss"], smooth=3)
    train_line, eval_line = ax.get_lines()
    assert len(train_line.get_xdata()) == 18 and list(eval_line.get_xdata()) == [5, 10, 15, 20]
    assert list(eval_line.get_ydata()) == [1.0] * 4
