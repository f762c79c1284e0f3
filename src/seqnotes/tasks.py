"""Synthetic long-range tasks: the adding problem (Hochreiter & Schmidhuber, 1997).

Every input is a sequence of ``T`` pairs ``(value, marker)``: ``value ~ U[0, 1)`` and exactly
two positions carry ``marker = 1``, one in the first half of the sequence and one in the
second half (the form used in most papers since). The target is the sum of the two marked
values. The first marked value has to survive at least ``T / 2`` steps to reach the output
at the end.

A model that ignores the input and always predicts the mean, 1, has mean squared error
``Var(u1 + u2) = 2 / 12 = 1/6`` (:data:`BASELINE_MSE`): an error at that level means "has
learned nothing about the marked values". Remembering only the second value gives
``Var(u1) = 1/12``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqnotes.training import History, fit
from seqnotes.utils import check_positive_int, check_tensor, make_generator, seed_everything

__all__ = [
    "BASELINE_MSE",
    "AddingResult",
    "SequenceRegressor",
    "adding_batches",
    "adding_problem",
    "make_recurrent",
    "set_forget_bias_",
    "train_adding",
]

BASELINE_MSE = 1.0 / 6.0  # MSE of always predicting E[u1 + u2] = 1


def adding_problem(n: int, seq_len: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` adding-problem examples of length ``seq_len`` (>= 2).

    Returns ``(x (n, T, 2), y (n,))``: ``x[..., 0]`` the values, ``x[..., 1]`` the markers
    (a one at a random position in ``[0, T // 2)`` and another in ``[T // 2, T)``), and ``y``
    the sum of the two marked values. Deterministic for a given ``generator`` state.
    """
    check_positive_int(n, "n")
    if not isinstance(seq_len, int) or isinstance(seq_len, bool) or seq_len < 2:
        raise ValueError(f"seq_len must be an int >= 2, got {seq_len!r}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    half = seq_len // 2
    values = torch.rand(n, seq_len, generator=generator)  # (n, T)
    first = torch.randint(0, half, (n,), generator=generator)  # (n,): in the first half
    second = torch.randint(half, seq_len, (n,), generator=generator)  # (n,): in the second half
    markers = torch.zeros(n, seq_len)  # (n, T)
    rows = torch.arange(n)  # (n,)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]  # (n,)
    x = torch.stack([values, markers], dim=-1)  # (n, T, 2)
    return x, y


def adding_batches(
    seq_len: int, batch_size: int, generator: torch.Generator
) -> Callable[[int], tuple[torch.Tensor, torch.Tensor]]:
    """A ``get_batch(step)`` for :func:`seqnotes.training.fit`: fresh examples every step."""

    def get_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        return adding_problem(batch_size, seq_len, generator)

    return get_batch


class SequenceRegressor(nn.Module):
    """Read a sequence with a recurrent layer and predict one number from the last state.

    ``layer`` is any batch-first recurrent module returning ``(outputs (B, T, H), state)``
    (:class:`seqnotes.rnn.RNN`, :class:`seqnotes.lstm.LSTM`, :class:`seqnotes.lstm.GRU`).
    ``forward(x (B, T, D), y (B,) = None) -> (pred (B,), mse | None)``.
    """

    def __init__(self, layer: nn.Module, hidden_size: int) -> None:
        super().__init__()
        self.layer = layer
        self.head = nn.Linear(hidden_size, 1)

    def forward(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        check_tensor(x, "x", ("B", "T", "D"))
        outputs, _ = self.layer(x)  # (B, T, H)
        pred = self.head(outputs[:, -1]).squeeze(-1)  # (B,)
        if y is None:
            return pred, None
        check_tensor(y, "y", (x.size(0),))
        return pred, F.mse_loss(pred, y)


def make_recurrent(kind: str, input_size: int, hidden_size: int, impl: str = "seqnotes") -> nn.Module:
    """A batch-first recurrent layer of ``kind``: ``"rnn"`` (tanh), ``"lstm"`` or ``"gru"``.

    ``impl="seqnotes"`` builds the book's from-scratch layer; ``impl="torch"`` the same model
    from ``torch.nn`` (fused C++ loop, faster on a CPU). Both return ``(outputs, state)``.
    """
    if impl not in ("seqnotes", "torch"):
        raise ValueError(f"impl must be 'seqnotes' or 'torch', got {impl!r}")
    if impl == "torch":
        layers = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
        if kind not in layers:
            raise ValueError(f"kind must be 'rnn', 'lstm' or 'gru', got {kind!r}")
        return layers[kind](input_size, hidden_size, batch_first=True)
    if kind == "rnn":
        from seqnotes.rnn import RNN

        return RNN(input_size, hidden_size, "tanh")
    if kind == "lstm":
        from seqnotes.lstm import LSTM

        return LSTM(input_size, hidden_size)
    if kind == "gru":
        from seqnotes.lstm import GRU

        return GRU(input_size, hidden_size)
    raise ValueError(f"kind must be 'rnn', 'lstm' or 'gru', got {kind!r}")


@torch.no_grad()
def set_forget_bias_(layer: nn.Module, value: float) -> nn.Module:
    """Set an LSTM's forget-gate bias to ``value`` (Gers et al., 2000, suggest a positive one).

    With ``f_t = sigmoid(... + value)`` close to 1 at the start, the cell state is kept by
    default and the gradient along it does not vanish before training has begun. Works for
    :class:`seqnotes.lstm.LSTM` (one bias) and ``torch.nn.LSTM`` (two biases, gate order
    i, f, g, o).
    """
    from seqnotes.lstm import LSTM

    if isinstance(layer, LSTM):
        h = layer.hidden_size
        layer.cell.bias[h : 2 * h] = value
    elif isinstance(layer, nn.LSTM):
        h = layer.hidden_size
        layer.bias_ih_l0[h : 2 * h] = value
        layer.bias_hh_l0[h : 2 * h] = 0.0
    else:
        raise TypeError(f"layer must be an LSTM (seqnotes or torch.nn), got {type(layer).__name__}")
    return layer


@dataclass
class AddingResult:
    """One run of :func:`train_adding`: the model, its training history and held-out MSE."""

    kind: str
    seq_len: int
    model: SequenceRegressor
    history: History
    test_mse: float


def train_adding(
    kind: str,
    seq_len: int,
    *,
    steps: int = 1500,
    hidden_size: int = 32,
    batch_size: int = 32,
    lr: float = 1e-2,
    decay_at: float = 0.8,
    clip_grad_norm: float | None = 1.0,
    n_test: int = 1000,
    seed: int = 0,
    impl: str = "seqnotes",
    forget_bias: float | None = None,
) -> AddingResult:
    """Train a ``kind`` model (see :func:`make_recurrent`) on the adding problem with ``fit``.

    Adam with learning rate ``lr``, divided by 10 after ``decay_at * steps`` steps so that the
    final error is not a snapshot of a noisy step; gradients clipped to ``clip_grad_norm``.

    The model's initialisation uses ``seed``; training batches and the held-out set of
    ``n_test`` examples come from their own generators (seeds ``seed + 1`` and ``seed + 2``),
    so every kind sees the same data. Returns an :class:`AddingResult`.
    """
    seed_everything(seed)
    layer = make_recurrent(kind, 2, hidden_size, impl)
    if forget_bias is not None:
        set_forget_bias_(layer, forget_bias)
    model = SequenceRegressor(layer, hidden_size)
    train_gen = make_generator(seed + 1)
    x_test, y_test = adding_problem(n_test, seq_len, make_generator(seed + 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    milestone = max(1, int(decay_at * steps))
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[milestone], gamma=0.1)
    history = fit(
        model,
        adding_batches(seq_len, batch_size, train_gen),
        steps=steps,
        optimizer=optimizer,
        scheduler=scheduler,
        clip_grad_norm=clip_grad_norm,
    )
    with torch.no_grad():
        _, test_loss = model(x_test, y_test)
    return AddingResult(kind, seq_len, model, history, float(test_loss))
