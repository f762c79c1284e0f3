"""seqnotes.plotting.matrices: heatmaps and one panel per head."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from seqnotes.plotting import heatmap


def test_heatmap_labels_and_annotations() -> None:
    weights = torch.softmax(torch.randn(3, 4), dim=-1)
    ax = heatmap(weights, x_labels=list("abcd"), y_labels=["가", "나", "다"], title="t")
    assert [t.get_text() for t in ax.get_xticklabels()] == list("abcd")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["가", "나", "다"]
    assert len(ax.texts) == 12  # small matrices are annotated
    ax = heatmap(np.eye(20))
    assert len(ax.texts) == 0


def test_heatmap_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"2-D \(rows, cols\)"):
        heatmap(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="x_labels must have 3 entries"):
        heatmap(torch.zeros(2, 3), x_labels=["a"])
    with pytest.raises(TypeError, match="2-D torch.Tensor or numpy array"):
        heatmap([[1, 2]])


def test_heatmap_grid_one_panel_per_matrix() -> None:

    from seqnotes.plotting import heatmap_grid

    weights = torch.softmax(torch.randn(3, 4, 5), dim=-1)  # (heads, T_q, T_k)
    fig, axes = heatmap_grid(
        weights,
        list("abcde"),
        list("wxyz"),
        ncols=2,
        ylabel="쿼리",
        xlabel="키",
        colorbar_label="가중치",
        vmin=0,
        vmax=1,
    )
    assert axes.shape == (2, 2) and not axes[1, 1].get_visible()
    assert [ax.get_title() for ax in axes.flat[:3]] == ["헤드 1", "헤드 2", "헤드 3"]
    assert (
        axes[0, 0].get_ylabel() == "쿼리"
        and axes[0, 1].get_ylabel() == ""
        and axes[1, 0].get_xlabel() == "키"
    )
    assert len(fig.axes) == 5  # four panels and one shared colour bar
    plt.close(fig)
    with pytest.raises(ValueError, match="one entry per matrix"):
        heatmap_grid(weights, titles=["a"])
    with pytest.raises(ValueError, match="at least one"):
        heatmap_grid([])
