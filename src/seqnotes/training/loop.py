"""One training loop for every model in the book (Chapters 0-5; notes line 9: "하나의 가중치로 계속 학습").

Every model follows the makemore convention ``model(*batch) -> (output, loss)``, so the
same :func:`fit` trains the n-gram's neural cousins, the RNN, the LSTM and the Transformer.
A model with another signature passes ``loss_fn(model, batch) -> loss``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from seqnotes.utils import check_positive_int

__all__ = ["History", "fit", "progress_enabled"]

Batch = Sequence[torch.Tensor]


@dataclass
class History:
    """What :func:`fit` measured.

    ``steps``/``loss``/``grad_norm``/``lr`` hold one entry per optimisation step (the
    gradient norm is measured *before* clipping). ``evals`` maps each metric returned by
    ``eval_fn`` to its values at ``eval_steps``. ``diverged`` is True when training stopped
    on a non-finite loss.
    """

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    evals: dict[str, list[float]] = field(default_factory=dict)
    diverged: bool = False

    PER_STEP = ("loss", "grad_norm", "lr")
    EVAL_PREFIX = "eval:"

    def eval_series(self, name: str) -> tuple[list[int], list[float]]:
        """``(eval_steps, values)`` of the evaluated metric ``name`` (a key of ``eval_fn``'s dict)."""
        if name not in self.evals:
            raise KeyError(f"no evaluated metric {name!r}; evaluated: {sorted(self.evals)}")
        return self.eval_steps, self.evals[name]

    def series(self, key: str) -> tuple[list[int], list[float]]:
        """``(steps, values)`` of a per-step key or of an evaluated metric named ``"eval:<name>"``.

        The two kinds never share a key: ``"loss"`` is always the training loss of every step
        (``history.loss``), ``"eval:loss"`` the loss that ``eval_fn`` returned
        (``history.evals["loss"]``, e.g. from :func:`seqnotes.models.lm.evaluate`).
        """
        if key.startswith(self.EVAL_PREFIX):
            return self.eval_series(key[len(self.EVAL_PREFIX) :])
        if key in self.PER_STEP:
            return self.steps, getattr(self, key)
        known = [*self.PER_STEP, *(self.EVAL_PREFIX + k for k in self.evals)]
        raise KeyError(f"unknown history key {key!r}; known: {known}")

    def last(self, key: str) -> float:
        """The last recorded value of ``key`` (a key of :meth:`series`)."""
        values = self.series(key)[1]
        if not values:
            raise ValueError(f"history has no values for {key!r} yet")
        return values[-1]


def progress_enabled() -> bool:
    """Whether :func:`fit` shows a progress bar by default.

    Only when the environment variable ``SEQNOTES_PROGRESS`` is ``1`` (``make lab`` sets
    it), so bars never end up in stored notebook outputs or CI logs.
    """
    return os.environ.get("SEQNOTES_PROGRESS", "0") == "1"


def _default_loss(model: nn.Module, batch: Batch) -> torch.Tensor:
    out = model(*batch)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(
            "model(*batch) must return (output, loss) (the makemore convention); "
            "pass loss_fn=... for other models"
        )
    loss = out[1]
    if loss is None:
        raise ValueError("model returned loss=None: the batch must include the targets")
    return loss


def _to_device(batch: torch.Tensor | Batch, device: torch.device) -> tuple[torch.Tensor, ...]:
    if isinstance(batch, torch.Tensor):
        batch = (batch,)
    if not isinstance(batch, Sequence) or not all(isinstance(t, torch.Tensor) for t in batch):
        raise TypeError("get_batch(step) must return a tensor or a tuple of tensors")
    return tuple(t.to(device) for t in batch)


def fit(
    model: nn.Module,
    get_batch: Callable[[int], torch.Tensor | Batch],
    *,
    steps: int,
    lr: float = 1e-3,
    optimizer: torch.optim.Optimizer | None = None,
    loss_fn: Callable[[nn.Module, Batch], torch.Tensor] | None = None,
    clip_grad_norm: float | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    eval_fn: Callable[[nn.Module], dict[str, float]] | None = None,
    eval_every: int = 0,
    progress: bool | None = None,
) -> History:
    """Train ``model`` for ``steps`` optimisation steps and return its :class:`History`.

    Args:
        model: any ``nn.Module``; by default ``model(*batch)`` must return ``(output, loss)``.
        get_batch: ``get_batch(step) -> batch``, a tensor or tuple of tensors, e.g.
            ``(idx (B, T), targets (B, T))`` for a language model. Moved to the model's device.
        steps: number of optimisation steps (>= 1).
        lr: learning rate of the default optimiser (Adam) when ``optimizer`` is None.
        optimizer: an optimiser over ``model``'s parameters, to use instead of Adam.
        loss_fn: ``loss_fn(model, batch) -> scalar loss`` for models without the convention.
        clip_grad_norm: if set, rescale the gradient to at most this global L2 norm.
        scheduler: stepped once after every optimiser step.
        eval_fn: ``eval_fn(model) -> {name: value}``, run under ``torch.no_grad`` in eval
            mode every ``eval_every`` steps and after the last step.
        eval_every: evaluation period in steps (0: only at the end).
        progress: show a tqdm bar; None follows :func:`progress_enabled`.

    The model is left in eval mode (``model.training`` is False) when ``fit`` returns.
    """
    params = _check_fit_args(model, get_batch, steps, lr, optimizer, clip_grad_norm, eval_every)
    if optimizer is None:
        optimizer = torch.optim.Adam(params, lr=lr)
    loss_fn = loss_fn or _default_loss
    device = params[0].device
    history = History()

    def evaluate(step: int) -> None:
        model.eval()
        with torch.no_grad():
            metrics = eval_fn(model)  # type: ignore[misc]
        model.train()
        history.eval_steps.append(step)
        for name, value in metrics.items():
            history.evals.setdefault(name, []).append(float(value))

    show = progress_enabled() if progress is None else progress
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, leave=False)

    model.train()
    for step in range(1, steps + 1):
        batch = _to_device(get_batch(step - 1), device)
        loss = loss_fn(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip_grad_norm is not None:
            grad_norm = torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
        else:  # only measure: scaling by max_norm / norm would turn an overflowed (inf) norm into NaN
            grad_norm = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
        loss_value = float(loss.detach())
        history.steps.append(step)
        history.loss.append(loss_value)
        history.grad_norm.append(float(grad_norm))
        history.lr.append(float(optimizer.param_groups[0]["lr"]))
        if not math.isfinite(loss_value):  # stop: the values have no meaning any more
            history.diverged = True
            break
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
        if eval_fn is not None and eval_every and step % eval_every == 0 and step != steps:
            evaluate(step)
    if bar is not None:
        bar.close()
    if eval_fn is not None and not history.diverged:
        evaluate(history.steps[-1])
    model.train(False)
    return history


def _check_fit_args(
    model: object,
    get_batch: object,
    steps: object,
    lr: float,
    optimizer: object,
    clip_grad_norm: float | None,
    eval_every: object,
) -> list[nn.Parameter]:
    """The guards of :func:`fit`; returns the trainable parameters."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(get_batch):
        raise TypeError("get_batch must be callable: get_batch(step) -> batch")
    check_positive_int(steps, "steps")
    if not isinstance(eval_every, int) or eval_every < 0:
        raise ValueError(f"eval_every must be a non-negative int, got {eval_every!r}")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"clip_grad_norm must be positive or None, got {clip_grad_norm!r}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    if optimizer is None and not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    return params
