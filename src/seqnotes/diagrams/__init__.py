"""Schematic figures drawn with matplotlib (Chapters 2-4.2), one module per family of models.

They are drawn from code (no image files) so they carry the book's font and style and can be
regenerated. Each function draws into ``ax`` (a new figure if None) and returns it.
"""

from seqnotes.diagrams.attention import draw_multi_head, draw_self_attention_flow
from seqnotes.diagrams.recurrent import draw_lstm_cell, draw_unrolled_rnn
from seqnotes.diagrams.transformer import draw_decoding_step, draw_encoder_decoder

__all__ = [
    "draw_decoding_step",
    "draw_encoder_decoder",
    "draw_lstm_cell",
    "draw_multi_head",
    "draw_self_attention_flow",
    "draw_unrolled_rnn",
]
