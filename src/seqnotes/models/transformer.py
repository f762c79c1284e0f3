"""The Transformer's blocks and the decoder-only language model (Chapters 4.2 and 5).

Notes lines 20-24 ("인코더 디코더 모델에서 시작", "no more sequential! parallel") and lines
56-62 (the decoder: masked self-attention, the encoder's k and v, "normalize 하고 ff"):

- :func:`sinusoidal_positional_encoding`: the paper's sin/cos position vectors.
- :class:`EncoderLayer`: self-attention -> add & norm -> feed-forward -> add & norm.
- :class:`DecoderLayer`: masked self-attention, encoder-decoder (cross) attention whose
  keys and values come from the encoder, feed-forward; each with add & norm.
- :class:`TransformerLM`: the decoder-only variant (encoder blocks with a causal mask) as
  a :class:`seqnotes.models.lm.LanguageModel`, for Chapter 5's comparison.

The encoder-decoder model of Chapter 4.2 is :mod:`seqnotes.models.seq2seq`. Both layers copy
their ``torch.nn`` counterparts with ``from_torch`` (post-LN as in the paper, or pre-LN with
``norm_first=True``) and match them numerically (``tests/``). Every mask is a bool tensor,
**True = may attend**, broadcastable to ``(B, heads, T_q, T_k)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqnotes.models.attention import MultiHeadAttention, causal_mask
from seqnotes.models.lm import LanguageModel
from seqnotes.utils import check_positive_int, check_tensor

__all__ = [
    "DecoderLayer",
    "EncoderLayer",
    "FeedForward",
    "TransformerLM",
    "TransformerLMConfig",
    "embed_tokens",
    "sinusoidal_positional_encoding",
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


def embed_tokens(
    table: nn.Embedding, ids: torch.Tensor, pe: torch.Tensor, dropout: nn.Dropout
) -> torch.Tensor:
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


class _Block(nn.Module):
    """What the encoder and decoder layers share: attention sublayers, a feed-forward network,
    one layer norm and one dropout per sublayer (``sublayers`` = 2 or 3)."""

    sublayers = 2

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
        if self.sublayers == 3:
            self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.ff = FeedForward(d_model, d_ff, dropout, activation)
        for i in range(1, self.sublayers + 1):
            self.add_module(f"norm{i}", nn.LayerNorm(d_model, eps=eps))
        for i in range(1, self.sublayers + 1):
            self.add_module(f"dropout{i}", nn.Dropout(dropout))
        self.norm_first = norm_first

    def _sa(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.dropout1(self.self_attn(x, x, x, mask)[0])  # (B, T, d_model)

    @classmethod
    def from_torch(cls, layer: nn.Module) -> _Block:
        """A copy of ``torch.nn.TransformerEncoderLayer`` / ``TransformerDecoderLayer``
        (``batch_first=True``, with biases)."""
        return _from_torch_layer(cls, layer)


class EncoderLayer(_Block):
    """One encoder block: self-attention and a feed-forward network, each with add & norm.

    ``norm_first=False`` is the paper's post-LN, ``x = norm(x + sublayer(x))``;
    ``norm_first=True`` is pre-LN, ``x = x + sublayer(norm(x))``.
    """

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


class DecoderLayer(_Block):
    """One decoder block: masked self-attention, encoder-decoder attention, feed-forward.

    The cross-attention's queries come from the decoder, its keys and values from the
    encoder output ``memory``. Each sublayer has add & norm (post-LN or pre-LN).
    """

    sublayers = 3

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


# ----------------------------------------------------------------------------------------
# Copying torch.nn's layers (the numerical check of every block)


def _activation_name(layer: nn.Module) -> str:
    act = layer.activation
    if act is F.relu or isinstance(act, nn.ReLU):
        return "relu"
    if act is F.gelu or isinstance(act, nn.GELU):
        return "gelu"
    raise ValueError(f"only relu or gelu activations can be copied, got {act!r}")


def _from_torch_layer(cls: type[_Block], layer: nn.Module) -> _Block:
    """Build ``cls`` shaped like the ``torch.nn`` ``layer`` and copy its attention sublayers,
    feed-forward network and layer norms."""
    torch_cls = nn.TransformerDecoderLayer if cls.sublayers == 3 else nn.TransformerEncoderLayer
    if not isinstance(layer, torch_cls):
        raise TypeError(f"layer must be a torch.nn.{torch_cls.__name__}, got {type(layer).__name__}")
    if not layer.self_attn.batch_first:
        raise ValueError("layer must be created with batch_first=True (inputs (B, T, d_model))")
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
    if cls.sublayers == 3:
        ours.cross_attn = MultiHeadAttention.from_torch(layer.multihead_attn)
    ours.ff.linear1.load_state_dict(layer.linear1.state_dict())
    ours.ff.linear2.load_state_dict(layer.linear2.state_dict())
    for i in range(1, cls.sublayers + 1):
        getattr(ours, f"norm{i}").load_state_dict(getattr(layer, f"norm{i}").state_dict())
    return ours


# ----------------------------------------------------------------------------------------
# The decoder-only language model


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
        self.head = nn.Linear(c.d_model, c.vocab_size)
        nn.init.normal_(self.embed.weight, std=c.d_model**-0.5)  # as in seqnotes.models.seq2seq

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``idx (B, T)`` with ``T <= context_size`` -> ``logits (B, T, V)`` and the loss."""
        self.check_inputs(idx, targets)
        T = idx.size(1)
        x = embed_tokens(self.embed, idx, self.pe, self.dropout)  # (B, T, d_model): tokens + positions
        mask = causal_mask(T, device=idx.device)  # (T, T)
        for block in self.blocks:
            x = block(x, mask)  # (B, T, d_model)
        logits = self.head(self.norm(x))  # (B, T, V)
        return logits, self.lm_loss(logits, targets)

    def check_inputs(self, idx: torch.Tensor, targets: torch.Tensor | None) -> None:
        """:meth:`LanguageModel.check_inputs`, and ``T <= context_size``."""
        super().check_inputs(idx, targets)
        if idx.size(1) > self.context_size:
            raise ValueError(
                f"idx (B, T) must have T <= context_size={self.context_size}, got T={idx.size(1)}"
            )
