"""The encoder-decoder Transformer of "Attention Is All You Need" (Chapter 4.2).

Notes lines 33-35 ("번역 문제에 적용", the whole sentence at once) and 56-62 (the decoder: a
start token, the mask on future queries, the encoder's k and v, softmax and argmax over the
vocabulary). :class:`Seq2SeqTransformer` is embeddings + positions, a stack of
:class:`seqnotes.models.transformer.EncoderLayer` and of ``DecoderLayer``, a linear ``head`` to
the target vocabulary, teacher-forced training, batched greedy decoding and beam search.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqnotes.models.attention import MultiHeadAttention, causal_mask
from seqnotes.models.transformer import (
    DecoderLayer,
    EncoderLayer,
    embed_tokens,
    sinusoidal_positional_encoding,
)
from seqnotes.utils import check_positive_int, check_tensor

__all__ = ["Seq2SeqConfig", "Seq2SeqTransformer"]


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
    context_size: int = 64  # the longest source or target sequence
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
        self.register_buffer(
            "pe", sinusoidal_positional_encoding(c.context_size, c.d_model), persistent=False
        )
        self.dropout = nn.Dropout(c.dropout)
        layer_args = (c.d_model, c.num_heads, c.d_ff, c.dropout, c.norm_first)
        self.encoder = nn.ModuleList(EncoderLayer(*layer_args) for _ in range(c.num_encoder_layers))
        self.decoder = nn.ModuleList(DecoderLayer(*layer_args) for _ in range(c.num_decoder_layers))
        self.encoder_norm = nn.LayerNorm(c.d_model) if c.norm_first else nn.Identity()
        self.decoder_norm = nn.LayerNorm(c.d_model) if c.norm_first else nn.Identity()
        self.head = nn.Linear(c.d_model, c.tgt_vocab_size)  # to vocabulary scores (logits)
        for table in (self.src_embed, self.tgt_embed):  # N(0, 1/d): after * sqrt(d), as large as the PE
            nn.init.normal_(table.weight, std=c.d_model**-0.5)

    def source_mask(self, src: torch.Tensor) -> torch.Tensor:
        """Key mask ``(B, 1, 1, S)``: True at the real (non-padding) source positions."""
        return (src != self.config.pad_id)[:, None, None, :]  # (B, 1, 1, S)

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        """The whole source at once: ``src (B, S)`` ids -> ``memory (B, S, d_model)``."""
        x = embed_tokens(self.src_embed, src, self.pe, self.dropout)  # (B, S, d_model)
        mask = self.source_mask(src)  # (B, 1, 1, S)
        for layer in self.encoder:
            x = layer(x, mask)  # (B, S, d_model)
        return self.encoder_norm(x)  # (B, S, d_model)

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``(B, T, V)`` for every prefix of ``tgt_in (B, T)``.

        The causal mask hides the future; the keys and values of the cross-attention are
        the encoder output ``memory (B, S, d_model)``, masked where ``src`` is padding.
        (:meth:`forward`, :meth:`greedy_decode` and :meth:`beam_search` check the ids once.)
        """
        y = embed_tokens(self.tgt_embed, tgt_in, self.pe, self.dropout)  # (B, T, d_model)
        self_mask = causal_mask(tgt_in.size(1), device=tgt_in.device)  # (T, T)
        memory_mask = self.source_mask(src)  # (B, 1, 1, S)
        for layer in self.decoder:
            y = layer(y, memory, self_mask, memory_mask)  # (B, T, d_model)
        return self.head(self.decoder_norm(y))  # (B, T, V)

    def forward(
        self, src: torch.Tensor, tgt_in: torch.Tensor, tgt_out: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher forcing: ``logits (B, T, V)`` for ``tgt_in`` and the loss against ``tgt_out``.

        ``tgt_in`` is the target shifted right (start token first), ``tgt_out`` the target
        followed by the end token; positions where ``tgt_out == pad_id`` are not scored.
        """
        self._check_ids(src, "src", self.config.src_vocab_size)
        self._check_ids(tgt_in, "tgt_in", self.config.tgt_vocab_size)
        if tgt_out is not None:
            check_tensor(tgt_out, "tgt_out", tuple(tgt_in.shape), dtype=torch.long)
        logits = self.decode(tgt_in, self.encode(src), src)  # (B, T, V)
        if tgt_out is None:
            return logits, None
        loss = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=self.config.pad_id
        )
        return logits, loss

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

    # the guards of the public entry points (forward, greedy_decode, beam_search)

    def _check_ids(self, ids: torch.Tensor, name: str, vocab_size: int) -> None:
        check_tensor(ids, name, ("B", "T"), dtype=torch.long)
        if ids.size(1) > self.config.context_size:
            raise ValueError(
                f"{name} (B, T) must have T <= context_size={self.config.context_size}, got T={ids.size(1)}"
            )
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
            raise ValueError(
                f"{name} values must be in [0, {vocab_size}), got [{int(ids.min())}, {int(ids.max())}]"
            )

    def _check_decode_args(self, src: torch.Tensor, max_len: int, bos_id: int, eos_id: int) -> None:
        self._check_ids(src, "src", self.config.src_vocab_size)
        if not isinstance(max_len, int) or not 1 <= max_len <= self.config.context_size:
            raise ValueError(f"max_len must be an int in [1, {self.config.context_size}], got {max_len!r}")
        for name, i in (("bos_id", bos_id), ("eos_id", eos_id)):
            if not isinstance(i, int) or not 0 <= i < self.config.tgt_vocab_size:
                raise ValueError(f"{name} must be a token id in [0, {self.config.tgt_vocab_size}), got {i!r}")
