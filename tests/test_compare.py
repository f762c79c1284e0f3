"""Tests for seqnotes.compare: the helpers of Chapter 5's comparison."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pytest
import torch
from torch import nn

from seqnotes.measure.context import context_sensitivity
from seqnotes.measure.gradients import input_gradient_norms
from seqnotes.measure.graph import graph_depth, saved_tensor_bytes
from seqnotes.models.attention import CausalSelfAttention, MultiHeadAttention, causal_mask
from seqnotes.models.lm import (
    InterpolatedLM,
    LanguageModel,
    RecurrentLM,
    RecurrentLMConfig,
    evaluate,
    sample_text,
)
from seqnotes.models.ngram import NGramLM
from seqnotes.models.recurrent import RNN
from seqnotes.tasks.corpus import CharVocab, lm_batches
from seqnotes.training.loop import fit
from seqnotes.training.recipes import LMRecipe, timed_fit, train_lm
from seqnotes.utils import seed_summary

V = 6


def _ids(n: int = 400, seed: int = 0) -> torch.Tensor:
    """A text with structure: symbol t+1 mostly follows symbol t, over symbols 1..V-1."""
    g = torch.Generator().manual_seed(seed)
    steps = torch.where(torch.rand(n, generator=g) < 0.7, 1, torch.randint(0, V - 1, (n,), generator=g))
    return 1 + torch.cumsum(steps, 0) % (V - 1)  # (n,) in 1..V-1


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


# --- InterpolatedLM -------------------------------------------------------------------------


def _ngrams() -> tuple[NGramLM, NGramLM, NGramLM]:
    counts = NGramLM(V, order=3, k=0.1).fit(_ids())
    return counts.with_order(1), counts.with_order(2), counts


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


# --- timed_fit ------------------------------------------------------------------------------


def _small_lm() -> RecurrentLM:
    torch.manual_seed(0)
    return RecurrentLM(RecurrentLMConfig(vocab_size=V, embed_dim=4, hidden_size=8, cell="rnn"))


def test_timed_fit_subtracts_evaluation_time() -> None:
    ticks = itertools.count()  # a fake clock: every call is one second later
    ids = _ids()
    run = timed_fit(
        _small_lm(),
        lm_batches(ids, 8, 4, torch.Generator().manual_seed(0)),
        steps=4,
        eval_fn=lambda m: evaluate(m, ids, block_size=16),
        eval_every=2,
        clock=lambda: float(next(ticks)),
    )
    # calls: start 0 | eval at step 2: enter 1, leave 2 | eval at step 4: enter 3, leave 4 | end 5
    assert run.history.eval_steps == [2, 4]
    assert run.eval_times == [1.0, 2.0]
    assert run.eval_seconds == 2.0 and run.train_seconds == 3.0
    assert run.seconds_per_step == 0.75


def test_timed_fit_trains_exactly_like_fit() -> None:
    ids = _ids()
    kwargs = {"steps": 6, "lr": 1e-2, "clip_grad_norm": 1.0}
    plain = fit(_small_lm(), lm_batches(ids, 8, 4, torch.Generator().manual_seed(0)), **kwargs)
    run = timed_fit(
        _small_lm(),
        lm_batches(ids, 8, 4, torch.Generator().manual_seed(0)),
        eval_fn=lambda m: evaluate(m, ids, block_size=16),
        eval_every=3,
        **kwargs,
    )
    assert run.history.loss == plain.loss
    assert len(run.eval_times) == len(run.history.eval_steps) == 2
    assert 0 <= run.eval_times[0] <= run.eval_times[1] <= run.train_seconds


def test_timed_fit_rejects_bad_arguments() -> None:
    get_batch = lm_batches(_ids(), 8, 4, torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match="eval_fn must be callable"):
        timed_fit(_small_lm(), get_batch, steps=2, eval_fn="perplexity")
    with pytest.raises(ValueError, match="steps must be a positive int"):
        timed_fit(_small_lm(), get_batch, steps=0)


# --- context_sensitivity --------------------------------------------------------------------


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


# --- CausalSelfAttention, input gradients, graph depth ----------------------------------------


def test_causal_self_attention_is_masked_multi_head_attention() -> None:
    torch.manual_seed(0)
    layer = CausalSelfAttention(8, 2)
    x = torch.randn(3, 5, 8)  # (B, T, D)
    out, weights = layer(x)
    ref, ref_w = MultiHeadAttention.forward(layer.attn, x, x, x, causal_mask(5))
    assert torch.allclose(out, ref) and torch.allclose(weights, ref_w)
    changed = x.clone()
    changed[:, 3:] = torch.randn(3, 2, 8)  # the future must not matter
    assert torch.allclose(layer(changed)[0][:, :3], out[:, :3], atol=1e-6)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, 8\)"):
        layer(torch.randn(3, 5, 4))


def test_input_gradient_norms_match_autograd() -> None:
    torch.manual_seed(0)
    for layer in (RNN(4, 6), CausalSelfAttention(4, 2)):
        x = torch.randn(2, 7, 4)
        norms = input_gradient_norms(layer, x)  # (T,) by distance
        leaf = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(layer(leaf)[0][:, -1].sum(), leaf)  # (B, T, D)
        assert norms.dtype == torch.float64
        assert torch.allclose(norms, grad.double().norm(dim=-1).mean(0).flip(0))
        assert not x.requires_grad  # the caller's tensor is left alone


def test_input_gradient_norms_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, D\)"):
        input_gradient_norms(RNN(4, 6), torch.randn(7, 4))
    with pytest.raises(TypeError, match="must return"):
        input_gradient_norms(nn.Linear(4, 4), torch.randn(2, 7, 4))


def test_graph_depth_counts_the_longest_chain() -> None:
    x = torch.randn(5, requires_grad=True)
    assert graph_depth(((x * 2) + 1).sin().sum(), x) == 4  # mul, add, sin, sum
    assert graph_depth(x.sum() + x.exp().sin().sum(), x) == 4  # the longer of two branches
    assert graph_depth(torch.randn(3, requires_grad=True).sum(), x) == 0  # does not depend on x


def test_graph_depth_grows_with_length_for_a_loop_but_not_for_attention() -> None:
    torch.manual_seed(0)
    rnn, attn = RNN(4, 4), CausalSelfAttention(4, 2)
    depth = {}
    for T in (4, 8, 16):
        x = torch.randn(1, T, 4, requires_grad=True)
        depth["rnn", T] = graph_depth(rnn(x)[0][:, -1].sum(), x)
        depth["attn", T] = graph_depth(attn(x)[0][:, -1].sum(), x)
    assert depth["rnn", 8] - depth["rnn", 4] == 8 and depth["rnn", 16] - depth["rnn", 8] == 16  # 2 ops a step
    assert depth["attn", 4] == depth["attn", 8] == depth["attn", 16]


def test_graph_depth_rejects_bad_arguments() -> None:
    x = torch.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match="leaf tensor with requires_grad=True"):
        graph_depth(x.sum(), torch.randn(3))
    with pytest.raises(ValueError, match="leaf tensor"):
        graph_depth(x.sum(), x * 2)
    with pytest.raises(TypeError, match="output must be a torch.Tensor"):
        graph_depth(1.0, x)


# --- saved_tensor_bytes -----------------------------------------------------------------------


def test_saved_tensor_bytes_counts_distinct_storages() -> None:
    x = torch.randn(1000, requires_grad=True)
    assert saved_tensor_bytes(lambda: x.exp()) == 4000  # exp saves its float32 result
    assert saved_tensor_bytes(lambda: x.sin(), exclude=[x]) == 0  # sin saves its input, excluded
    assert saved_tensor_bytes(lambda: x.sin()) == 4000

    def views() -> torch.Tensor:
        z = x.exp()  # saved once ...
        return z[:500].sin() + z[500:].sin()  # ... and two views of it: one storage

    assert saved_tensor_bytes(views, exclude=[x]) == 4000
    with pytest.raises(TypeError, match="fn must be callable"):
        saved_tensor_bytes(x)


def test_saved_tensor_bytes_of_an_rnn_is_one_state_per_step() -> None:
    rnn, x = RNN(8, 16), torch.randn(4, 10, 8)
    saved = saved_tensor_bytes(lambda: rnn(x), exclude=[*rnn.parameters(), x])
    assert saved == 11 * 4 * 16 * 4  # (T + 1) * B * H float32 numbers: h_0..h_T


# --- LMRecipe, train_lm, seed_summary --------------------------------------------------------


def _recipe(steps: int = 4) -> LMRecipe:
    return LMRecipe(lambda: RecurrentLM(RecurrentLMConfig(V, "rnn", embed_dim=4, hidden_size=8)), 1e-2, steps)


def test_train_lm_is_reproducible_for_a_seed_and_differs_across_seeds() -> None:
    ids = _ids(600)
    kwargs = {"block_size": 8, "batch_size": 4, "evals": 2}
    _, a = train_lm(_recipe(), ids, ids, seed=0, **kwargs)
    _, b = train_lm(_recipe(), ids, ids, seed=0, **kwargs)
    _, c = train_lm(_recipe(), ids, ids, seed=1, **kwargs)
    assert a.history.loss == b.history.loss and a.history.loss != c.history.loss
    assert len(a.history.steps) == 4 and a.history.eval_steps == [2, 4]
    assert a.history.evals["perplexity"][-1] == pytest.approx(math.exp(a.history.evals["loss"][-1]))


def test_train_lm_gives_every_model_of_a_seed_the_same_batches() -> None:
    seen: list[list[torch.Tensor]] = [[], []]

    class Recorder(RecurrentLM):
        def forward(self, idx, targets=None):  # type: ignore[no-untyped-def]
            if self.training:
                seen[self.slot].append(idx.clone())
            return super().forward(idx, targets)

    def make(slot: int, hidden: int) -> Callable[[], nn.Module]:
        def build() -> nn.Module:
            model = Recorder(RecurrentLMConfig(vocab_size=V, embed_dim=4, hidden_size=hidden, cell="rnn"))
            model.slot = slot
            return model

        return build

    ids = _ids(600)
    for slot, hidden in ((0, 8), (1, 16)):
        train_lm(LMRecipe(make(slot, hidden), 1e-2, 3), ids, ids, seed=5, block_size=8, batch_size=4)
    assert all(torch.equal(x, y) for x, y in zip(seen[0], seen[1], strict=True)) and len(seen[0]) == 3


def test_lm_recipe_and_train_lm_reject_bad_arguments() -> None:
    with pytest.raises(TypeError, match="make must be callable"):
        LMRecipe("rnn", 1e-2, 4)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lr must be a number"):
        LMRecipe(lambda: nn.Linear(1, 1), 2.0, 4)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        LMRecipe(lambda: nn.Linear(1, 1), 1e-2, 0)
    with pytest.raises(TypeError, match="recipe must be an LMRecipe"):
        train_lm((lambda: None, 1e-2, 4), _ids(), _ids(), seed=0)  # type: ignore[arg-type]


def test_seed_summary() -> None:
    assert seed_summary([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0}
    assert seed_summary([4, 1, 2, 3])["median"] == 2.5
    with pytest.raises(ValueError, match="non-empty sequence of finite numbers"):
        seed_summary([])
    with pytest.raises(ValueError, match="finite"):
        seed_summary([1.0, float("nan")])
