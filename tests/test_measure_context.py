"""seqnotes.measure.context: target probabilities, the bracket probe and context sensitivity."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from seqnotes.measure.context import context_sensitivity
from seqnotes.models.lm import (
    LanguageModel,
    RecurrentLM,
    RecurrentLMConfig,
    evaluate,
)
from seqnotes.models.ngram import NGramLM

from .helpers import structured_ids as _ids

V = 6


class Constant(LanguageModel):
    """Ignores its input: the same learned distribution at every position."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.bias = nn.Parameter(torch.randn(vocab_size, generator=torch.Generator().manual_seed(3)))

    def forward(self, idx, targets=None):
        self.check_inputs(idx, targets)
        logits = self.bias.expand(*idx.shape, self.vocab_size)  # (B, T, V)
        return logits, self.lm_loss(logits, targets)


class Unbounded(LanguageModel):
    """Wraps a model and hides its context_size: forward always sees the whole window."""

    def __init__(self, inner: LanguageModel) -> None:
        super().__init__()
        self.inner, self.vocab_size = inner, inner.vocab_size

    def forward(self, idx, targets=None):
        return self.inner(idx, targets)


def _small_lm() -> RecurrentLM:
    torch.manual_seed(0)
    return RecurrentLM(RecurrentLMConfig(vocab_size=V, embed_dim=4, hidden_size=8, cell="rnn"))


def test_target_probs_agree_with_evaluate_and_brackets_are_counted_in_window() -> None:
    from seqnotes.measure.context import closing_bracket_probs, target_probs
    from seqnotes.models.ngram import NGramLM

    ids = torch.tensor([0, 1, 2, 3, 2, 1, 1, 3, 0, 1, 2, 2, 3, 3, 1, 0, 2, 3, 1, 1, 0])  # 1 = "(", 3 = ")"
    model = NGramLM(4, order=2, k=0.5).fit(ids)
    p = target_probs(model, ids, block_size=5)  # (4, 5)
    assert p.shape == (4, 5)
    assert math.exp(-float(p.log().mean())) == pytest.approx(evaluate(model, ids, block_size=5)["perplexity"])
    d, probs = closing_bracket_probs(model, ids, open_id=1, close_id=3, block_size=5)
    # pairs (open, close): (1, 3), (6, 7), (9, 12), (5, 13), (14, 17). Position j is predicted in
    # window (j - 1) // 5; only pairs whose opening bracket lies in that window count: (1, 3), (6, 7).
    assert d.tolist() == [2, 1]
    assert probs.tolist() == pytest.approx([float(p.flatten()[j - 1]) for j in (3, 7)])
    with pytest.raises(ValueError, match="differ"):
        closing_bracket_probs(model, ids, open_id=1, close_id=1)


def test_ngram_sensitivity_is_exactly_zero_beyond_its_context() -> None:
    ids = _ids(600)
    model = NGramLM(V, order=3, k=0.1).fit(ids)
    tv = context_sensitivity(
        model, ids, [1, 2, 3, 5, 16], window=16, positions=64, generator=torch.Generator().manual_seed(0)
    )
    assert tv.shape == (5,) and tv.dtype == torch.float64
    assert bool((tv[:2] > 0.01).all()) and bool((tv[2:] == 0).all())


def test_cropping_to_the_context_size_changes_nothing_for_an_ngram() -> None:
    ids = _ids(600)
    model = NGramLM(V, order=3, k=0.1).fit(ids)
    args = {"window": 12, "positions": 32}
    cropped = context_sensitivity(
        model, ids, [1, 2, 3, 12], generator=torch.Generator().manual_seed(4), **args
    )
    whole = context_sensitivity(
        Unbounded(model), ids, [1, 2, 3, 12], generator=torch.Generator().manual_seed(4), **args
    )
    assert torch.allclose(cropped, whole, atol=1e-12)


def test_sensitivity_of_a_model_that_ignores_its_input_is_zero() -> None:
    tv = context_sensitivity(
        Constant(V), _ids(), [1, 4], window=8, positions=16, generator=torch.Generator().manual_seed(0)
    )
    assert bool((tv == 0).all())


def test_recurrent_sensitivity_is_positive_and_reproducible() -> None:
    model = _small_lm()
    model.train()
    args = {"window": 24, "positions": 32}
    a = context_sensitivity(model, _ids(), [1, 8, 24], generator=torch.Generator().manual_seed(1), **args)
    b = context_sensitivity(model, _ids(), [1, 8, 24], generator=torch.Generator().manual_seed(1), **args)
    assert torch.equal(a, b) and bool((a > 0).all()) and a[0] > a[2]
    assert model.training  # the mode is restored


def test_sensitivity_rejects_bad_arguments() -> None:
    model, ids, g = Constant(V), _ids(), torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match=r"ids must have shape \(N,\)"):
        context_sensitivity(model, ids.view(20, 20), [1], window=8, generator=g)
    with pytest.raises(ValueError, match=r"every distance must be in \[1, window=8\]"):
        context_sensitivity(model, ids, [0, 9], window=8, generator=g)
    with pytest.raises(TypeError, match="sequence of ints"):
        context_sensitivity(model, ids, [1.5], window=8, generator=g)
    with pytest.raises(ValueError, match="need at least window"):
        context_sensitivity(model, ids[:8], [1], window=8, generator=g)
    with pytest.raises(ValueError, match="window must be a positive int"):
        context_sensitivity(model, ids, [1], window=0, generator=g)
    with pytest.raises(ValueError, match="positions must be a positive int"):
        context_sensitivity(model, ids, [1], window=8, positions=0, generator=g)
    with pytest.raises(TypeError, match="torch.Generator"):
        context_sensitivity(model, ids, [1], window=8, generator=0)
    with pytest.raises(ValueError, match="two different symbols"):
        context_sensitivity(model, torch.ones(50, dtype=torch.long), [1], window=8, generator=g)
