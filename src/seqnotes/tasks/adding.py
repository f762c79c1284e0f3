"""Synthetic long-range tasks: the adding problem (Hochreiter & Schmidhuber, 1997).

Every input is a sequence of ``T`` pairs ``(value, marker)``: ``value ~ U[0, 1)`` and exactly
two positions carry ``marker = 1``, one in the first half of the sequence and one in the
second half (the form used in most papers since). The target is the sum of the two marked
values. The first marked value has to survive at least ``T / 2`` steps to reach the output
at the end.

A model that ignores the input and always predicts the mean, 1, has mean squared error
``Var(u1 + u2) = 2 / 12 = 1/6`` (:data:`BASELINE_MSE`): an error at that level means "has
learned nothing about the marked values". Remembering only the second value gives
``Var(u1) = 1/12``.

This is the task of Chapters 2 and 3 (notes line 9: "아주 먼 과거의 데이터가 소실 됨" made
measurable; line 13: "어떻게 long term dep을 해결했는가?"). The models and trainers that learn
it live in :mod:`seqnotes.models.recurrent` and :mod:`seqnotes.training.adding`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from seqnotes.utils import check_positive_int

__all__ = ["BASELINE_MSE", "adding_batches", "adding_problem"]


BASELINE_MSE = 1.0 / 6.0  # MSE of always predicting E[u1 + u2] = 1


def adding_problem(n: int, seq_len: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` adding-problem examples of length ``seq_len`` (>= 2).

    Returns ``(x (n, T, 2), y (n,))``: ``x[..., 0]`` the values, ``x[..., 1]`` the markers
    (a one at a random position in ``[0, T // 2)`` and another in ``[T // 2, T)``), and ``y``
    the sum of the two marked values. Deterministic for a given ``generator`` state.
    """
    check_positive_int(n, "n")
    if not isinstance(seq_len, int) or isinstance(seq_len, bool) or seq_len < 2:
        raise ValueError(f"seq_len must be an int >= 2, got {seq_len!r}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    half = seq_len // 2
    values = torch.rand(n, seq_len, generator=generator)  # (n, T)
    first = torch.randint(0, half, (n,), generator=generator)  # (n,): in the first half
    second = torch.randint(half, seq_len, (n,), generator=generator)  # (n,): in the second half
    markers = torch.zeros(n, seq_len)  # (n, T)
    rows = torch.arange(n)  # (n,)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]  # (n,)
    x = torch.stack([values, markers], dim=-1)  # (n, T, 2)
    return x, y


def adding_batches(
    seq_len: int, batch_size: int, generator: torch.Generator
) -> Callable[[int], tuple[torch.Tensor, torch.Tensor]]:
    """A ``get_batch(step)`` for :func:`seqnotes.training.loop.fit`: fresh examples every step."""

    def get_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        return adding_problem(batch_size, seq_len, generator)

    return get_batch
