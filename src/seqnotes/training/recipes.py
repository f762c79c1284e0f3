"""Training recipes as data: how each chapter trains its models (Chapters 2-5; notes lines 6, 9, 33).

- :func:`train_char_lm`: Chapters 2 and 3 train every character language model with it.
- :class:`LMRecipe` and :func:`train_lm`: the one recipe every network of Chapter 5 gets
  (same batches, AdamW, warm-up + cosine, clipping), for any seed; :func:`timed_fit` is
  :func:`seqnotes.training.loop.fit` plus the wall-clock training time (evaluation excluded).
- :func:`train_number_reader`: Chapter 4.2's recipe for the number reader.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from seqnotes.models.lm import evaluate
from seqnotes.models.seq2seq import Seq2SeqConfig, Seq2SeqTransformer
from seqnotes.tasks.corpus import lm_batches
from seqnotes.tasks.numbers import NumberSplit, number_batches
from seqnotes.training.loop import History, fit
from seqnotes.training.schedules import warmup_cosine
from seqnotes.utils import check_positive_int, make_generator, seed_everything

__all__ = ["LMRecipe", "TimedRun", "timed_fit", "train_char_lm", "train_lm", "train_number_reader"]


def train_char_lm(
    model: nn.Module, train_ids: torch.Tensor, val_ids: torch.Tensor, *, steps: int = 400
) -> History:
    """Chapters 2 and 3 train every character language model with this one recipe.

    Random windows of 32 characters, 64 per batch (drawn from a generator seeded with 1, so
    every model sees the same batches), Adam with learning rate 5e-3, gradients clipped to
    norm 1.0, and the held-out perplexity (``evaluate`` on 128-character windows) every 80
    steps. ``train_ids (N,)`` and ``val_ids (M,)`` are the encoded standard split.
    """
    return fit(
        model,
        lm_batches(train_ids, block_size=32, batch_size=64, generator=make_generator(1)),
        steps=steps,
        lr=5e-3,
        clip_grad_norm=1.0,
        eval_fn=lambda m: evaluate(m, val_ids, block_size=128),
        eval_every=80,
    )


@dataclass
class TimedRun:
    """What :func:`timed_fit` measured.

    ``train_seconds`` is the wall-clock time of the training steps only (evaluation
    excluded) and ``eval_times[i]`` the training seconds spent before the evaluation at
    ``history.eval_steps[i]``. Times vary from run to run; the history does not.
    """

    history: History
    train_seconds: float
    eval_seconds: float
    eval_times: list[float] = field(default_factory=list)

    @property
    def seconds_per_step(self) -> float:
        """Mean wall-clock seconds of one training step."""
        return self.train_seconds / len(self.history.steps)


def timed_fit(
    model: nn.Module,
    get_batch: Callable[[int], torch.Tensor | Sequence[torch.Tensor]],
    *,
    steps: int,
    eval_fn: Callable[[nn.Module], dict[str, float]] | None = None,
    eval_every: int = 0,
    clock: Callable[[], float] = time.perf_counter,
    **fit_kwargs: object,
) -> TimedRun:
    """:func:`seqnotes.training.loop.fit` that also measures the training time.

    The arguments are those of ``fit``. The evaluation time is measured separately and
    subtracted, so ``TimedRun.eval_times`` says how long the model had trained when it
    reached each evaluated perplexity. ``steps`` is a fixed number: the model and its
    history are the same on any machine, only the measured seconds differ.
    """
    if eval_fn is not None and not callable(eval_fn):
        raise TypeError("eval_fn must be callable: eval_fn(model) -> {name: value}")
    spent_in_eval = 0.0
    marks: list[float] = []
    start = clock()

    def timed_eval(m: nn.Module) -> dict[str, float]:
        nonlocal spent_in_eval
        entered = clock()
        marks.append(entered - start - spent_in_eval)
        result = eval_fn(m)  # type: ignore[misc]
        spent_in_eval += clock() - entered
        return result

    history = fit(
        model,
        get_batch,
        steps=steps,
        eval_fn=None if eval_fn is None else timed_eval,
        eval_every=eval_every,
        **fit_kwargs,  # type: ignore[arg-type]
    )
    total = clock() - start
    return TimedRun(history, total - spent_in_eval, spent_in_eval, marks)


@dataclass(frozen=True)
class LMRecipe:
    """How one network is built and trained: ``make()`` builds it, ``lr`` is the peak
    learning rate and ``steps`` the fixed number of training steps (never a clock)."""

    make: Callable[[], nn.Module]
    lr: float
    steps: int

    def __post_init__(self) -> None:
        if not callable(self.make):
            raise TypeError("make must be callable: make() -> a language model")
        if not isinstance(self.lr, int | float) or isinstance(self.lr, bool) or not 0 < self.lr < 1:
            raise ValueError(f"lr must be a number in (0, 1), got {self.lr!r}")
        check_positive_int(self.steps, "steps")


def train_lm(
    recipe: LMRecipe,
    train_ids: torch.Tensor,
    val_ids: torch.Tensor,
    *,
    seed: int,
    block_size: int = 128,
    batch_size: int = 8,
    evals: int = 8,
) -> tuple[nn.Module, TimedRun]:
    """Train ``recipe.make()`` with Chapter 5's recipe; returns ``(model, TimedRun)``.

    ``seed`` seeds the initial weights (:func:`seqnotes.seed_everything`) and the batches
    (:func:`seqnotes.make_generator` with ``seed + 1``), so all models given one seed see the
    same batches in the same order. The recipe is Chapter 4's: AdamW without weight decay,
    linear warm-up for the first 10 % of the steps then cosine decay, gradient clipping at
    1.0. The validation perplexity is evaluated ``evals`` times (and after the last step).
    """
    if not isinstance(recipe, LMRecipe):
        raise TypeError(f"recipe must be an LMRecipe, got {type(recipe).__name__}")
    check_positive_int(evals, "evals")
    seed_everything(seed)
    model = recipe.make()
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=0.0)
    run = timed_fit(
        model,
        lm_batches(train_ids, block_size, batch_size, make_generator(seed + 1)),
        steps=recipe.steps,
        optimizer=optimizer,
        scheduler=warmup_cosine(optimizer, recipe.steps // 10, recipe.steps),
        clip_grad_norm=1.0,
        eval_fn=lambda m: evaluate(m, val_ids, block_size=block_size),
        eval_every=max(1, recipe.steps // evals),
    )
    return model, run


def train_number_reader(
    split: NumberSplit,
    config: Seq2SeqConfig,
    seed: int,
    steps: int = 400,
    batch_size: int = 128,
    lr: float = 5e-3,
    warmup_steps: int = 50,
    round_fraction: float = 0.5,
) -> tuple[Seq2SeqTransformer, History]:
    """Train a :class:`seqnotes.models.seq2seq.Seq2SeqTransformer` on the split; ``(model, history)``.

    Adam with beta_2 = 0.98 (``AdamW`` with ``weight_decay=0``, i.e. plain Adam), linear
    warm-up then cosine decay, gradients clipped to norm 1. ``seed`` sets the initial weights
    and the batch stream (through the book's seed offset).
    """
    check_positive_int(steps, "steps")
    seed_everything(seed)
    model = Seq2SeqTransformer(config)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.0, foreach=True
    )
    scheduler = warmup_cosine(optimizer, warmup_steps=warmup_steps, total_steps=steps)
    get_batch = number_batches(split, batch_size, make_generator(seed), round_fraction=round_fraction)
    history = fit(model, get_batch, steps=steps, optimizer=optimizer, scheduler=scheduler, clip_grad_norm=1.0)
    return model, history
