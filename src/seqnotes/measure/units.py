"""What one trained LSTM unit does on the adding problem (Chapter 3; notes lines 14-19).

Notes lines 14-19: the input gate decides what to add, the forget gate what to forget. In a
trained adding-problem LSTM one unit does exactly that: :func:`selective_unit` finds it and
measures it alone.
"""

from __future__ import annotations

import torch
from torch import nn

from seqnotes.models.gated import LSTM

__all__ = ["selective_unit"]


@torch.no_grad()
def selective_unit(
    layer: nn.Module,
    head: nn.Linear,
    x: torch.Tensor,
    y: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
) -> dict[str, float]:
    """Find a trained adding-problem LSTM's most selective unit and measure what it does alone.

    ``layer`` is a trained batch-first LSTM, the book's :class:`seqnotes.models.gated.LSTM`
    (e.g. ``runs.model.unstack(k).layer`` of :func:`seqnotes.training.adding.train_adding_seeds`)
    or an ``nn.LSTM(2, H)``, and ``head`` its read-out. The unit whose input gate differs most
    between marked and unmarked positions of ``x (N, T, 2)`` is the ``"unit"``. Returned,
    besides its gate means: ``"corr"``, the correlation of its last cell state with ``y``;
    ``"alone"``, the test MSE on ``(x_test, y_test)`` of a linear read-out of that unit's
    ``h_T`` alone (least squares on ``x``); ``"full"``, the test MSE of the whole model;
    ``"ablated"``, the same model with that unit's read-out weight set to zero;
    ``"drift"``/``"drift_std"``, the mean and standard deviation over sequences of the unit's
    total cell-state change at unmarked steps; and ``"jump_std"``, the standard deviation of
    its total change at the two marked steps.
    """
    ours = layer if isinstance(layer, LSTM) else LSTM.from_torch(layer)  # TypeError for other layers
    _, (h_last, c_last) = ours(x)  # (N, H) x 2
    gates = ours.gates(x)  # {name: (N, T, H)}
    h_test = ours(x_test)[1][0]  # (N', H)
    marked = x[..., 1] == 1  # (N, T)
    i_gate = gates["i"]
    selectivity = i_gate[marked].mean(0) - i_gate[~marked].mean(0)  # (H,)
    unit = int(selectivity.argmax())
    design = torch.stack([h_last[:, unit], torch.ones_like(y)], dim=1)  # (N, 2)
    coef = torch.linalg.lstsq(design, y[:, None]).solution  # (2, 1)
    alone = torch.stack([h_test[:, unit], torch.ones_like(y_test)], dim=1) @ coef  # (N', 1)
    weight = head.weight[0].clone()  # (H,)
    full = h_test @ weight + head.bias  # (N',)
    weight[unit] = 0.0
    ablated = h_test @ weight + head.bias  # (N',)
    c = gates["c"][..., unit]  # (N, T)
    change = torch.diff(c, dim=1, prepend=torch.zeros_like(c[:, :1]))  # (N, T): c_t - c_{t-1}
    drift = (change * ~marked).sum(1)  # (N,): total change at unmarked steps
    jumps = (change * marked).sum(1)  # (N,): total change at the two marked steps
    mse = lambda p: float(((p.flatten() - y_test) ** 2).mean())  # noqa: E731
    return {
        "unit": unit,
        "i_marked": float(i_gate[..., unit][marked].mean()),
        "i_other": float(i_gate[..., unit][~marked].mean()),
        "f_mean": float(gates["f"][..., unit].mean()),
        "corr": float(torch.corrcoef(torch.stack([c_last[:, unit], y]))[0, 1]),
        "alone": mse(alone),
        "full": mse(full),
        "ablated": mse(ablated),
        "drift": float(drift.mean()),
        "drift_std": float(drift.std()),
        "jump_std": float(jumps.std()),
    }
