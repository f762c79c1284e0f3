"""Reproducibility and small helpers shared by every chapter (Chapters 0-5; no line of the notes).

Every notebook starts with :func:`book_setup`, which calls :func:`set_threads`
and :func:`seed_everything` so that a re-run on the same machine prints the same numbers.

Seeds: every random draw in the book goes through :func:`seed_everything` or
:func:`make_generator`, both of which add the *seed offset* read from the environment
variable ``SEQNOTES_SEED`` (default 0). The stored outputs are written with offset 0;
``make test`` also runs every notebook with another offset, as a student's different run
would, and every claim (assert) must still hold.
"""

from __future__ import annotations

import ast
import inspect
import math
import os
import random
import textwrap
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

__all__ = [
    "book_setup",
    "check_positive_int",
    "check_tensor",
    "count_parameters",
    "make_generator",
    "seed_everything",
    "seed_offset",
    "seed_summary",
    "set_threads",
    "show_source",
]


def book_setup(seed: int = 0, threads: int = 1) -> None:
    """What every notebook calls first: one torch thread, fixed seeds, the figure style.

    One thread keeps two notebooks run side by side from slowing each other down on a
    2-core machine and makes printed numbers identical on every re-run on one machine.
    The seeds are ``seed`` plus :func:`seed_offset` (environment variable ``SEQNOTES_SEED``).
    """
    from seqnotes.style import use_book_style

    set_threads(threads)
    seed_everything(seed)
    use_book_style()


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` if it is an int >= 1 (not a bool); else raise a ``ValueError`` naming it."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def set_threads(n: int = 1) -> None:
    """Use ``n`` intra-op threads in torch (and ask BLAS/OpenMP for the same).

    On a 2-core machine two torch processes with 2 threads each slow each other down by
    orders of magnitude, and a different thread count changes the last digits of sums.
    The book therefore runs every notebook and test with one thread.
    """
    check_positive_int(n, "n")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    torch.set_num_threads(n)
    try:  # may only be set once, before any inter-op parallel work has started
        torch.set_num_interop_threads(n)
    except RuntimeError:
        pass


def seed_offset() -> int:
    """The seed offset from the environment variable ``SEQNOTES_SEED`` (0 when unset).

    Every seed in the book is ``offset + k``: the stored outputs use offset 0, and setting
    ``SEQNOTES_SEED=1`` re-runs every chapter with different random draws.
    """
    raw = os.environ.get("SEQNOTES_SEED", "").strip()
    if not raw:
        return 0
    try:
        offset = int(raw)
    except ValueError:
        raise ValueError(f"SEQNOTES_SEED must be a non-negative integer, got {raw!r}") from None
    if not 0 <= offset < 2**31:
        raise ValueError(f"SEQNOTES_SEED must be in [0, 2**31), got {offset}")
    return offset


def _check_seed(seed: object) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**31:
        raise ValueError(f"seed must be in [0, 2**31), got {seed}")
    return seed + seed_offset()


def make_generator(seed: int = 0) -> torch.Generator:
    """A fresh CPU ``torch.Generator`` seeded with ``seed`` plus the book's seed offset.

    Use it for every independent random stream (data, batches, sampling) so that
    ``SEQNOTES_SEED`` changes all of them at once.
    """
    return torch.Generator().manual_seed(_check_seed(seed))


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python's ``random``, NumPy and torch (CPU and CUDA) with ``seed`` plus the offset.

    Returns a fresh ``torch.Generator`` seeded with the same value, for code that wants
    its own random stream (e.g. data generation) independent of model initialisation.
    """
    full = _check_seed(seed)
    random.seed(full)
    np.random.seed(full)
    torch.manual_seed(full)  # also seeds every CUDA device
    return torch.Generator().manual_seed(full)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters of ``model``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def check_tensor(
    x: object,
    name: str,
    shape: Sequence[int | str | None],
    *,
    dtype: torch.dtype | Sequence[torch.dtype] | None = None,
) -> torch.Tensor:
    """Validate a tensor argument and raise a clear error naming the expected shape.

    ``shape`` lists one entry per dimension: an int fixes the size, a string names it
    (e.g. ``"B"``; equal names must have equal sizes) and ``None`` accepts any size.
    ``dtype`` may be one dtype or several.

    Example: ``check_tensor(x, "x", ("B", "T", 3))`` accepts any ``(B, T, 3)`` tensor.
    """
    names = ["?" if s is None else str(s) for s in shape]
    expected = f"({names[0]},)" if len(names) == 1 else "(" + ", ".join(names) + ")"
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {expected}, got {type(x).__name__}")
    if x.dim() != len(shape):
        raise ValueError(f"{name} must have shape {expected} ({len(shape)} dims), got {tuple(x.shape)}")
    sizes: dict[str, int] = {}
    for dim, (want, got) in enumerate(zip(shape, x.shape, strict=True)):
        if isinstance(want, int) and want != got:
            raise ValueError(
                f"{name} must have shape {expected}, got {tuple(x.shape)} "
                f"(dim {dim} is {got}, expected {want})"
            )
        if isinstance(want, str):
            if sizes.setdefault(want, got) != got:
                raise ValueError(
                    f"{name} must have shape {expected}, got {tuple(x.shape)} (inconsistent {want})"
                )
    if dtype is not None:
        allowed = (dtype,) if isinstance(dtype, torch.dtype) else tuple(dtype)
        if x.dtype not in allowed:
            names = " or ".join(str(d) for d in allowed)
            raise TypeError(f"{name} must have dtype {names}, got {x.dtype}")
    return x


def show_source(obj: object, skip: Sequence[str] = ()) -> object:
    """Display the source code of a function, class or module from ``seqnotes``.

    Returns an ``IPython.display.Markdown`` object holding a fenced ``python`` block, so
    Jupyter and the HTML book (through MyST) both render it highlighted. The chapters use
    it to show the very code they run. ``skip`` names methods of a class to leave out
    (e.g. ``from_torch``), each replaced by a one-line comment, so the block shows the idea.
    """
    from IPython.display import Markdown

    try:
        source = textwrap.dedent(inspect.getsource(obj))  # type: ignore[arg-type]
    except (TypeError, OSError) as err:
        raise TypeError(f"show_source needs a function, class or module, got {obj!r}") from err
    if skip:
        if not inspect.isclass(obj):
            raise TypeError(f"skip needs a class, got {obj!r}")
        lines = source.splitlines()
        methods = {n.name: n for n in ast.parse(source).body[0].body if isinstance(n, ast.FunctionDef)}
        missing = [name for name in skip if name not in methods]
        if missing:
            raise ValueError(f"{obj.__name__} has no method {missing[0]!r} to skip")
        for node in sorted((methods[name] for name in skip), key=lambda n: -n.lineno):  # bottom up
            name = node.name
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
            lines[start : node.end_lineno] = [f"{indent}# {name}: left out here (see the module)"]
        source = "\n".join(lines)
    return Markdown(f"```python\n{source.rstrip()}\n```")


def seed_summary(values: Sequence[float]) -> dict[str, float]:
    """``{"median", "min", "max"}`` of one statistic measured over several seeds."""
    values = [float(v) for v in values]
    if not values or not all(math.isfinite(v) for v in values):
        raise ValueError(f"values must be a non-empty sequence of finite numbers, got {values}")
    ordered = sorted(values)
    n = len(ordered)
    median = ordered[n // 2] if n % 2 else 0.5 * (ordered[n // 2 - 1] + ordered[n // 2])
    return {"median": median, "min": ordered[0], "max": ordered[-1]}
