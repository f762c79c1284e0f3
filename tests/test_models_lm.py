"""seqnotes.models.lm: the language-model interface, evaluate/generate, the recurrent LM config and
factory, interpolation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from seqnotes.models.gated import LSTM
from seqnotes.models.lm import (
    InterpolatedLM,
    LanguageModel,
    RecurrentLM,
    RecurrentLMConfig,
    evaluate,
    generate,
    make_lm,
    make_recurrent,
    sample_text,
)
from seqnotes.models.ngram import NGramLM
from seqnotes.models.recurrent import SequenceRegressor
from seqnotes.tasks.corpus import CharVocab
from seqnotes.training.adding import train_adding

from .helpers import structured_ids as _ids


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


ATOL = 1e-5


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = ATOL) -> None:
    torch.testing.assert_close(a, b, atol=tol, rtol=tol)


V = 6


def _ngrams() -> tuple[NGramLM, NGramLM, NGramLM]:
    counts = NGramLM(V, order=3, k=0.1).fit(_ids())
    return counts.with_order(1), counts.with_order(2), counts


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


def test_generate_checks_the_prompt_once_not_at_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    import seqnotes.models.lm as lm

    model, checked = Bigram(6), []
    real = lm.check_tensor
    monkeypatch.setattr(
        lm, "check_tensor", lambda t, name, *a, **k: checked.append(name) or real(t, name, *a, **k)
    )
    generate(model, torch.zeros(2, 1, dtype=torch.long), 7, generator=torch.Generator().manual_seed(0))
    assert checked == ["idx", "idx"] and model.check_every_call  # generate's and check_inputs', once each
    with pytest.raises(ValueError, match=r"in \[0, 6\)"):
        generate(model, torch.full((1, 2), 6), 3)  # a bad prompt is still caught
    with pytest.raises(ValueError, match=r"in \[0, 6\)"):
        model(torch.full((1, 2), 6))


def test_sample_text_round_trips_through_the_vocab() -> None:
    vocab = CharVocab("가나다")
    torch.manual_seed(0)
    model = Bigram(len(vocab))
    text = sample_text(model, vocab, "가", 8, seed=2)
    assert len(text) == 9 and text.startswith("가")
    assert text == sample_text(model, vocab, "가", 8, seed=2)


def test_rnn_language_model_interface() -> None:
    torch.manual_seed(5)
    model = RecurrentLM(RecurrentLMConfig(vocab_size=11, embed_dim=8, hidden_size=16, cell="rnn"))
    idx = torch.randint(0, 11, (2, 7))
    logits, loss = model(idx, idx)
    assert logits.shape == (2, 7, 11) and loss is not None and loss.ndim == 0
    assert model(idx)[1] is None
    # causal: changing a later symbol does not change earlier logits
    idx2 = idx.clone()
    idx2[:, -1] = (idx2[:, -1] + 1) % 11
    torch.testing.assert_close(model(idx2)[0][:, :-1], logits[:, :-1])
    result = evaluate(model, torch.randint(0, 11, (200,)), block_size=16)
    assert 5 < result["perplexity"] < 30  # roughly uniform before training
    with pytest.raises(ValueError, match=r"idx values must be in \[0, 11\)"):
        model(torch.full((1, 3), 11))


def test_make_recurrent_implementations_agree_in_shape() -> None:
    x = torch.randn(2, 5, 2)
    for kind in ("rnn", "lstm", "gru"):
        for impl in ("seqnotes", "torch"):
            out, _ = make_recurrent(kind, 2, 6, impl)(x)
            assert out.shape == (2, 5, 6)
    with pytest.raises(ValueError, match="kind must be"):
        make_recurrent("transformer", 2, 6)
    with pytest.raises(ValueError, match="impl must be"):
        make_recurrent("lstm", 2, 6, impl="jax")
    model = SequenceRegressor(LSTM(2, 6), 6)
    assert model(x)[0].shape == (2,)
    result = train_adding("lstm", 6, steps=20, hidden_size=8, batch_size=16, n_test=64, forget_bias=1.0)
    assert result.history.steps[-1] == 20


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_language_models_interface(cell) -> None:
    torch.manual_seed(4)
    model = make_lm(RecurrentLMConfig(vocab_size=9, cell=cell, embed_dim=8, hidden_size=12))
    idx = torch.randint(0, 9, (2, 6))
    logits, loss = model(idx, idx)
    assert logits.shape == (2, 6, 9) and loss is not None and loss.ndim == 0
    idx2 = idx.clone()
    idx2[:, -1] = (idx2[:, -1] + 1) % 9
    _close(model(idx2)[0][:, :-1], logits[:, :-1])  # causal
    assert 4 < evaluate(model, torch.randint(0, 9, (100,)), block_size=10)["perplexity"] < 20


def test_interpolation_mixes_probabilities() -> None:
    models = _ngrams()
    weights = (0.2, 0.3, 0.5)
    mix = InterpolatedLM(models, weights)
    idx = _ids(40, seed=1).view(4, 10)  # (B, T)
    logits, loss = mix(idx, idx)
    expected = sum(w * m(idx)[0].double().exp() for m, w in zip(models, weights, strict=True))  # (B, T, V)
    assert torch.allclose(logits.double().exp(), expected, atol=1e-6)
    assert torch.allclose(logits.exp().sum(-1), torch.ones(4, 10), atol=1e-5)
    assert loss is not None and mix.vocab_size == V and mix.context_size == 2


def test_interpolation_is_never_worse_than_the_average_loss() -> None:
    models = _ngrams()
    weights = (0.2, 0.3, 0.5)
    val = _ids(300, seed=2)
    mixed = evaluate(InterpolatedLM(models, weights), val, block_size=32)["loss"]
    losses = [evaluate(m, val, block_size=32)["loss"] for m in models]
    assert mixed <= sum(w * loss for w, loss in zip(weights, losses, strict=True)) + 1e-9  # -log is convex


def test_interpolation_of_one_model_is_that_model() -> None:
    model = _ngrams()[2]
    idx = _ids(30, seed=3).view(3, 10)
    assert torch.allclose(InterpolatedLM([model], [1.0])(idx)[0], model(idx)[0], atol=1e-6)


def test_interpolation_context_is_unbounded_with_a_recurrent_member() -> None:
    rnn = RecurrentLM(RecurrentLMConfig(vocab_size=V, embed_dim=4, hidden_size=8, cell="rnn"))
    mix = InterpolatedLM([_ngrams()[2], rnn], [0.5, 0.5])
    assert mix.context_size is None
    assert len(list(mix.parameters())) == len(list(rnn.parameters()))
    vocab = CharVocab("abcde")
    assert sample_text(mix, vocab, "ab", 8, seed=1) == sample_text(mix, vocab, "ab", 8, seed=1)


def test_interpolation_rejects_bad_arguments() -> None:
    a, b, _ = _ngrams()
    with pytest.raises(ValueError, match="at least one"):
        InterpolatedLM([], [])
    with pytest.raises(TypeError, match="LanguageModel"):
        InterpolatedLM([nn.Linear(2, 2)], [1.0])
    with pytest.raises(ValueError, match="one weight per model"):
        InterpolatedLM([a, b], [1.0])
    with pytest.raises(ValueError, match="sum to 1"):
        InterpolatedLM([a, b], [0.5, 0.6])
    with pytest.raises(ValueError, match="positive"):
        InterpolatedLM([a, b], [1.5, -0.5])
    with pytest.raises(TypeError, match="numbers"):
        InterpolatedLM([a, b], ["0.5", "0.5"])
    with pytest.raises(ValueError, match="vocabulary size"):
        InterpolatedLM([a, NGramLM(V + 1, order=2).fit(_ids())], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"idx must have shape \(B, T\)"):
        InterpolatedLM([a, b], [0.5, 0.5])(torch.zeros(3, dtype=torch.long))
