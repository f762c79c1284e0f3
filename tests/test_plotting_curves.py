"""seqnotes.plotting.curves: training curves, results over seeds and the one gradient-vs-distance plot."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

from seqnotes.plotting import plot_history
from seqnotes.training.loop import History


def test_plot_history_from_history_and_mapping() -> None:
    h = History(steps=[1, 2, 3], loss=[3.0, 2.0, 1.0], grad_norm=[1.0, 1.0, 1.0], lr=[0.1] * 3)
    h.eval_steps, h.evals = [3], {"val_loss": [1.5]}
    ax = plot_history(h, keys=("loss", "eval:val_loss"), logy=True)
    assert len(ax.lines) == 2
    ax = plot_history({"loss": [3.0, 2.0, 1.0, 0.5]}, smooth=2)
    assert len(ax.lines[0].get_xdata()) == 3
    with pytest.raises(KeyError, match="unknown history key"):
        plot_history(h, keys=("acc",))
    with pytest.raises(ValueError, match="smooth"):
        plot_history(h, smooth=0)


def test_model_colors_and_chapter_5_figures() -> None:
    from seqnotes.plotting import MODEL_COLORS, plot_curves, plot_ranking_spread

    assert {"RNN", "LSTM", "GRU", "트랜스포머", "트라이그램", "보간 n-그램"} <= set(MODEL_COLORS)
    fig, (left, right) = plt.subplots(1, 2)
    spread = {"RNN": [17.0, 16.0, 18.0], "새 모델": [20.0]}
    ax = plot_ranking_spread(spread, baselines={"트라이그램": 19.7}, ax=left)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["RNN", "새 모델"]
    assert ax.get_legend() is not None
    ax = plot_curves({"LSTM": [([1, 2], [30.0, 20.0]), ([1, 2], [31.0, 21.0])]}, ax=right, xlabel="단계")
    assert len(ax.get_lines()) == 2 and ax.get_yscale() == "log" and ax.get_xlabel() == "단계"
    with pytest.raises(ValueError, match="at least one number"):
        plot_ranking_spread({"RNN": []})
    plt.close(fig)


def test_gradient_vs_distance_plot_marks_overflow_and_underflow_one_way() -> None:
    from seqnotes.plotting import gradient_markers_legend, plot_gradient_vs_distance, plot_seed_spread

    curves = {"a": torch.tensor([1.0, 1e-3, 0.0, 0.0]), "b": [1.0, 1e3, float("inf"), float("nan")]}
    ax = plot_gradient_vs_distance(curves, top=1e10, bottom=1e-10)
    lines = ax.get_lines()  # a: line + ▼, b: line + ×
    assert [len(line.get_xdata()) for line in lines] == [2, 1, 2, 1]
    assert (lines[1].get_marker(), lines[1].get_xdata()[0], lines[1].get_ydata()[0]) == ("v", 2, 1e-10)
    assert (lines[3].get_marker(), lines[3].get_xdata()[0], lines[3].get_ydata()[0]) == ("x", 2, 1e10)
    assert ax.get_ylim() == pytest.approx((1e-13, 1e13))
    assert [h.get_label() for h in gradient_markers_legend()] == ["inf/NaN이 됨", "0이 됨"]
    with pytest.raises(ValueError, match="1-D"):
        plot_gradient_vs_distance({"c": torch.ones(2, 2)})
    ax = plot_seed_spread([1, 2, 3], torch.tensor([[1.0, 3.0], [2.0, 2.0], [0.0, 4.0]]))
    assert list(ax.get_lines()[0].get_ydata()) == [2.0, 2.0, 2.0]  # the median over seeds
    with pytest.raises(ValueError, match="shape"):
        plot_seed_spread([1, 2], torch.ones(3, 2))


def test_chapter_3_seed_and_distance_plots() -> None:
    from seqnotes.plotting import plot_gradient_vs_distance, plot_seeds_by_length

    ax = plot_seeds_by_length(
        {"RNN": {10: [0.1, 0.2, 0.15], 50: [0.16]}, "LSTM": {10: [1e-3]}}, baseline=1 / 6
    )
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10", "50"]
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="values"):
        plot_seeds_by_length({"RNN": {}})
    ax = plot_gradient_vs_distance(
        {"a": torch.tensor([1.0, 0.1, 0.0, 0.5]), "b": [2.0, 1.0]}, styles={"b": {"ls": "--"}}
    )
    lines = ax.get_lines()
    assert list(lines[0].get_xdata()) == [0, 1, 3]  # a zero cannot be drawn on a log axis ...
    assert list(lines[1].get_xdata()) == [2]  # ... it is marked once, at the first zero
    assert lines[2].get_linestyle() == "--"
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="curves"):
        plot_gradient_vs_distance({})
