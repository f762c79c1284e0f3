"""seqnotes.tasks.adding: the adding problem and its baseline."""

from __future__ import annotations

import math

import pytest
import torch

from seqnotes.tasks.adding import BASELINE_MSE, adding_batches, adding_problem


def test_adding_problem_properties() -> None:
    x, y = adding_problem(500, 20, torch.Generator().manual_seed(0))
    assert x.shape == (500, 20, 2) and y.shape == (500,) and x.dtype == torch.float32
    values, markers = x[..., 0], x[..., 1]
    assert float(values.min()) >= 0.0 and float(values.max()) < 1.0
    assert set(markers.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(markers.sum(dim=1), torch.full((500,), 2.0))  # exactly two markers
    assert torch.equal(markers[:, :10].sum(dim=1), torch.ones(500))  # one in each half
    assert torch.equal(markers[:, 10:].sum(dim=1), torch.ones(500))
    torch.testing.assert_close(y, (values * markers).sum(dim=1))
    assert bool((markers.sum(dim=0) > 0).all())  # every position gets marked sometimes


def test_adding_problem_is_deterministic_and_the_baseline_is_one_sixth() -> None:
    a = adding_problem(100, 8, torch.Generator().manual_seed(7))
    b = adding_problem(100, 8, torch.Generator().manual_seed(7))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    _, y = adding_problem(50_000, 6, torch.Generator().manual_seed(1))
    assert abs(float(((y - 1.0) ** 2).mean()) - BASELINE_MSE) < 0.005
    assert math.isclose(BASELINE_MSE, 1 / 6)
    batch = adding_batches(12, 4, torch.Generator().manual_seed(0))(0)
    assert batch[0].shape == (4, 12, 2) and batch[1].shape == (4,)


def test_adding_problem_rejects_bad_arguments() -> None:
    gen = torch.Generator()
    with pytest.raises(ValueError, match="seq_len must be an int >= 2"):
        adding_problem(3, 1, gen)
    with pytest.raises(ValueError, match="n must be a positive int"):
        adding_problem(0, 10, gen)
    with pytest.raises(TypeError, match="torch.Generator"):
        adding_problem(3, 10, 0)  # type: ignore[arg-type]
