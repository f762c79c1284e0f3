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
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from seqnotes.training import History, fit
from seqnotes.utils import check_positive_int, check_tensor, make_generator, seed_everything

if TYPE_CHECKING:
    from seqnotes.stacked import StackedRegressor

__all__ = [
    "BASELINE_MSE",
    "AddingResult",
    "SeedRuns",
    "SequenceRegressor",
    "adding_batches",
    "adding_problem",
    "make_recurrent",
    "set_forget_bias_",
    "torch_default_regressor",
    "train_adding",
    "train_adding_seeds",
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


# ----------------------------------------------------------------------------------------
# Several seeds at once: one batched model whose seeds never interact


@dataclass
class SeedRuns:
    """What :func:`train_adding_seeds` measured, one column per seed.

    ``loss``, ``grad_norm`` (before clipping) and ``max_abs_pred`` are ``(steps, S)`` arrays
    of the training batches (NaN after a seed stopped); ``stopped[s]`` is the step at which
    seed ``s``'s loss first was not finite, or None. From that step on the seed gets no
    gradient, so with SGD its weights stay as they were when :func:`seqnotes.training.fit`
    would have stopped; ``test_mse (S,)`` is measured on ``n_test`` held-out examples per seed.
    ``model`` is the trained :class:`seqnotes.stacked.StackedRegressor` (``model.unstack(i)``
    gives seed ``i`` back) and ``init_weight_hh (S, G*H, H)`` its recurrent weights before training.
    """

    seeds: list[int]
    seq_len: int
    model: StackedRegressor
    loss: torch.Tensor
    grad_norm: torch.Tensor
    max_abs_pred: torch.Tensor
    stopped: list[int | None]
    test_mse: torch.Tensor
    init_weight_hh: torch.Tensor
    kind: str = "rnn"

    def smoothed_loss(self, window: int = 25) -> torch.Tensor:
        """Running mean of each seed's training loss, ``(S, steps - window + 1)``.

        Entry ``j`` is the mean of steps ``j + 1 .. j + window``; a window that holds a step
        after the seed stopped (NaN) is NaN.
        """
        check_positive_int(window, "window")
        if window > self.loss.size(0):
            raise ValueError(f"window must be at most the number of steps {self.loss.size(0)}, got {window}")
        return self.loss.T.unfold(1, window, 1).mean(-1)  # (S, steps - window + 1)

    def escape_step(self, level: float = 0.05, window: int = 25) -> list[int | None]:
        """Per seed, the first step whose running-mean loss is below ``level`` (None: never)."""
        out: list[int | None] = []
        for row in self.smoothed_loss(window):  # (steps - window + 1,)
            below = torch.nonzero(row < level).flatten()  # NaN compares False
            out.append(int(below[0]) + window if len(below) else None)
        return out


def _per_seed_clip_(params: list[nn.Parameter], max_norm: torch.Tensor, clip: bool) -> torch.Tensor:
    """Clip each seed's gradient (first axis) to ``max_norm (S,)`` as ``clip_grad_norm_`` does.

    Returns the norms ``(S,)`` before clipping. ``clip=False`` only measures (no seed is clipped).

    The norms are computed in float64, so a float32 gradient never reports an overflowed norm.
    """
    sq = [torch.linalg.vector_norm(p.grad.reshape(p.size(0), -1), dim=1, dtype=torch.float64) for p in params]
    norms = torch.stack(sq).square().sum(0).sqrt()  # (S,)
    if clip:
        scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)  # (S,)
        scale = torch.where(torch.isinf(max_norm), 1.0, scale).float()  # unclipped seeds: 1, even for inf
        for p in params:
            p.grad.mul_(scale.view(-1, *[1] * (p.dim() - 1)))
    return norms.float()


def torch_default_regressor(kind: str, hidden_size: int, generator: torch.Generator) -> SequenceRegressor:
    """A ``SequenceRegressor`` around ``torch.nn.LSTM`` or ``torch.nn.GRU(2, hidden_size)``.

    Every weight and both biases of the layer, then the read-out's weight and bias, are drawn
    in that order from ``U(-1/sqrt(H), 1/sqrt(H))`` with ``generator``: PyTorch's default
    initialisation, reproducible from one generator per seed.
    """
    layers = {"lstm": nn.LSTM, "gru": nn.GRU}
    if kind not in layers:
        raise ValueError(f"kind must be 'lstm' or 'gru', got {kind!r}")
    check_positive_int(hidden_size, "hidden_size")
    model = SequenceRegressor(layers[kind](2, hidden_size, batch_first=True), hidden_size)
    bound = hidden_size**-0.5
    with torch.no_grad():
        for p in [*model.layer.parameters(), model.head.weight[0], model.head.bias[0]]:
            p.copy_((torch.rand(p.numel(), generator=generator) * 2 - 1).view_as(p) * bound)
    return model


