"""seqnotes.models.ngram: the n-gram language model against brute-force counting."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from seqnotes.models.lm import evaluate, generate, sample_text
from seqnotes.models.ngram import NGramLM
from seqnotes.tasks.corpus import CharVocab

V = 7


def _train_ids(n: int = 300, seed: int = 0) -> torch.Tensor:
    """Random ids over symbols 1..V-2: symbols 0 and V-1 never occur (unseen contexts exist)."""
    return torch.randint(1, V - 1, (n,), generator=torch.Generator().manual_seed(seed))


def _brute_force_probs(ids: list[int], context: tuple[int, ...], k: float) -> list[float]:
    """add-k estimate from scratch: count(context, v) over count(context, anything)."""
    c = len(context)
    follow = Counter(ids[i + c] for i in range(len(ids) - c) if tuple(ids[i : i + c]) == context)
    total = sum(follow.values())
    return [(follow[v] + k) / (total + k * V) for v in range(V)]


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_probabilities_sum_to_one_for_any_context(order: int) -> None:
    model = NGramLM(V, order=order, k=0.1).fit(_train_ids())
    idx = torch.randint(0, V, (4, 12), generator=torch.Generator().manual_seed(1))  # includes unseen symbols
    logits, loss = model(idx, idx)
    assert logits.shape == (4, 12, V) and logits.dtype == torch.float32
    assert torch.allclose(logits.exp().sum(-1), torch.ones(4, 12), atol=1e-5)
    assert torch.isfinite(loss)
    for context in ([], [0], [V - 1, V - 1, V - 1], [1, 2, 3, 4, 5, 1]):
        probs = model.next_probs(torch.tensor(context, dtype=torch.long))
        assert probs.shape == (V,) and math.isclose(float(probs.sum()), 1.0, rel_tol=1e-9)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_counts_match_a_brute_force_estimate(order: int) -> None:
    ids = _train_ids(200)
    model = NGramLM(V, order=order, k=0.5).fit(ids)
    raw = ids.tolist()
    for start in (0, 17, 101):
        context = tuple(raw[start : start + order - 1])
        got = model.next_probs(torch.tensor(context, dtype=torch.long))
        want = torch.tensor(_brute_force_probs(raw, context, 0.5), dtype=torch.float64)
        assert torch.allclose(got, want, atol=1e-12)
    assert model.num_contexts(0) == 1
    if order > 1:
        assert model.num_contexts() == len(
            {tuple(raw[i : i + order - 1]) for i in range(len(raw) - order + 1)}
        )


def test_uniform_model_has_perplexity_equal_to_vocab_size() -> None:
    # every symbol equally often: the unigram estimate is exactly 1/V
    balanced = torch.arange(V).repeat(20)
    unigram = NGramLM(V, order=1, k=0.01).fit(balanced)
    test_ids = _train_ids(400, seed=3)
    assert math.isclose(evaluate(unigram, test_ids, block_size=16)["perplexity"], V, rel_tol=1e-5)
    # a huge k drowns every count: any order becomes uniform
    huge_k = NGramLM(V, order=4, k=1e12).fit(_train_ids())
    assert math.isclose(evaluate(huge_k, test_ids, block_size=16)["perplexity"], V, rel_tol=1e-5)


def test_smoothing_gives_unseen_contexts_the_uniform_distribution() -> None:
    model = NGramLM(V, order=3, k=0.01).fit(_train_ids())
    unseen = torch.tensor([0, V - 1])  # symbols 0 and V-1 never occur in training
    assert torch.allclose(model.next_probs(unseen), torch.full((V,), 1 / V, dtype=torch.float64))
    seen = model.next_probs(torch.tensor([1, 2]))
    assert (seen > 0).all() and seen.max() > 2 / V  # smoothed, but not flat
    assert seen[0] == seen[V - 1] == seen.min()  # symbols never seen get the smallest share


def test_window_start_uses_lower_orders() -> None:
    ids = _train_ids()
    model4 = NGramLM(V, order=4, k=0.1).fit(ids)
    idx = torch.randint(1, V - 1, (3, 10), generator=torch.Generator().manual_seed(2))
    logits, _ = model4(idx)
    for t, order in ((0, 2), (1, 3)):
        lower, _ = NGramLM(V, order=order, k=0.1).fit(ids)(idx[:, : t + 1])
        assert torch.allclose(logits[:, t], lower[:, t])
    for t in (2, 5, 9):  # full context: the last 3 symbols, wherever they are
        expect = model4.next_probs(idx[0, t - 2 : t + 1]).float().log()
        assert torch.allclose(logits[0, t], expect, atol=1e-6)


def test_with_order_shares_counts_and_equals_a_fresh_fit() -> None:
    ids = _train_ids()
    big = NGramLM(V, order=5, k=0.01).fit(ids)
    idx = torch.randint(0, V, (2, 9), generator=torch.Generator().manual_seed(5))
    for order, k in ((1, 0.01), (3, 0.01), (3, 0.5), (5, 2.0)):
        small = big.with_order(order, k=k)
        assert small.order == order and small.k == k
        assert torch.equal(small(idx)[0], NGramLM(V, order=order, k=k).fit(ids)(idx)[0])
    assert big.with_order(2).k == 0.01
    with pytest.raises(ValueError, match=r"order must be an int in \[1, 5\]"):
        big.with_order(6)
    with pytest.raises(ValueError, match="k must be a finite number > 0"):
        big.with_order(2, k=0.0)
    with pytest.raises(RuntimeError, match="call model.fit"):
        NGramLM(V, order=3).with_order(2)


def test_sampling_is_reproducible_with_a_seed() -> None:
    vocab = CharVocab("가나다라마바")
    ids = vocab.encode("가나다라마바가나다가나라마바다라가나다" * 5)
    for order in (1, 2, 3):
        model = NGramLM(len(vocab), order=order, k=0.01).fit(ids)
        a = sample_text(model, vocab, "가나", 30, seed=4)
        assert a == sample_text(model, vocab, "가나", 30, seed=4)
        assert len(a) == 32 and a.startswith("가나")
        assert a != sample_text(model, vocab, "가나", 30, seed=5)


def test_sampling_from_counts_only_walks_through_training_ngrams() -> None:
    ids = _train_ids(120)
    model = NGramLM(V, order=3, k=1e-12).fit(ids)
    seen = {tuple(ids[i : i + 3].tolist()) for i in range(len(ids) - 2)}
    out = generate(model, ids[None, :2], 200, generator=torch.Generator().manual_seed(0))[0]
    assert all(tuple(out[i : i + 3].tolist()) in seen for i in range(len(out) - 2))


def test_fitting_and_evaluating_is_fast_enough_for_real_text() -> None:
    ids = torch.randint(0, 300, (50_000,), generator=torch.Generator().manual_seed(0))
    model = NGramLM(300, order=5, k=0.01).fit(ids)
    assert model.num_contexts() > 40_000
    assert evaluate(model, ids[:6000], block_size=128)["perplexity"] > 1


def test_bad_input_raises_clear_errors() -> None:
    for kwargs, match in (
        ({"vocab_size": 0}, "vocab_size"),
        ({"vocab_size": V, "order": 0}, "order must be an int >= 1"),
        ({"vocab_size": V, "order": 2.0}, "order must be an int >= 1"),
        ({"vocab_size": V, "k": 0}, "k must be a finite number > 0"),
        ({"vocab_size": V, "k": -1.0}, "k must be a finite number > 0"),
        ({"vocab_size": V, "k": float("nan")}, "k must be a finite number > 0"),
        ({"vocab_size": V, "k": True}, "k must be a finite number > 0"),
    ):
        with pytest.raises(ValueError, match=match):
            NGramLM(**kwargs)
    model = NGramLM(V, order=3)
    with pytest.raises(RuntimeError, match="call model.fit"):
        model(torch.zeros(1, 4, dtype=torch.long))
    with pytest.raises(TypeError, match="dtype torch.int64"):
        model.fit(torch.zeros(10))
    with pytest.raises(ValueError, match=r"ids must have shape \(N,\)"):
        model.fit(torch.zeros(2, 10, dtype=torch.long))
    with pytest.raises(ValueError, match=r"in \[0, 7\)"):
        model.fit(torch.tensor([1, 2, 9, 3]))
    with pytest.raises(ValueError, match="at least order = 3"):
        model.fit(torch.tensor([1, 2]))
    model.fit(_train_ids())
    with pytest.raises(ValueError, match=r"idx must have shape \(B, T\)"):
        model(torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"idx values must be in \[0, 7\)"):
        model(torch.full((1, 3), V))
    with pytest.raises(ValueError, match=r"context must have shape \(T,\)"):
        model.next_probs(torch.zeros(1, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"context values must be in \[0, 7\)"):
        model.next_probs(torch.tensor([-1]))
    with pytest.raises(ValueError, match=r"context_length must be an int in \[0, 2\]"):
        model.num_contexts(3)


def test_num_counts_counts_every_seen_pair() -> None:
    ids = _train_ids(200)
    model = NGramLM(V, order=3).fit(ids)
    seq = ids.tolist()
    pairs = sum(len({tuple(seq[i : i + c + 1]) for i in range(len(seq) - c)}) for c in range(3))
    assert model.num_counts() == pairs
    assert model.with_order(1).num_counts() == len(set(seq))
    with pytest.raises(RuntimeError, match="no counts yet"):
        NGramLM(V, order=2).num_counts()
    assert math.isfinite(evaluate(model, ids, block_size=16)["perplexity"])


def test_count_ngrams_is_csr_of_the_pair_counts() -> None:
    from seqnotes.models.ngram import count_ngrams

    ids = torch.tensor([1, 2, 1, 2, 1, 3])  # contexts of length 1: 1 -> 2, 2 -> 1, 1 -> 2, 2 -> 1, 1 -> 3
    table = count_ngrams(ids, 1, 4)
    row = table.index[(1,)]
    lo, hi = int(table.crow[row]), int(table.crow[row + 1])
    counts = dict(zip(table.cols[lo:hi].tolist(), table.values[lo:hi].tolist(), strict=True))
    assert counts == {2: 2.0, 3: 1.0}
    assert float(table.totals[row]) == 3.0
    assert len(count_ngrams(ids, 0, 4).index) == 1  # the one empty context
    with pytest.raises(ValueError, match="context length"):
        count_ngrams(ids, 6, 4)


def test_context_probs_checks_its_contexts() -> None:
    model = NGramLM(V, order=2, k=0.1).fit(_train_ids())
    probs = model.context_probs(torch.tensor([[1], [0]]))  # (2, V)
    assert probs.shape == (2, V) and torch.allclose(probs.sum(-1), torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="at most 1 ids"):
        model.context_probs(torch.tensor([[1, 2]]))
    with pytest.raises(TypeError, match="dtype"):
        model.context_probs(torch.tensor([[1.0]]))
