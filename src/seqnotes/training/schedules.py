"""Learning-rate schedules every network of the book shares (Chapters 2-5; notes line 9: "계속 학습").

:func:`warmup_cosine` (linear warm-up, then cosine decay) trains the Transformers and every
network of Chapter 5's comparison; :func:`step_decay` (divide by 10 once) the adding-problem
models of Chapters 2 and 3.
"""

from __future__ import annotations

import math

import torch

from seqnotes.utils import check_positive_int

__all__ = ["step_decay", "warmup_cosine"]


def warmup_cosine(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Learning-rate schedule: linear warm-up for ``warmup_steps``, then cosine decay to 0.

    The paper warms up too (then decays with ``1/sqrt(step)``); without a warm-up a post-LN
    Transformer easily diverges at a large learning rate. Step it once per optimiser step.
    """
    check_positive_int(total_steps, "total_steps")
    if not isinstance(warmup_steps, int) or not 0 <= warmup_steps < total_steps:
        raise ValueError(
            f"warmup_steps must be an int in [0, total_steps={total_steps}), got {warmup_steps!r}"
        )

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def step_decay(
    optimizer: torch.optim.Optimizer, steps: int, decay_at: float | None = 0.8
) -> torch.optim.lr_scheduler.MultiStepLR:
    """Divide the learning rate by 10 once, after ``decay_at * steps`` steps (never if None).

    The final error is then not a snapshot of a noisy step. Step it once per optimiser step.
    """
    milestones = [max(1, int(decay_at * steps))] if decay_at is not None else []
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=0.1)
