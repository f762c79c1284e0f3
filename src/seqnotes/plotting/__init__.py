"""Figures of every chapter (Chapters 0-5): matrices (:mod:`.matrices`) and curves (:mod:`.curves`).

The chapters import every plotting helper from here; the Korean font, the book's style and
its one colour per model (:data:`MODEL_COLORS`) are :mod:`seqnotes.style`.
"""

from seqnotes.plotting import curves, matrices
from seqnotes.plotting.curves import *  # noqa: F403
from seqnotes.plotting.matrices import *  # noqa: F403
from seqnotes.style import MODEL_COLORS

__all__ = ["MODEL_COLORS", *curves.__all__, *matrices.__all__]