def train_adding_seeds(
    seq_len: int,
    seeds: list[int] | range,
    *,
    kind: str = "rnn",
    steps: int = 1500,
    hidden_size: int = 32,
    batch_size: int = 32,
    optimizer: str = "adam",
    lr: float = 1e-2,
    decay_at: float | None = 0.8,
    clip_grad_norm: float | list[float | None] | None = 1.0,
    init_scale: float | None = None,
    forget_bias: float | None = None,
    n_test: int = 1000,
) -> SeedRuns:
    """:func:`train_adding` of a ``kind`` model for every seed in ``seeds``, as one batched model.

    For ``kind="rnn"`` seed ``s`` is the model ``train_adding("rnn", seq_len, seed=s, ...)``
    builds (chapter 2); for ``"lstm"`` and ``"gru"`` it is :func:`torch_default_regressor` with
    ``make_generator(s)`` (``torch.nn``'s default initialisation, chapter 3). Every seed trains on
    its own batches (generator ``s + 1``) with the same recipe and is tested on its own held-out
    set (generator ``s + 2``): only the arithmetic is batched over seeds (a
    :class:`seqnotes.stacked.StackedRegressor`), so a seed's numbers do not depend on the other
    seeds beyond float rounding. Clipping is per seed.
    ``optimizer="sgd"`` uses plain SGD; ``init_scale`` (``kind="rnn"`` only) re-initialises
    each RNN with :func:`seqnotes.rnn.gaussian_init_` (generator ``1000 + s``);
    ``forget_bias`` (``kind="lstm"`` only) is :func:`set_forget_bias_` on each model.
    ``decay_at=None`` keeps the learning rate constant. ``clip_grad_norm`` may also be a list
    with one value (or None: no clipping) per entry of ``seeds``; a seed may then appear more
    than once, e.g. ``seeds=[0, 1, 0, 1]``, ``clip_grad_norm=[None, None, 1.0, 1.0]`` trains
    the same two models with and without clipping in one batched run.
    """
    from seqnotes.rnn import gaussian_init_
    from seqnotes.stacked import StackedRegressor

    seeds = list(seeds)
    check_positive_int(steps, "steps")
    if kind not in ("rnn", "lstm", "gru"):
        raise ValueError(f"kind must be 'rnn', 'lstm' or 'gru', got {kind!r}")
    if init_scale is not None and kind != "rnn":
        raise ValueError(f"init_scale needs kind='rnn', got kind={kind!r}")
    if forget_bias is not None and kind != "lstm":
        raise ValueError(f"forget_bias needs kind='lstm', got kind={kind!r}")
    clips = clip_grad_norm if isinstance(clip_grad_norm, list) else [clip_grad_norm] * len(seeds)
    if not seeds or len(clips) != len(seeds):
        raise ValueError(f"need at least one seed and one clip value per seed, got {seeds!r} and {clips!r}")
    if len(set(zip(seeds, clips, strict=True))) != len(seeds):
        raise ValueError(
            f"every (seed, clip) pair must be distinct, got {list(zip(seeds, clips, strict=True))}"
        )
    if any(c is not None and not c > 0 for c in clips):
        raise ValueError(f"clip values must be positive or None, got {clips!r}")
    max_norm = torch.tensor([float("inf") if c is None else float(c) for c in clips], dtype=torch.float64)
    clip = any(c is not None for c in clips)
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    models = []
    for s in seeds:
        if kind == "rnn":  # chapter 2's model: train_adding("rnn", seed=s)
            seed_everything(s)
            model = SequenceRegressor(make_recurrent(kind, 2, hidden_size), hidden_size)
            if init_scale is not None:
                gaussian_init_(model.layer, init_scale, make_generator(1000 + s))
        else:
            model = torch_default_regressor(kind, hidden_size, make_generator(s))
        if forget_bias is not None:
            set_forget_bias_(model.layer, forget_bias)
        models.append(model)
    stacked = StackedRegressor(models)
    init_weight_hh = stacked.weight_hh.detach().clone()  # (S, G*H, H)
    params = list(stacked.parameters())
    # foreach: one multi-tensor kernel per update stage instead of one small op per parameter (same numbers)
    opt_cls = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
    opt = opt_cls(params, lr=lr, foreach=True)
    milestones = [max(1, int(decay_at * steps))] if decay_at is not None else []
    scheduler = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1)
    gens = [make_generator(s + 1) for s in seeds]
    n = len(seeds)
    loss_log, norm_log, pred_log = (torch.full((steps, n), float("nan")) for _ in range(3))
    stopped: list[int | None] = [None] * n
    all_alive = True
    x = torch.empty(n, batch_size, seq_len, 2)  # (S, B, T, 2): refilled every step
    y = torch.empty(n, batch_size)  # (S, B)
    for step in range(steps):
        for i, g in enumerate(gens):
            x[i], y[i] = adding_problem(batch_size, seq_len, g)  # (B, T, 2), (B,)
        pred, losses = stacked(x, y)  # (S, B), (S,)
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        losses = losses.detach()  # (S,)
        max_pred = pred.detach().abs().amax(1)  # (S,)
        if all_alive and bool(torch.isfinite(losses).all()):  # the common case: nothing to mask
            loss_log[step], pred_log[step] = losses, max_pred
            norm_log[step] = _per_seed_clip_(params, max_norm, clip)
        else:
            alive = torch.tensor([s is None for s in stopped])  # (S,)
            loss_log[step] = torch.where(alive, losses, float("nan"))
            pred_log[step] = torch.where(alive, max_pred, float("nan"))
            for i in torch.nonzero(alive & ~torch.isfinite(losses)).flatten().tolist():
                stopped[i] = step + 1
            alive = torch.tensor([s is None for s in stopped])
            all_alive = False
            for p in params:  # stopped seeds: no update (and no NaN in the norms)
                p.grad[~alive] = 0.0
            norm_log[step] = torch.where(alive, _per_seed_clip_(params, max_norm, clip), float("nan"))
            if not alive.any():
                break
        opt.step()
        scheduler.step()
    tests = [adding_problem(n_test, seq_len, make_generator(s + 2)) for s in seeds]
    with torch.no_grad():
        _, test_mse = stacked(torch.stack([t[0] for t in tests]), torch.stack([t[1] for t in tests]))
    return SeedRuns(
        seeds,
        seq_len,
        stacked.eval(),
        loss_log,
        norm_log,
        pred_log,
        stopped,
        test_mse,
        init_weight_hh,
        kind,
    )
