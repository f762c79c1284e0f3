"""A character n-gram language model: the Markov assumption, built by counting (Chapter 1).

Notes line 7: "과거 t 시점까지만 보자. 이게 markov model". An n-gram model keeps only the
last ``n - 1`` symbols of the past (the Markov assumption with ``tau = n - 1``) and estimates
the next-symbol distribution by counting how often each symbol followed that context in the
training text, with add-k smoothing::

    p(x_t = v | context) = (count(context, v) + k) / (count(context) + k * V)

A context never seen in training gets ``count = 0`` everywhere, i.e. the uniform
distribution ``1 / V``. Counts of every order ``1..n`` are stored, so positions that have
fewer than ``n - 1`` symbols before them (the start of a window) use the longest context
they do have. The model implements :class:`seqnotes.models.lm.LanguageModel`: ``forward``
returns log-probabilities as logits, so ``evaluate``, ``generate`` and ``sample_text`` work
unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from seqnotes.models.lm import LanguageModel
from seqnotes.utils import check_positive_int, check_tensor

__all__ = ["CountTable", "NGramLM", "count_ngrams"]


@dataclass
class CountTable:
    """Counts of one context length ``m``: a sparse (contexts, V) matrix in CSR form.

    ``index`` maps a context (a tuple of ``m`` ids) to its row; row ``r`` holds the
    next-symbol counts ``values[crow[r]:crow[r+1]]`` at columns ``cols[crow[r]:crow[r+1]]``;
    ``totals[r]`` is their sum, the number of times the context was followed by a symbol.
    """

    index: dict[tuple[int, ...], int]
    crow: torch.Tensor  # (R + 1,) int64
    cols: torch.Tensor  # (nnz,) int64
    values: torch.Tensor  # (nnz,) float64
    totals: torch.Tensor  # (R,) float64


def count_ngrams(ids: torch.Tensor, m: int, vocab_size: int) -> CountTable:
    """Count every (context of length ``m``, next symbol) pair of ``ids (N,)``.

    Only the pairs that occur are stored (CSR form): most of the ``V**m x V`` table is zero.
    """
    check_tensor(ids, "ids", ("N",), dtype=torch.long)
    if not isinstance(m, int) or isinstance(m, bool) or not 0 <= m < len(ids):
        raise ValueError(f"m (context length) must be an int in [0, len(ids) - 1], got {m!r}")
    check_positive_int(vocab_size, "vocab_size")
    grams = ids.unfold(0, m + 1, 1)  # (N - m, m + 1): context followed by the next symbol
    if m == 0:
        contexts = grams.new_zeros(1, 0)  # (1, 0): the one empty context
        inverse = grams.new_zeros(len(grams))  # (N,)
    else:
        contexts, inverse = torch.unique(grams[:, :m], dim=0, return_inverse=True)  # (R, m), (N - m,)
    pairs, counts = torch.unique(inverse * vocab_size + grams[:, m], return_counts=True)  # (nnz,), (nnz,)
    rows, cols = pairs // vocab_size, pairs % vocab_size  # (nnz,), (nnz,)
    n_rows = len(contexts)
    crow = torch.zeros(n_rows + 1, dtype=torch.long)  # (R + 1,)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=n_rows), dim=0)
    totals = torch.bincount(inverse, minlength=n_rows).double()  # (R,)
    index = {tuple(row): r for r, row in enumerate(contexts.tolist())}
    return CountTable(index, crow, cols, counts.double(), totals)


class NGramLM(LanguageModel):
    """Character n-gram model of order ``n`` (context of ``n - 1`` symbols) with add-k smoothing.

    Build it by counting, then use it like any language model of the book::

        model = NGramLM(vocab_size=len(vocab), order=3, k=0.01).fit(vocab.encode(train))
        logits, loss = model(idx, targets)  # idx (B, T) -> log-probabilities (B, T, V)

    ``order=1`` is the unigram model (no context), ``order=2`` the bigram, and so on.
    ``k > 0`` is added to every count; a huge ``k`` makes every distribution uniform.
    """

    def __init__(self, vocab_size: int, order: int = 3, k: float = 0.01) -> None:
        super().__init__()
        check_positive_int(vocab_size, "vocab_size")
        if not isinstance(order, int) or isinstance(order, bool) or order < 1:
            raise ValueError(f"order must be an int >= 1 (1 = unigram, 2 = bigram, ...), got {order!r}")
        if isinstance(k, bool) or not isinstance(k, int | float) or not (k > 0 and math.isfinite(k)):
            raise ValueError(f"k must be a finite number > 0 (add-k smoothing), got {k!r}")
        self.vocab_size = vocab_size
        self.order = order
        self.k = float(k)
        self.context_size = max(1, order - 1)  # generate() crops the context to this
        self._tables: list[CountTable] = []  # one per context length 0 .. order-1

    def __repr__(self) -> str:
        state = "fitted" if self.fitted else "not fitted"
        return f"NGramLM(vocab_size={self.vocab_size}, order={self.order}, k={self.k:g}, {state})"

    @property
    def fitted(self) -> bool:
        return bool(self._tables)

    def fit(self, ids: torch.Tensor) -> NGramLM:
        """Count the n-grams of every order ``1..n`` in the training ids ``(N,)``; returns ``self``.

        No gradients are involved: fitting an n-gram model *is* counting.
        """
        check_tensor(ids, "ids", ("N",), dtype=torch.long)
        if len(ids) < self.order:
            raise ValueError(f"ids must hold at least order = {self.order} symbols, got {len(ids)}")
        if int(ids.min()) < 0 or int(ids.max()) >= self.vocab_size:
            raise ValueError(
                f"ids values must be in [0, {self.vocab_size}), got [{int(ids.min())}, {int(ids.max())}]"
            )
        ids = ids.cpu()
        self._tables = [count_ngrams(ids, m, self.vocab_size) for m in range(self.order)]
        return self

    def with_order(self, order: int, k: float | None = None) -> NGramLM:
        """A model of order ``order <= n`` that shares these counts instead of counting again.

        The counts of a fitted order-``n`` model hold every lower order, and they do not
        depend on ``k``: ``model.with_order(3, k=0.1)`` equals a freshly fitted trigram with
        ``k = 0.1``. ``k`` defaults to this model's ``k``.
        """
        self._check_fitted()
        if not isinstance(order, int) or isinstance(order, bool) or not 1 <= order <= self.order:
            raise ValueError(f"order must be an int in [1, {self.order}], got {order!r}")
        model = NGramLM(self.vocab_size, order=order, k=self.k if k is None else k)
        model._tables = self._tables[:order]
        return model

    def num_contexts(self, context_length: int | None = None) -> int:
        """How many distinct contexts of ``context_length`` symbols (default ``n - 1``) were counted."""
        self._check_fitted()
        c = self.order - 1 if context_length is None else context_length
        if not isinstance(c, int) or not 0 <= c < self.order:
            raise ValueError(
                f"context_length must be an int in [0, {self.order - 1}], got {context_length!r}"
            )
        return len(self._tables[c].index)

    def num_counts(self) -> int:
        """Non-zero counts stored over every order, the n-gram's counterpart of a parameter count.

        One number per (context, next symbol) pair seen in training, for every context length
        ``0 .. n-1``.
        """
        self._check_fitted()
        return sum(len(table.values) for table in self._tables)

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError("the n-gram model has no counts yet: call model.fit(train_ids) first")

    def context_probs(self, contexts: torch.Tensor) -> torch.Tensor:
        """Smoothed next-symbol probabilities (float64) for ``contexts (N, m)`` -> ``(N, V)``.

        Every row holds contexts of the same length ``m < n``; unseen contexts get ``1 / V``.
        """
        check_tensor(contexts, "contexts", ("N", "m"), dtype=torch.long)
        self._check_fitted()
        if contexts.shape[1] >= self.order:
            raise ValueError(
                f"contexts of an order-{self.order} model hold at most {self.order - 1} ids, "
                f"got {contexts.shape[1]}"
            )
        return self._probs(contexts)

    def _probs(self, contexts: torch.Tensor) -> torch.Tensor:
        """:meth:`context_probs` without the checks (the hot path of :meth:`forward`)."""
        n, m = contexts.shape
        table = self._tables[m]
        lookup = table.index.get
        rows = torch.tensor(
            [lookup(ctx, -1) for ctx in map(tuple, contexts.tolist())], dtype=torch.long
        )  # (N,), -1 = never seen in training
        counts = torch.zeros(n, self.vocab_size, dtype=torch.float64)  # (N, V)
        totals = torch.zeros(n, dtype=torch.float64)  # (N,)
        seen = torch.nonzero(rows >= 0).squeeze(1)  # (M,) positions with a known context
        if len(seen):
            r = rows[seen]  # (M,)
            totals[seen] = table.totals[r]
            starts = table.crow[r]  # (M,)
            lengths = table.crow[r + 1] - starts  # (M,) non-zero entries of each row
            owner = torch.repeat_interleave(seen, lengths)  # (nnz_q,) which position an entry fills
            first = torch.cumsum(lengths, 0) - lengths  # (M,) where each row's entries begin
            within = torch.arange(int(lengths.sum())) - torch.repeat_interleave(first, lengths)  # (nnz_q,)
            entry = torch.repeat_interleave(starts, lengths) + within  # (nnz_q,) into cols/values
            counts[owner, table.cols[entry]] = table.values[entry]
        counts += self.k  # add-k, in place: (N, V) is the largest tensor here
        return counts.div_((totals + self.k * self.vocab_size)[:, None])  # (N, V), rows sum to 1

    def _context_log_probs(self, contexts: torch.Tensor) -> torch.Tensor:
        """``log`` of :meth:`context_probs` as float32 logits: ``(N, m)`` -> ``(N, V)``."""
        return self._probs(contexts).float().log_()

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``idx (B, T)`` -> (log-probabilities ``(B, T, V)``, mean cross-entropy or ``None``).

        ``logits[b, t]`` is ``log p(x | idx[b, t-n+2 : t+1])``: the last ``n - 1`` symbols up
        to and including position ``t``, or all ``t + 1`` of them near the window start.
        """
        self.check_inputs(idx, targets)
        self._check_fitted()
        B, T = idx.shape
        c_full = self.order - 1
        idx = idx.cpu()
        logp = torch.empty(B, T, self.vocab_size)  # (B, T, V)
        for t in range(min(c_full - 1, T)):  # window start: fewer than n-1 symbols of context
            logp[:, t] = self._context_log_probs(idx[:, : t + 1])  # (B, V)
        if c_full == 0:
            logp[:] = self._context_log_probs(idx.new_zeros(1, 0))  # (1, V) broadcast to (B, T, V)
        elif T >= c_full:
            contexts = idx.unfold(1, c_full, 1)  # (B, T - c_full + 1, c_full)
            logp[:, c_full - 1 :] = self._context_log_probs(contexts.reshape(-1, c_full)).view(
                B, T - c_full + 1, self.vocab_size
            )
        return logp, self.lm_loss(logp, targets)

    def next_probs(self, context: torch.Tensor) -> torch.Tensor:
        """The next-symbol distribution ``(V,)`` after ``context (T,)``.

        Only the last ``n - 1`` ids count; a shorter context (even an empty one) uses the
        counts of its own length, as at the start of a window in :meth:`forward`.
        """
        check_tensor(context, "context", ("T",), dtype=torch.long)
        if len(context) and (int(context.min()) < 0 or int(context.max()) >= self.vocab_size):
            raise ValueError(f"context values must be in [0, {self.vocab_size})")
        self._check_fitted()
        recent = context[max(0, len(context) - (self.order - 1)) :].cpu()  # (m,), m <= n-1
        return self._probs(recent[None])[0]  # (V,)
