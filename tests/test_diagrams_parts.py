"""seqnotes.diagrams.parts: the drawing parts add their patches and texts to the axes."""

from __future__ import annotations

import matplotlib.pyplot as plt

from seqnotes.diagrams.parts import BOX, EDGE, arrow, box, grid, line, new_ax, op, two_lines


def test_parts_draw_into_one_axes() -> None:
    ax = new_ax(None, (3, 2))
    assert not ax.axison and ax.get_aspect() == 1.0
    box(ax, 0, 0, 1, 0.5, "상자", BOX, EDGE)
    arrow(ax, (0, 0), (1, 0), text="W")
    op(ax, 1, 1, "×")
    line(ax, [(0, 0), (0, 1), (1, 1)])
    grid(ax, 0, 0, 2, 3, 0.2, "white", EDGE)
    two_lines(ax, 0, -1, "$q$", "질의")
    texts = [t.get_text() for t in ax.texts]
    assert {"상자", "W", "×", "$q$", "질의"} <= set(texts)
    assert len(ax.patches) >= 1 + 1 + 1 + 1 + 6
    plt.close(ax.figure)
