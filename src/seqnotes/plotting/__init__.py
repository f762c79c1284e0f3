"""Figures of every chapter (Chapters 0-5): matrices (:mod:`.matrices`) and curves (:mod:`.curves`).

The chapters import every plotting helper from here; the Korean font, the book's style and
its one colour per model (:data:`MODEL_COLORS`) are :mod:`seqnotes.style`.
"""

from seqnotes.plotting.curves import (
    gradient_markers_legend,
    plot_curves,
    plot_gradient_vs_distance,
    plot_history,
    plot_ranking_spread,
    plot_seed_spread,
    plot_seeds_by_length,
)
from seqnotes.plotting.matrices import heatmap, heatmap_grid
from seqnotes.style import MODEL_COLORS

__all__ = [
    "MODEL_COLORS",
    "gradient_markers_legend",
    "heatmap",
    "heatmap_grid",
    "plot_curves",
    "plot_gradient_vs_distance",
    "plot_history",
    "plot_ranking_spread",
    "plot_seed_spread",
    "plot_seeds_by_length",
]
