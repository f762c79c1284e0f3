"""seqnotes.training.recipes: timed_fit and Chapter 5's LMRecipe / train_lm."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pytest
import torch
from torch import nn

from seqnotes.models.lm import (
    RecurrentLM,
    RecurrentLMConfig,
    evaluate,
)
from seqnotes.tasks.corpus import lm_batches
from seqnotes.training.loop import fit
from seqnotes.training.recipes import LMRecipe, timed_fit, train_lm

from .helpers import structured_ids as _ids

V = 6


def _small_lm() -> RecurrentLM:
    torch.manual_seed(0)
    return RecurrentLM(RecurrentLMConfig(vocab_size=V, embed_dim=4, hidden_size=8, cell="rnn"))


def _recipe(steps: int = 4) -> LMRecipe:
    return LMRecipe(lambda: RecurrentLM(RecurrentLMConfig(V, "rnn", embed_dim=4, hidden_size=8)), 1e-2, steps)


def test_timed_fit_subtracts_evaluation_time() -> None:
    ticks = itertools.count()  # a fake clock: every call is one second later
    ids = _ids()
    run = timed_fit(
        _small_lm(),
        lm_batches(ids, 8, 4, torch.Generator().manual_seed(0)),
        steps=4,
        eval_fn=lambda m: evaluate(m, ids, block_size=16),
        eval_every=2,
        clock=lambda: float(next(ticks)),
    )
    # calls: start 0 | eval at step 2: enter 1, leave 2 | eval at step 4: enter 3, leave 4 | end 5
    assert run.history.eval_steps == [2, 4]
    assert run.eval_times == [1.0, 2.0]
    assert run.eval_seconds == 2.0 and run.train_seconds == 3.0
    assert run.seconds_per_step == 0.75


def test_timed_fit_trains_exactly_like_fit() -> None:
    ids = _ids()
    kwargs = {"steps": 6, "lr": 1e-2, "clip_grad_norm": 1.0}
    plain = fit(_small_lm(), lm_batches(ids, 8, 4, torch.Generator().manual_seed(0)), **kwargs)
    run = timed_fit(
        _small_lm(),
        lm_batches(ids, 8, 4, torch.Generator().manual_seed(0)),
        eval_fn=lambda m: evaluate(m, ids, block_size=16),
        eval_every=3,
        **kwargs,
    )
    assert run.history.loss == plain.loss
    assert len(run.eval_times) == len(run.history.eval_steps) == 2
    assert 0 <= run.eval_times[0] <= run.eval_times[1] <= run.train_seconds


def test_timed_fit_rejects_bad_arguments() -> None:
    get_batch = lm_batches(_ids(), 8, 4, torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match="eval_fn must be callable"):
        timed_fit(_small_lm(), get_batch, steps=2, eval_fn="perplexity")
    with pytest.raises(ValueError, match="steps must be a positive int"):
        timed_fit(_small_lm(), get_batch, steps=0)


def test_train_lm_is_reproducible_for_a_seed_and_differs_across_seeds() -> None:
    ids = _ids(600)
    kwargs = {"block_size": 8, "batch_size": 4, "evals": 2}
    _, a = train_lm(_recipe(), ids, ids, seed=0, **kwargs)
    _, b = train_lm(_recipe(), ids, ids, seed=0, **kwargs)
    _, c = train_lm(_recipe(), ids, ids, seed=1, **kwargs)
    assert a.history.loss == b.history.loss and a.history.loss != c.history.loss
    assert len(a.history.steps) == 4 and a.history.eval_steps == [2, 4]
    assert a.history.evals["perplexity"][-1] == pytest.approx(math.exp(a.history.evals["loss"][-1]))


def test_train_lm_gives_every_model_of_a_seed_the_same_batches() -> None:
    seen: list[list[torch.Tensor]] = [[], []]

    class Recorder(RecurrentLM):
        def forward(self, idx, targets=None):  # type: ignore[no-untyped-def]
            if self.training:
                seen[self.slot].append(idx.clone())
            return super().forward(idx, targets)

    def make(slot: int, hidden: int) -> Callable[[], nn.Module]:
        def build() -> nn.Module:
            model = Recorder(RecurrentLMConfig(vocab_size=V, embed_dim=4, hidden_size=hidden, cell="rnn"))
            model.slot = slot
            return model

        return build

    ids = _ids(600)
    for slot, hidden in ((0, 8), (1, 16)):
        train_lm(LMRecipe(make(slot, hidden), 1e-2, 3), ids, ids, seed=5, block_size=8, batch_size=4)
    assert all(torch.equal(x, y) for x, y in zip(seen[0], seen[1], strict=True)) and len(seen[0]) == 3


def test_lm_recipe_and_train_lm_reject_bad_arguments() -> None:
    with pytest.raises(TypeError, match="make must be callable"):
        LMRecipe("rnn", 1e-2, 4)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lr must be a number"):
        LMRecipe(lambda: nn.Linear(1, 1), 2.0, 4)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        LMRecipe(lambda: nn.Linear(1, 1), 1e-2, 0)
    with pytest.raises(TypeError, match="recipe must be an LMRecipe"):
        train_lm((lambda: None, 1e-2, 4), _ids(), _ids(), seed=0)  # type: ignore[arg-type]
