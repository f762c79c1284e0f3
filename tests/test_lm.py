from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from seqnotes.models.lm import LanguageModel, evaluate, generate, sample_text
from seqnotes.tasks.corpus import CharVocab


class Uniform(LanguageModel):
    """Every symbol equally likely: perplexity must equal the vocabulary size."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, idx, targets=None):
        self.check_inputs(idx, targets)
        logits = torch.zeros(*idx.shape, self.vocab_size) + 0 * self.dummy  # (B, T, V)
        return logits, self.lm_loss(logits, targets)


class Bigram(LanguageModel):
    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.table = nn.Embedding(vocab_size, vocab_size)

    def forward(self, idx, targets=None):
        self.check_inputs(idx, targets)
        logits = self.table(idx)  # (B, T, V)
        return logits, self.lm_loss(logits, targets)


def test_uniform_model_has_perplexity_equal_to_vocab_size() -> None:
    result = evaluate(Uniform(17), torch.randint(0, 17, (500,)), block_size=16)
    assert math.isclose(result["perplexity"], 17, rel_tol=1e-6)
    assert math.isclose(result["loss"], math.log(17), rel_tol=1e-6)


def test_check_inputs_names_the_expected_shape() -> None:
    model = Uniform(5)
    with pytest.raises(ValueError, match=r"idx must have shape \(B, T\)"):
        model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="dtype torch.int64"):
        model(torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"in \[0, 5\)"):
        model(torch.full((1, 3), 5))
    with pytest.raises(ValueError, match="targets must have shape"):
        model(torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 4, dtype=torch.long))


def test_generate_is_reproducible_and_greedy_is_deterministic() -> None:
    torch.manual_seed(0)
    model = Bigram(6)
    start = torch.zeros(2, 1, dtype=torch.long)
    a = generate(model, start, 10, generator=torch.Generator().manual_seed(1))
    b = generate(model, start, 10, generator=torch.Generator().manual_seed(1))
    assert a.shape == (2, 11) and torch.equal(a, b)
    g1 = generate(model, start, 5, temperature=0)
    assert torch.equal(g1, generate(model, start, 5, temperature=0))
    top1 = generate(model, start, 5, top_k=1, generator=torch.Generator().manual_seed(3))
    assert torch.equal(top1, g1)
    with pytest.raises(ValueError, match="at least one symbol"):
        generate(model, torch.zeros(1, 0, dtype=torch.long), 3)
    with pytest.raises(ValueError, match="temperature"):
        generate(model, start, 3, temperature=-1)


def test_sample_text_round_trips_through_the_vocab() -> None:
    vocab = CharVocab("가나다")
    torch.manual_seed(0)
    model = Bigram(len(vocab))
    text = sample_text(model, vocab, "가", 8, seed=2)
    assert len(text) == 9 and text.startswith("가")
    assert text == sample_text(model, vocab, "가", 8, seed=2)
