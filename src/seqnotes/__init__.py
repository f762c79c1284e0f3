"""seqnotes: the runnable code of the book 시퀀스 모델 강의 노트.

Every chapter imports its models, data and figures from here; nothing is re-typed in a
notebook. Start a notebook with :func:`book_setup`. The package's rooms:

- :mod:`seqnotes.models`: the lecture's models (n-gram, RNN, LSTM/GRU, attention,
  Transformer) and the language-model interface they share;
- :mod:`seqnotes.measure`: the chapters' measurements (gradients by distance, timing,
  context, graph depth and memory, text statistics, a trained reader or unit);
- :mod:`seqnotes.tasks`: data (the Korean corpus, the adding problem, numbers -> Korean);
- :mod:`seqnotes.training`: the training loop, schedules and every chapter's recipe;
- :mod:`seqnotes.plotting`, :mod:`seqnotes.diagrams`, :mod:`seqnotes.utils`: figures and helpers.
"""

from __future__ import annotations

from seqnotes import utils
from seqnotes.utils import *  # noqa: F403  (book_setup, make_generator, seed_everything, show_source, ...)

__all__ = ["__version__", *utils.__all__]

__version__ = "0.1.0"
