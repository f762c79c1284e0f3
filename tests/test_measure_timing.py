"""seqnotes.measure.timing: timing helpers."""

from __future__ import annotations

import pytest
import torch

from seqnotes.measure.timing import best_time, num_threads


def test_best_time_is_the_minimum_in_ms() -> None:
    calls = []
    ms = best_time(lambda: calls.append(1), repeats=3)
    assert len(calls) == 3 and 0 <= ms < 1000
    with pytest.raises(TypeError, match="callable"):
        best_time(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="repeats must be a positive int"):
        best_time(lambda: None, repeats=0)


def test_num_threads_restores_the_old_number() -> None:
    old = torch.get_num_threads()
    with num_threads(2) as n:
        assert n == 2 and torch.get_num_threads() == 2
    assert torch.get_num_threads() == old
    with pytest.raises(RuntimeError), num_threads(2):
        raise RuntimeError("restored even on error")
    assert torch.get_num_threads() == old
    with pytest.raises(ValueError, match="n must be a positive int"):
        with num_threads(0):
            pass


def test_time_forward_backward_times_every_layer() -> None:
    from seqnotes.measure.timing import time_forward_backward
    from seqnotes.models.recurrent import RNN

    layers = {"a": RNN(2, 3), "b": torch.nn.RNN(2, 3, batch_first=True)}
    times = time_forward_backward(layers, torch.randn(2, 4, 2), repeats=2, rounds=2)
    assert set(times) == {"a", "b"} and all(0 < t < 10 for t in times.values())
    with pytest.raises(ValueError, match="at least one"):
        time_forward_backward({}, torch.randn(2, 4, 2))
