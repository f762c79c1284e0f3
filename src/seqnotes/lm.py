"""One interface for every language model in the book (in the spirit of makemore).

A language model maps symbols to next-symbol scores::

    logits, loss = model(idx, targets)   # idx, targets: (B, T) int64 -> logits (B, T, V)

``logits[b, t]`` scores the symbol that follows ``idx[b, :t+1]``; ``loss`` is the mean
cross-entropy against ``targets`` (``None`` without targets). The n-gram model of Chapter
1 and the RNN, LSTM and Transformer models of later chapters all implement it, so
:func:`evaluate`, :func:`generate` and :func:`seqnotes.training.fit` treat them alike and
Chapter 5 compares them on the same split with the same code.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from seqnotes.data import CharVocab, lm_windows
from seqnotes.utils import check_positive_int, check_tensor, make_generator

__all__ = ["LanguageModel", "evaluate", "generate", "sample_text"]


class LanguageModel(nn.Module):
    """Base class: subclasses implement :meth:`forward` and set ``vocab_size``.

    ``context_size`` is the longest context the model can use (``None``: unbounded, as for
    an RNN); :func:`generate` crops the context to it.
    """

    vocab_size: int
    context_size: int | None = None

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def check_inputs(self, idx: torch.Tensor, targets: torch.Tensor | None) -> None:
        """Raise a clear error unless ``idx`` and ``targets`` are valid ``(B, T)`` ids."""
        check_tensor(idx, "idx", ("B", "T"), dtype=torch.long)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= self.vocab_size):
            raise ValueError(
                f"idx values must be in [0, {self.vocab_size}), got [{int(idx.min())}, {int(idx.max())}]"
            )
        if targets is not None:
            check_tensor(targets, "targets", tuple(idx.shape), dtype=torch.long)

    @staticmethod
    def lm_loss(logits: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor | None:
        """Mean cross-entropy of ``logits (B, T, V)`` against ``targets (B, T)``."""
        if targets is None:
            return None
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))


@torch.no_grad()
def evaluate(
    model: nn.Module, ids: torch.Tensor, block_size: int = 128, batch_size: int = 64
) -> dict[str, float]:
    """Held-out loss (nats per symbol) and perplexity of a language model on ``ids (N,)``.

    The text is cut into non-overlapping windows of ``block_size`` symbols; every window is
    scored with only its own symbols as context, the same way for every model. Every symbol
    after the first of the text is predicted exactly once, except the last
    ``(len(ids) - 1) % block_size`` symbols, which do not fill a window and are dropped.
    Returns ``{"loss": ..., "perplexity": exp(loss)}``.
    """
    x, y = lm_windows(ids, block_size)  # (W, T), (W, T)
    check_positive_int(batch_size, "batch_size")
    was_training = model.training
    model.eval()
    device = next(model.parameters(), torch.empty(0)).device
    total, count = 0.0, 0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size].to(device), y[start : start + batch_size].to(device)
        logits, _ = model(xb)  # (b, T, V)
        nll = F.cross_entropy(logits.reshape(-1, logits.size(-1)), yb.reshape(-1), reduction="sum")
        total += float(nll)
        count += yb.numel()
    model.train(was_training)
    loss = total / count
    return {"loss": loss, "perplexity": math.exp(loss)}


@torch.no_grad()
def generate(
    model: nn.Module,
    idx: torch.Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend ``idx (B, T0)`` by sampling ``max_new_tokens`` symbols -> ``(B, T0 + n)``.

    Each step feeds the (cropped to ``context_size``) context, takes the logits of the last
    position, divides by ``temperature``, optionally keeps the ``top_k`` best, and samples
    from the softmax with ``generator``. ``temperature=0`` takes the argmax (greedy).
    """
    check_tensor(idx, "idx", ("B", "T"), dtype=torch.long)
    if idx.size(1) == 0:
        raise ValueError("idx must hold at least one symbol of context (T0 >= 1)")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be a non-negative int, got {max_new_tokens!r}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature!r}")
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be a positive int or None, got {top_k!r}")
    was_training = model.training
    model.eval()
    context_size = getattr(model, "context_size", None)
    for _ in range(max_new_tokens):
        context = idx if context_size is None else idx[:, -context_size:]  # (B, <=C)
        logits, _ = model(context)  # (B, T, V)
        logits = logits[:, -1, :]  # (B, V)
        if temperature == 0:
            nxt = logits.argmax(dim=-1, keepdim=True)  # (B, 1)
        else:
            logits = logits / temperature
            if top_k is not None:
                kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]  # (B, 1)
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = torch.softmax(logits, dim=-1)  # (B, V)
            nxt = torch.multinomial(probs.cpu(), 1, generator=generator).to(idx.device)  # (B, 1)
        idx = torch.cat([idx, nxt], dim=1)  # (B, T+1)
    model.train(was_training)
    return idx


def sample_text(
    model: nn.Module,
    vocab: CharVocab,
    prompt: str,
    max_new_tokens: int = 100,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
) -> str:
    """Continue ``prompt`` by ``max_new_tokens`` characters, reproducibly for a given ``seed``."""
    if not prompt:
        raise ValueError("prompt must be a non-empty string")
    device = next(model.parameters(), torch.empty(0)).device
    idx = vocab.encode(prompt)[None, :].to(device)  # (1, T0)
    generator = make_generator(seed)
    out = generate(model, idx, max_new_tokens, temperature=temperature, top_k=top_k, generator=generator)
    return vocab.decode(out[0])
