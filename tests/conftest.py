"""Shared test setup: one torch thread (as in the notebooks) and a non-interactive backend."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest

from seqnotes import set_threads

set_threads(1)


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")
