"""seqnotes: the runnable code of the book 시퀀스 모델 강의 노트.

Every chapter imports its models, data and figures from here; nothing is re-typed in a
notebook. Start a notebook with :func:`book_setup`.
"""

from __future__ import annotations

from seqnotes.utils import (
    count_parameters,
    make_generator,
    seed_everything,
    seed_offset,
    set_threads,
    show_source,
)

__all__ = [
    "__version__",
    "book_setup",
    "count_parameters",
    "make_generator",
    "seed_everything",
    "seed_offset",
    "set_threads",
    "show_source",
]

__version__ = "0.1.0"


def book_setup(seed: int = 0, threads: int = 1) -> None:
    """What every notebook calls first: one torch thread, fixed seeds, the figure style.

    One thread keeps two notebooks run side by side from slowing each other down on a
    2-core machine and makes printed numbers identical on every re-run on one machine.
    The seeds are ``seed`` plus :func:`seed_offset` (environment variable ``SEQNOTES_SEED``).
    """
    from seqnotes.plotting import use_book_style

    set_threads(threads)
    seed_everything(seed)
    use_book_style()
