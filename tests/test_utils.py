"""seqnotes.utils: seeds, threads, checks, show_source and the summary over seeds."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from seqnotes import (
    book_setup,
    count_parameters,
    make_generator,
    seed_everything,
    seed_offset,
    set_threads,
    show_source,
)
from seqnotes.utils import check_tensor, seed_summary


def test_seed_everything_makes_every_generator_repeat() -> None:
    def draw():
        return random.random(), np.random.rand(), torch.randn(3)

    seed_everything(123)
    a = draw()
    seed_everything(123)
    b = draw()
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])


def test_seed_everything_returns_a_seeded_generator() -> None:
    g1, g2 = seed_everything(7), seed_everything(7)
    assert torch.equal(torch.rand(4, generator=g1), torch.rand(4, generator=g2))


@pytest.mark.parametrize("bad", [-1, 2**32])
def test_seed_everything_rejects_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError, match="seed must be in"):
        seed_everything(bad)


def test_seed_offset_shifts_every_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEQNOTES_SEED", raising=False)
    assert seed_offset() == 0
    base = torch.rand(4, generator=make_generator(5))
    monkeypatch.setenv("SEQNOTES_SEED", "3")
    assert seed_offset() == 3
    assert torch.equal(torch.rand(4, generator=make_generator(2)), base)  # 2 + 3 == 5
    assert torch.equal(torch.rand(4, generator=seed_everything(2)), base)
    assert not torch.equal(torch.rand(4, generator=make_generator(5)), base)


@pytest.mark.parametrize("bad", ["x", "-1", "1.5"])
def test_seed_offset_rejects_bad_environment(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("SEQNOTES_SEED", bad)
    with pytest.raises(ValueError, match="SEQNOTES_SEED must be"):
        seed_offset()


def test_seed_everything_rejects_non_int() -> None:
    with pytest.raises(TypeError, match="seed must be an int"):
        seed_everything(1.5)  # type: ignore[arg-type]


def test_set_threads() -> None:
    set_threads(1)
    assert torch.get_num_threads() == 1
    with pytest.raises(ValueError, match="positive int"):
        set_threads(0)


def test_count_parameters() -> None:
    model = nn.Linear(3, 2)
    assert count_parameters(model) == 8
    model.bias.requires_grad_(False)
    assert count_parameters(model) == 6
    assert count_parameters(model, trainable_only=False) == 8
    with pytest.raises(TypeError):
        count_parameters("model")  # type: ignore[arg-type]


def test_check_tensor_accepts_and_names_the_expected_shape() -> None:
    x = torch.zeros(2, 5, 3)
    assert check_tensor(x, "x", ("B", "T", 3)) is x
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 4\).*got \(2, 5, 3\)"):
        check_tensor(x, "x", ("B", "T", 4))
    with pytest.raises(ValueError, match=r"\(B, T\) \(2 dims\)"):
        check_tensor(x, "x", ("B", "T"))
    with pytest.raises(ValueError, match="inconsistent B"):
        check_tensor(torch.zeros(2, 3), "m", ("B", "B"))
    with pytest.raises(TypeError, match="torch.Tensor"):
        check_tensor([1, 2], "x", (None,))
    with pytest.raises(TypeError, match="dtype torch.int64"):
        check_tensor(x, "x", (None, None, None), dtype=torch.long)


def test_show_source_returns_markdown_code_block() -> None:
    md = show_source(seed_everything)
    assert md.data.startswith("```python\ndef seed_everything(")
    assert md.data.endswith("```")
    with pytest.raises(TypeError, match="function, class or module"):
        show_source(3)


def test_book_setup_sets_threads_seed_and_korean_font() -> None:
    import matplotlib as mpl

    book_setup(seed=3)
    assert torch.get_num_threads() == 1
    assert "NanumGothic" in mpl.rcParams["font.family"]
    first = torch.rand(2)
    book_setup(seed=3)
    assert torch.equal(first, torch.rand(2))


def test_seed_summary() -> None:
    assert seed_summary([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0}
    assert seed_summary([4, 1, 2, 3])["median"] == 2.5
    with pytest.raises(ValueError, match="non-empty sequence of finite numbers"):
        seed_summary([])
    with pytest.raises(ValueError, match="finite"):
        seed_summary([1.0, float("nan")])


def test_show_source_can_leave_out_methods_of_a_class() -> None:
    from seqnotes.models.attention import MultiHeadAttention
    from seqnotes.utils import show_source

    full = show_source(MultiHeadAttention).data
    short = show_source(MultiHeadAttention, skip=["from_torch"]).data
    assert "def from_torch" in full and "def from_torch" not in short and "@classmethod" not in short
    assert "# from_torch: left out here" in short and "def forward" in short
    assert short.startswith("```python\nclass MultiHeadAttention") and short.endswith("\n```")
    with pytest.raises(ValueError, match="no method 'nope'"):
        show_source(MultiHeadAttention, skip=["nope"])
    with pytest.raises(TypeError, match="skip needs a class"):
        show_source(show_source, skip=["x"])
