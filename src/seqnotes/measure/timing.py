"""Wall-clock measurements (Chapters 3, 4.1 and 5; notes lines 22-24: "parallel").

:func:`best_time` times one computation, :func:`num_threads` lends it more threads, and
:func:`time_forward_backward` times layers side by side. Timings vary from run to run: the
chapters use them for ratios and check them with loose asserts only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from seqnotes.utils import check_positive_int

__all__ = ["best_time", "num_threads", "time_forward_backward"]


def best_time(fn: Callable[[], object], repeats: int = 5) -> float:
    """The shortest wall-clock time of ``repeats`` calls of ``fn()``, in milliseconds.

    The minimum, not the mean: other processes can only make a run slower, so the shortest
    run is the best estimate of what the computation itself costs.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable taking no arguments, got {type(fn).__name__}")
    check_positive_int(repeats, "repeats")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


@contextmanager
def num_threads(n: int) -> Iterator[int]:
    """Let torch use ``n`` intra-op threads inside the ``with`` block, then restore the old number.

    The book runs on one thread (``book_setup``); this lets one measurement use what a
    multi-core machine offers without changing the rest of the notebook.
    """
    check_positive_int(n, "n")
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(old)


def time_forward_backward(
    layers: dict[str, nn.Module], x: torch.Tensor, *, repeats: int = 20, rounds: int = 3
) -> dict[str, float]:
    """Seconds per forward + backward pass of every layer on ``x (B, T, D)``, side by side.

    Each round times ``repeats`` passes of every layer in turn (interleaved, so that a busy
    machine slows them alike); the result is the fastest round of each layer. The loss is
    the sum of the outputs. Timings vary from run to run: use them for ratios, not digits.
    """

    if not layers:
        raise ValueError("layers must name at least one module")
    best = {name: float("inf") for name in layers}
    for _ in range(rounds):
        for name, layer in layers.items():
            start = time.perf_counter()
            for _ in range(repeats):
                out, _ = layer(x)  # (B, T, H)
                out.sum().backward()
            best[name] = min(best[name], (time.perf_counter() - start) / repeats)
    return best
