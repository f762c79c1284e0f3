"""The Transformer of "Attention Is All You Need", built from :mod:`seqnotes.attention`.

- :func:`sinusoidal_positional_encoding`: the paper's sin/cos position vectors.
- :class:`EncoderLayer`: self-attention -> add & norm -> feed-forward -> add & norm.
- :class:`DecoderLayer`: masked self-attention, encoder-decoder (cross) attention whose
  keys and values come from the encoder, feed-forward; each with add & norm.
- :class:`Seq2SeqTransformer`: embeddings + positions, a stack of each, a linear layer to
  the target vocabulary, teacher-forced training, batched greedy decoding and beam search.
- :class:`TransformerLM`: the decoder-only variant (the same blocks with a causal mask) as
  a :class:`seqnotes.lm.LanguageModel`, for Chapter 5's comparison.

Both layers copy their ``torch.nn`` counterparts with ``from_torch`` (post-LN as in the
paper, or pre-LN with ``norm_first=True``) and match them numerically (``tests/``).
Every mask is a bool tensor, **True = may attend**, broadcastable to ``(B, heads, T_q, T_k)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqnotes.attention import MultiHeadAttention, causal_mask
from seqnotes.lm import LanguageModel
from seqnotes.utils import check_positive_int, check_tensor

__all__ = [
    "DecoderLayer",
    "EncoderLayer",
    "FeedForward",
    "Seq2SeqConfig",
    "Seq2SeqTransformer",
    "TransformerLM",
    "TransformerLMConfig",
    "sinusoidal_positional_encoding",
    "warmup_cosine",
]

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def sinusoidal_positional_encoding(T: int, d_model: int) -> torch.Tensor:
    """The paper's positional encoding ``(T, d_model)``, sin and cos interleaved.

    ``PE[pos, 2i] = sin(pos / 10000^(2i/d_model))`` and
    ``PE[pos, 2i+1] = cos(pos / 10000^(2i/d_model))``; ``d_model`` must be even.
    """
    check_positive_int(T, "T")
    if not isinstance(d_model, int) or isinstance(d_model, bool) or d_model < 2 or d_model % 2:
        raise ValueError(f"d_model must be a positive even int (sin/cos pairs), got {d_model!r}")
    pos = torch.arange(T, dtype=torch.float32)[:, None]  # (T, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (d_model/2,)
    angle = pos / 10000 ** (two_i / d_model)  # (T, d_model/2)
    pe = torch.zeros(T, d_model)  # (T, d_model)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe


def _activation_name(layer: nn.Module) -> str:
    act = layer.activation
    if act is F.relu or isinstance(act, nn.ReLU):
        return "relu"
    if act is F.gelu or isinstance(act, nn.GELU):
        return "gelu"
    raise ValueError(f"only relu or gelu activations can be copied, got {act!r}")


def _check_torch_layer(layer: nn.Module, cls: type) -> None:
    if not isinstance(layer, cls):
        raise TypeError(f"layer must be a torch.nn.{cls.__name__}, got {type(layer).__name__}")
    if not layer.self_attn.batch_first:
        raise ValueError("layer must be created with batch_first=True (inputs (B, T, d_model))")


def _from_torch_layer(cls: type, layer: nn.Module, norms: int) -> nn.Module:
    """Build ``cls`` (our encoder or decoder layer) shaped like the ``torch.nn`` ``layer`` and
    copy its self-attention, feed-forward network and ``norms`` layer norms (``norm1``...)."""
    ours = cls(
        layer.self_attn.embed_dim,
        layer.self_attn.num_heads,
        layer.linear1.out_features,
        dropout=layer.dropout.p,
        norm_first=layer.norm_first,
        activation=_activation_name(layer),
        eps=layer.norm1.eps,
    )
    ours.self_attn = MultiHeadAttention.from_torch(layer.self_attn)
    ours.ff.linear1.load_state_dict(layer.linear1.state_dict())
    ours.ff.linear2.load_state_dict(layer.linear2.state_dict())
    for i in range(1, norms + 1):
        getattr(ours, f"norm{i}").load_state_dict(getattr(layer, f"norm{i}").state_dict())
    return ours


def _embed(table: nn.Embedding, ids: torch.Tensor, pe: torch.Tensor, dropout: nn.Dropout) -> torch.Tensor:
    """Token embeddings scaled by ``sqrt(d_model)`` plus positions, as in the paper: ``(B, T, d_model)``."""
    x = table(ids) * math.sqrt(table.embedding_dim)  # (B, T, d_model)
    return dropout(x + pe[: ids.size(1)])  # (B, T, d_model)


class FeedForward(nn.Module):
    """The position-wise feed-forward network ``W_2 act(W_1 x + b_1) + b_2``.

    Applied to every position independently: ``(B, T, d_model) -> (B, T, d_model)``.
    """

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0, activation: str = "relu") -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = _ACTIVATIONS[self.activation](self.linear1(x))  # (B, T, d_ff)
        return self.linear2(self.dropout(h))  # (B, T, d_model)


class EncoderLayer(nn.Module):
    """One encoder block: self-attention and a feed-forward network, each with add & norm.

    ``norm_first=False`` is the paper's post-LN, ``x = norm(x + sublayer(x))``;
    ``norm_first=True`` is pre-LN, ``x = x + sublayer(norm(x))``.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        norm_first: bool = False,
        activation: str = "relu",
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.ff = FeedForward(d_model, d_ff, dropout, activation)
        self.norm1 = nn.LayerNorm(d_model, eps=eps)
        self.norm2 = nn.LayerNorm(d_model, eps=eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.norm_first = norm_first

    def _sa(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.dropout1(self.self_attn(x, x, x, mask)[0])  # (B, T, d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, T, d_model)`` -> ``(B, T, d_model)``; ``mask`` broadcastable to ``(B, heads, T, T)``."""
        check_tensor(x, "x", ("B", "T", self.d_model))
        if self.norm_first:
            x = x + self._sa(self.norm1(x), mask)  # (B, T, d_model)
            x = x + self.dropout2(self.ff(self.norm2(x)))  # (B, T, d_model)
        else:
            x = self.norm1(x + self._sa(x, mask))  # (B, T, d_model)
            x = self.norm2(x + self.dropout2(self.ff(x)))  # (B, T, d_model)
        return x

    @classmethod
    def from_torch(cls, layer: nn.TransformerEncoderLayer) -> EncoderLayer:
        """A copy of ``torch.nn.TransformerEncoderLayer`` (``batch_first=True``, with biases)."""
        _check_torch_layer(layer, nn.TransformerEncoderLayer)
        return _from_torch_layer(cls, layer, norms=2)


class DecoderLayer(nn.Module):
    """One decoder block: masked self-attention, encoder-decoder attention, feed-forward.

    The cross-attention's queries come from the decoder, its keys and values from the
    encoder output ``memory``. Each sublayer has add & norm (post-LN or pre-LN).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        norm_first: bool = False,
        activation: str = "relu",
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.ff = FeedForward(d_model, d_ff, dropout, activation)
        self.norm1 = nn.LayerNorm(d_model, eps=eps)
        self.norm2 = nn.LayerNorm(d_model, eps=eps)
        self.norm3 = nn.LayerNorm(d_model, eps=eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.norm_first = norm_first

    def _sa(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.dropout1(self.self_attn(x, x, x, mask)[0])  # (B, T, d_model)

    def _ca(self, x: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.dropout2(self.cross_attn(x, memory, memory, mask)[0])  # (B, T, d_model)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        self_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Decode ``x (B, T, d_model)`` attending to ``memory (B, S, d_model)``.

        ``self_mask`` is broadcastable to ``(B, heads, T, T)`` (usually the causal mask),
        ``memory_mask`` to ``(B, heads, T, S)`` (usually the source padding mask).
        """
        check_tensor(x, "x", ("B", "T", self.d_model))
        check_tensor(memory, "memory", (x.size(0), "S", self.d_model))
        if self.norm_first:
            x = x + self._sa(self.norm1(x), self_mask)  # (B, T, d_model)
            x = x + self._ca(self.norm2(x), memory, memory_mask)  # (B, T, d_model)
            x = x + self.dropout3(self.ff(self.norm3(x)))  # (B, T, d_model)
        else:
            x = self.norm1(x + self._sa(x, self_mask))  # (B, T, d_model)
            x = self.norm2(x + self._ca(x, memory, memory_mask))  # (B, T, d_model)
            x = self.norm3(x + self.dropout3(self.ff(x)))  # (B, T, d_model)
        return x

    @classmethod
    def from_torch(cls, layer: nn.TransformerDecoderLayer) -> DecoderLayer:
        """A copy of ``torch.nn.TransformerDecoderLayer`` (``batch_first=True``, with biases)."""
        _check_torch_layer(layer, nn.TransformerDecoderLayer)
        ours = _from_torch_layer(cls, layer, norms=3)
        ours.cross_attn = MultiHeadAttention.from_torch(layer.multihead_attn)
        return ours


@dataclass
class Seq2SeqConfig:
    """Sizes of a :class:`Seq2SeqTransformer` (the paper's base model: 512, 8, 6+6, 2048)."""

    src_vocab_size: int
    tgt_vocab_size: int
    d_model: int = 64
    num_heads: int = 4
    num_encoder_layers: int = 2
    num_decoder_layers: int = 2
    d_ff: int = 128
    dropout: float = 0.0
    norm_first: bool = False
    max_len: int = 64
    pad_id: int = 0


class Seq2SeqTransformer(nn.Module):
    """An encoder-decoder Transformer for translation ``src (B, S) -> tgt (B, T)``.

    Token embeddings are scaled by ``sqrt(d_model)`` and added to sinusoidal positional
    encodings, as in the paper. ``pad_id`` marks padding in both sequences: padded source
    positions are masked out as keys, padded target positions are ignored by the loss.
    With ``norm_first=True`` a final layer norm follows each stack (pre-LN needs it).
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        c = config
        if c.d_model % c.num_heads:
            raise ValueError(f"d_model ({c.d_model}) must be divisible by num_heads ({c.num_heads})")
        self.config = c
        self.src_embed = nn.Embedding(c.src_vocab_size, c.d_model)
        self.tgt_embed = nn.Embedding(c.tgt_vocab_size, c.d_model)
        self.register_buffer("pe", sinusoidal_positional_encoding(c.max_len, c.d_model), persistent=False)
        self.dropout = nn.Dropout(c.dropout)
        layer_args = (c.d_model, c.num_heads, c.d_ff, c.dropout, c.norm_first)
        self.encoder = nn.ModuleList(EncoderLayer(*layer_args) for _ in range(c.num_encoder_layers))
        self.decoder = nn.ModuleList(DecoderLayer(*layer_args) for _ in range(c.num_decoder_layers))
        self.encoder_norm = nn.LayerNorm(c.d_model) if c.norm_first else nn.Identity()
        self.decoder_norm = nn.LayerNorm(c.d_model) if c.norm_first else nn.Identity()
        self.generator = nn.Linear(c.d_model, c.tgt_vocab_size)  # to vocabulary scores (logits)
        for table in (self.src_embed, self.tgt_embed):  # N(0, 1/d): after * sqrt(d), as large as the PE
            nn.init.normal_(table.weight, std=c.d_model**-0.5)

    def _check_ids(self, ids: torch.Tensor, name: str, vocab_size: int) -> None:
        check_tensor(ids, name, ("B", "T"), dtype=torch.long)
        if ids.size(1) > self.config.max_len:
            raise ValueError(
                f"{name} (B, T) must have T <= max_len={self.config.max_len}, got T={ids.size(1)}"
            )
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
            raise ValueError(
                f"{name} values must be in [0, {vocab_size}), got [{int(ids.min())}, {int(ids.max())}]"
            )

    def source_mask(self, src: torch.Tensor) -> torch.Tensor:
        """Key mask ``(B, 1, 1, S)``: True at the real (non-padding) source positions."""
        return (src != self.config.pad_id)[:, None, None, :]  # (B, 1, 1, S)

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        """The whole source at once: ``src (B, S)`` ids -> ``memory (B, S, d_model)``."""
        self._check_ids(src, "src", self.config.src_vocab_size)
        x = _embed(self.src_embed, src, self.pe, self.dropout)  # (B, S, d_model)
        mask = self.source_mask(src)  # (B, 1, 1, S)
        for layer in self.encoder:
            x = layer(x, mask)  # (B, S, d_model)
        return self.encoder_norm(x)  # (B, S, d_model)

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``(B, T, V)`` for every prefix of ``tgt_in (B, T)``.

        The causal mask hides the future; the keys and values of the cross-attention are
        the encoder output ``memory (B, S, d_model)``, masked where ``src`` is padding.
        """
        self._check_ids(tgt_in, "tgt_in", self.config.tgt_vocab_size)
        y = _embed(self.tgt_embed, tgt_in, self.pe, self.dropout)  # (B, T, d_model)
        self_mask = causal_mask(tgt_in.size(1), device=tgt_in.device)  # (T, T)
        memory_mask = self.source_mask(src)  # (B, 1, 1, S)
        for layer in self.decoder:
            y = layer(y, memory, self_mask, memory_mask)  # (B, T, d_model)
        return self.generator(self.decoder_norm(y))  # (B, T, V)

    def forward(
        self, src: torch.Tensor, tgt_in: torch.Tensor, tgt_out: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher forcing: ``logits (B, T, V)`` for ``tgt_in`` and the loss against ``tgt_out``.

        ``tgt_in`` is the target shifted right (start token first), ``tgt_out`` the target
        followed by the end token; positions where ``tgt_out == pad_id`` are not scored.
        """
        if tgt_out is not None:
            check_tensor(tgt_out, "tgt_out", tuple(tgt_in.shape), dtype=torch.long)
        logits = self.decode(tgt_in, self.encode(src), src)  # (B, T, V)
        if tgt_out is None:
            return logits, None
        loss = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=self.config.pad_id
        )
        return logits, loss

    def _check_decode_args(self, src: torch.Tensor, max_len: int, bos_id: int, eos_id: int) -> None:
        self._check_ids(src, "src", self.config.src_vocab_size)
        if not isinstance(max_len, int) or not 1 <= max_len <= self.config.max_len:
            raise ValueError(f"max_len must be an int in [1, {self.config.max_len}], got {max_len!r}")
        for name, i in (("bos_id", bos_id), ("eos_id", eos_id)):
            if not isinstance(i, int) or not 0 <= i < self.config.tgt_vocab_size:
                raise ValueError(f"{name} must be a token id in [0, {self.config.tgt_vocab_size}), got {i!r}")

    @torch.no_grad()
    def greedy_decode(
        self, src: torch.Tensor, max_len: int, bos_id: int, eos_id: int, return_probs: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Batched greedy decoding: feed the start token, then each argmax back in.

        Returns ``ids (B, L)`` (without the start token; each row ends with ``eos_id``
        followed by ``pad_id``, unless ``max_len`` ran out), and with ``return_probs`` also
        the softmax ``probs (B, L, V)`` of every step.
        """
        self._check_decode_args(src, max_len, bos_id, eos_id)
        was_training = self.training
        self.eval()
        memory = self.encode(src)  # (B, S, d_model)
        B = src.size(0)
        ys = torch.full((B, 1), bos_id, dtype=torch.long, device=src.device)  # (B, 1)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)  # (B,)
        probs = []
        for _ in range(max_len):
            p = torch.softmax(self.decode(ys, memory, src)[:, -1], dim=-1)  # (B, V) the last position
            nxt = p.argmax(dim=-1)  # (B,)
            nxt = nxt.masked_fill(done, self.config.pad_id)  # (B,) finished rows only pad
            ys = torch.cat([ys, nxt[:, None]], dim=1)  # (B, t+1)
            probs.append(p)
            done |= nxt == eos_id
            if bool(done.all()):
                break
        self.train(was_training)
        out = ys[:, 1:]  # (B, L)
        return (out, torch.stack(probs, dim=1)) if return_probs else out

    @torch.no_grad()
    def beam_search(
        self, src: torch.Tensor, max_len: int, bos_id: int, eos_id: int, beam_size: int = 4
    ) -> torch.Tensor:
        """Batched beam search: keep the ``beam_size`` best prefixes by total log-probability.

        Returns the best finished sequence of every source ``(B, L)``, in the format of
        :meth:`greedy_decode`. No length normalisation (the task's outputs are short).
        """
        self._check_decode_args(src, max_len, bos_id, eos_id)
        check_positive_int(beam_size, "beam_size")
        was_training = self.training
        self.eval()
        B, k, V, pad = src.size(0), beam_size, self.config.tgt_vocab_size, self.config.pad_id
        src_k = src.repeat_interleave(k, dim=0)  # (B*k, S)
        memory = self.encode(src_k)  # (B*k, S, d_model)
        ys = torch.full((B * k, 1), bos_id, dtype=torch.long, device=src.device)  # (B*k, 1)
        scores = torch.full((B, k), float("-inf"), device=src.device)  # (B, k)
        scores[:, 0] = 0.0  # all beams start identical: expand only the first
        done = torch.zeros(B * k, dtype=torch.bool, device=src.device)  # (B*k,)
        for _ in range(max_len):
            logp = torch.log_softmax(self.decode(ys, memory, src_k)[:, -1], dim=-1)  # (B*k, V)
            # a finished beam can only be extended by padding, at no cost
            logp = torch.where(done[:, None], torch.full_like(logp, float("-inf")), logp)  # (B*k, V)
            logp[done, pad] = 0.0
            cand = (scores.view(B * k, 1) + logp).view(B, k * V)  # (B, k*V)
            scores, flat = cand.topk(k, dim=-1)  # (B, k), (B, k)
            parent = (torch.arange(B, device=src.device)[:, None] * k + flat // V).view(-1)  # (B*k,)
            token = (flat % V).view(-1)  # (B*k,)
            ys = torch.cat([ys[parent], token[:, None]], dim=1)  # (B*k, t+1)
            done = done[parent] | (token == eos_id)  # (B*k,)
            if bool(done.all()):
                break
        self.train(was_training)
        best = scores.argmax(dim=-1)  # (B,)
        rows = torch.arange(B, device=src.device) * k + best  # (B,)
        return ys[rows, 1:]  # (B, L)

    def attention_weights(self) -> dict[str, list[torch.Tensor]]:
        """Attention weights ``(B, heads, T_q, T_k)`` of the last forward pass, per layer.

        Keys: ``"encoder"`` (encoder self-attention), ``"decoder"`` (masked self-attention)
        and ``"cross"`` (encoder-decoder attention).
        """

        def get(attn: MultiHeadAttention) -> torch.Tensor:
            if attn.last_weights is None:
                raise RuntimeError("no attention weights yet: run the model forward first")
            return attn.last_weights

        return {
            "encoder": [get(layer.self_attn) for layer in self.encoder],
            "decoder": [get(layer.self_attn) for layer in self.decoder],
            "cross": [get(layer.cross_attn) for layer in self.decoder],
        }


@dataclass
class TransformerLMConfig:
    """Sizes of a decoder-only :class:`TransformerLM` (GPT-style, pre-LN by default)."""

    vocab_size: int
    context_size: int = 128
    d_model: int = 128
    num_heads: int = 4
    num_layers: int = 4
    d_ff: int = 512
    dropout: float = 0.1
    norm_first: bool = True


class TransformerLM(LanguageModel):
    """A decoder-only Transformer language model: the same blocks with a causal mask.

    A decoder without an encoder has no cross-attention, so each block is an
    :class:`EncoderLayer` whose self-attention is masked causally: position ``t`` sees
    ``x_1..x_t`` and predicts ``x_{t+1}``. ``context_size`` is the longest input.
    """

    def __init__(self, config: TransformerLMConfig) -> None:
        super().__init__()
        c = config
        if c.d_model % c.num_heads:
            raise ValueError(f"d_model ({c.d_model}) must be divisible by num_heads ({c.num_heads})")
        self.config = c
        self.vocab_size = c.vocab_size
        self.context_size = c.context_size
        self.embed = nn.Embedding(c.vocab_size, c.d_model)
        self.register_buffer(
            "pe", sinusoidal_positional_encoding(c.context_size, c.d_model), persistent=False
        )
        self.dropout = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(
            EncoderLayer(c.d_model, c.num_heads, c.d_ff, c.dropout, c.norm_first) for _ in range(c.num_layers)
        )
        self.norm = nn.LayerNorm(c.d_model) if c.norm_first else nn.Identity()
        self.lm_head = nn.Linear(c.d_model, c.vocab_size)
        nn.init.normal_(self.embed.weight, std=c.d_model**-0.5)  # as in Seq2SeqTransformer

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``idx (B, T)`` with ``T <= context_size`` -> ``logits (B, T, V)`` and the loss."""
        self.check_inputs(idx, targets)
        T = idx.size(1)
        if T > self.context_size:
            raise ValueError(f"idx (B, T) must have T <= context_size={self.context_size}, got T={T}")
        x = _embed(self.embed, idx, self.pe, self.dropout)  # (B, T, d_model): tokens + positions
        mask = causal_mask(T, device=idx.device)  # (T, T)
        for block in self.blocks:
            x = block(x, mask)  # (B, T, d_model)
        logits = self.lm_head(self.norm(x))  # (B, T, V)
        return logits, self.lm_loss(logits, targets)


def warmup_cosine(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Learning-rate schedule: linear warm-up for ``warmup_steps``, then cosine decay to 0.

    The paper warms up too (then decays with ``1/sqrt(step)``); without a warm-up a post-LN
    Transformer easily diverges at a large learning rate. Step it once per optimiser step.
    """
    check_positive_int(total_steps, "total_steps")
    if not isinstance(warmup_steps, int) or not 0 <= warmup_steps < total_steps:
        raise ValueError(
            f"warmup_steps must be an int in [0, total_steps={total_steps}), got {warmup_steps!r}"
        )

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
