"""Helpers several test files share: a structured toy text and a figure check without missing glyphs."""

from __future__ import annotations

import logging
import warnings

import torch

from seqnotes.style import use_book_style


def structured_ids(n: int = 400, seed: int = 0, vocab_size: int = 6) -> torch.Tensor:
    """A text with structure: symbol t+1 mostly follows symbol t, over symbols 1..V-1."""
    g = torch.Generator().manual_seed(seed)
    v = vocab_size
    steps = torch.where(torch.rand(n, generator=g) < 0.7, 1, torch.randint(0, v - 1, (n,), generator=g))
    return 1 + torch.cumsum(steps, 0) % (v - 1)  # (n,) in 1..V-1


def texts(ax) -> list[str]:
    """Every text artist's string on ``ax``."""
    return [t.get_text() for t in ax.texts]


def draw_without_missing_glyphs(draw, **kwargs):
    """Call ``draw``, render the figure, and fail on any missing glyph.

    Plain text warns "Glyph ... missing from font(s)"; mathtext logs "does not have a glyph".
    """
    use_book_style()
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("matplotlib")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ax = draw(**kwargs)
            ax.figure.canvas.draw()
    finally:
        logger.removeHandler(handler)
    messages = [str(w.message) for w in caught] + records
    missing = [m for m in messages if "glyph" in m.lower()]
    assert not missing, missing
    return ax
