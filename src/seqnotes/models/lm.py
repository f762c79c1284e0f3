"""One interface for every language model in the book, one config and one factory (Chapters 1-5).

Notes line 6: "lang model: 이전 데이터로 다음 데이터를 예측하는 것". A language model maps
symbols to next-symbol scores (in the spirit of makemore)::

    logits, loss = model(idx, targets)   # idx, targets: (B, T) int64 -> logits (B, T, V)

``logits[b, t]`` scores the symbol that follows ``idx[b, :t+1]``; ``loss`` is the mean
cross-entropy against ``targets`` (``None`` without targets). The n-gram model of Chapter
1 and the RNN, LSTM, GRU and Transformer models of later chapters all implement it, so
:func:`evaluate`, :func:`generate` and :func:`seqnotes.training.loop.fit` treat them alike.
Every language model calls its read-out ``head`` and its longest usable context
``context_size`` (``None``: unbounded).

The recurrent language models are one class, :class:`RecurrentLM`, configured by one
:class:`RecurrentLMConfig` whose ``cell`` is ``"rnn"``, ``"lstm"`` or ``"gru"``;
:func:`make_recurrent` is the one way to build a recurrent layer by kind and :func:`make_lm`
builds any of the book's language models from its config. :class:`InterpolatedLM` mixes
language models (Chapter 1's interpolation, Chapter 5's baselines).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqnotes.tasks.corpus import CharVocab, lm_windows
from seqnotes.utils import check_positive_int, check_tensor, make_generator

__all__ = [
    "InterpolatedLM",
    "LanguageModel",
    "RecurrentLM",
    "RecurrentLMConfig",
    "evaluate",
    "generate",
    "make_lm",
    "make_recurrent",
    "sample_text",
]


class LanguageModel(nn.Module):
    """Base class: subclasses implement :meth:`forward` and set ``vocab_size``.

    ``context_size`` is the longest context the model can use (``None``: unbounded, as for
    an RNN); :func:`generate` crops the context to it.
    """

    vocab_size: int
    context_size: int | None = None
    check_every_call: bool = True  # False inside generate(), which checks the prompt once

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def check_inputs(self, idx: torch.Tensor, targets: torch.Tensor | None) -> None:
        """Raise a clear error unless ``idx`` and ``targets`` are valid ``(B, T)`` ids."""
        if not self.check_every_call:  # generate(): only the model's own samples follow the prompt
            return
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
    if isinstance(model, LanguageModel):  # check the prompt once, not at every step (no device syncs)
        model.check_inputs(idx[:, -context_size:] if context_size else idx, None)
        model.check_every_call = False
    try:
        idx = _sample_loop(model, idx, max_new_tokens, context_size, temperature, top_k, generator)
    finally:
        model.__dict__.pop("check_every_call", None)  # back to the class default
        model.train(was_training)
    return idx


def _sample_loop(
    model: nn.Module,
    idx: torch.Tensor,
    max_new_tokens: int,
    context_size: int | None,
    temperature: float,
    top_k: int | None,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """:func:`generate`'s loop, on checked arguments."""
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


# ----------------------------------------------------------------------------------------
# Recurrent language models: one config, one class, one layer factory

RECURRENT_KINDS = ("rnn", "lstm", "gru")


def make_recurrent(
    kind: str, input_size: int, hidden_size: int, impl: str = "seqnotes", nonlinearity: str = "tanh"
) -> nn.Module:
    """A batch-first recurrent layer of ``kind``: ``"rnn"``, ``"lstm"`` or ``"gru"``.

    ``impl="seqnotes"`` builds the book's from-scratch layer; ``impl="torch"`` the same model
    from ``torch.nn`` (fused C++ loop, faster on a CPU). Both return ``(outputs, state)``.
    ``nonlinearity`` is the RNN's (``"tanh"``, ``"relu"``; ``"sigmoid"`` only from scratch).
    """
    from seqnotes.models.gated import GRU, LSTM
    from seqnotes.models.recurrent import RNN

    if impl not in ("seqnotes", "torch"):
        raise ValueError(f"impl must be 'seqnotes' or 'torch', got {impl!r}")
    if kind not in RECURRENT_KINDS:
        raise ValueError(f"kind must be 'rnn', 'lstm' or 'gru', got {kind!r}")
    if impl == "torch":
        if kind == "rnn":
            return nn.RNN(input_size, hidden_size, nonlinearity=nonlinearity, batch_first=True)
        return {"lstm": nn.LSTM, "gru": nn.GRU}[kind](input_size, hidden_size, batch_first=True)
    if kind == "rnn":
        return RNN(input_size, hidden_size, nonlinearity, batch_first=True)
    return {"lstm": LSTM, "gru": GRU}[kind](input_size, hidden_size, batch_first=True)


