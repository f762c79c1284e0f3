from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from seqnotes.plotting import heatmap, plot_history, setup_korean_font, use_book_style
from seqnotes.training import History


def test_korean_text_renders_without_missing_glyph_warnings(tmp_path) -> None:
    use_book_style()
    fig, ax = plt.subplots()
    ax.plot([1, 10, 100])
    ax.set_yscale("log")  # mathtext tick labels with a minus sign: 10^{-1}
    ax.set_title("기울기 소실 −1")
    ax.set_xlabel("시간 t")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" is a UserWarning
        fig.savefig(tmp_path / "korean.png")


def test_setup_korean_font_registers_nanum() -> None:
    from matplotlib import font_manager

    name = setup_korean_font()
    path = font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
    assert "NanumGothic" in path


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


def test_plot_history_from_history_and_mapping() -> None:
    h = History(steps=[1, 2, 3], loss=[3.0, 2.0, 1.0], grad_norm=[1.0, 1.0, 1.0], lr=[0.1] * 3)
    h.eval_steps, h.evals = [3], {"val_loss": [1.5]}
    ax = plot_history(h, keys=("loss", "val_loss"), logy=True)
    assert len(ax.lines) == 2
    ax = plot_history({"loss": [3.0, 2.0, 1.0, 0.5]}, smooth=2)
    assert len(ax.lines[0].get_xdata()) == 3
    with pytest.raises(KeyError, match="unknown history key"):
        plot_history(h, keys=("acc",))
    with pytest.raises(ValueError, match="smooth"):
        plot_history(h, smooth=0)
