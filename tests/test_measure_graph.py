"""seqnotes.measure.graph: sequential depth of the autograd graph and the memory saved for backward."""

from __future__ import annotations

import pytest
import torch

from seqnotes.measure.graph import graph_depth, saved_tensor_bytes
from seqnotes.models.attention import CausalSelfAttention
from seqnotes.models.recurrent import RNN


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