@dataclass
class RecurrentLMConfig:
    """Sizes of a character-level recurrent language model; ``cell`` is ``"rnn"``, ``"lstm"`` or ``"gru"``."""

    vocab_size: int
    cell: str = "rnn"
    embed_dim: int = 64
    hidden_size: int = 128
    nonlinearity: str = "tanh"  # the RNN's only


class RecurrentLM(LanguageModel):
    """Embedding -> a recurrent layer (:func:`make_recurrent`) -> linear ``head``.

    Chapter 2's RNN, Chapter 3's LSTM and GRU language models, with the book's interface.
    Each training window starts from a zero state; ``context_size=None``: the model reads
    the whole context it is given.
    """

    def __init__(self, config: RecurrentLMConfig) -> None:
        c = config
        layer = make_recurrent(c.cell, c.embed_dim, c.hidden_size, nonlinearity=c.nonlinearity)
        super().__init__()
        check_positive_int(c.vocab_size, "vocab_size")
        self.config = c
        self.vocab_size = c.vocab_size
        self.embedding = nn.Embedding(c.vocab_size, c.embed_dim)
        self.layer = layer
        self.head = nn.Linear(c.hidden_size, c.vocab_size)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        self.check_inputs(idx, targets)
        x = self.embedding(idx)  # (B, T, E)
        outputs, _ = self.layer(x)  # (B, T, H)
        logits = self.head(outputs)  # (B, T, V)
        return logits, self.lm_loss(logits, targets)


def make_lm(config: object) -> LanguageModel:
    """The language model a config describes: a :class:`RecurrentLMConfig` or a
    :class:`seqnotes.models.transformer.TransformerLMConfig`."""
    from seqnotes.models.transformer import TransformerLM, TransformerLMConfig

    if isinstance(config, RecurrentLMConfig):
        return RecurrentLM(config)
    if isinstance(config, TransformerLMConfig):
        return TransformerLM(config)
    raise TypeError(f"config must be a RecurrentLMConfig or TransformerLMConfig, got {type(config).__name__}")


# ----------------------------------------------------------------------------------------
# Mixing language models (Chapter 1's interpolation)


class InterpolatedLM(LanguageModel):
    """A mixture of language models: ``p(v | context) = sum_m w_m p_m(v | context)``.

    ``models`` are language models over the same vocabulary and ``weights`` are positive
    and sum to 1. ``forward`` returns ``log p`` as logits ``(B, T, V)``, so
    :func:`seqnotes.models.lm.evaluate` and :func:`seqnotes.models.lm.sample_text` work unchanged. With
    n-gram models of orders 2, 3, 4 this is the interpolation of Chapter 1's exercise; any
    language models can be mixed (e.g. an n-gram and an LSTM). The context the mixture can
    use is the longest one of its members (``None``: unbounded).
    """

    def __init__(self, models: Sequence[nn.Module], weights: Sequence[float]) -> None:
        super().__init__()
        models, weights = list(models), list(weights)
        if not models:
            raise ValueError("models must hold at least one language model")
        if not all(isinstance(m, LanguageModel) for m in models):
            raise TypeError("every model must be a seqnotes.models.lm.LanguageModel")
        if len(weights) != len(models):
            raise ValueError(f"need one weight per model: {len(models)} models, got {len(weights)} weights")
        if not all(isinstance(w, int | float) and not isinstance(w, bool) for w in weights):
            raise TypeError("weights must be numbers")
        if not all(w > 0 and math.isfinite(w) for w in weights) or abs(sum(weights) - 1) > 1e-6:
            raise ValueError(f"weights must be positive and sum to 1, got {weights}")
        sizes = {m.vocab_size for m in models}
        if len(sizes) != 1:
            raise ValueError(f"all models must share one vocabulary size, got {sorted(sizes)}")
        self.vocab_size = sizes.pop()
        contexts = [m.context_size for m in models]
        self.context_size = None if any(c is None for c in contexts) else max(contexts)
        self.models = nn.ModuleList(models)
        self.weights = tuple(float(w) for w in weights)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``idx (B, T)`` -> (``log sum_m w_m p_m`` as logits ``(B, T, V)``, loss or ``None``)."""
        self.check_inputs(idx, targets)
        terms = [
            torch.log_softmax(model(idx)[0].float(), dim=-1) + math.log(w)  # (B, T, V): log(w_m p_m)
            for model, w in zip(self.models, self.weights, strict=True)
        ]
        logits = torch.logsumexp(torch.stack(terms), dim=0)  # (B, T, V): log sum_m w_m p_m
        return logits, self.lm_loss(logits, targets)
