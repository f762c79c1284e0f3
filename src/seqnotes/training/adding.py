"""Trainers for the adding problem: one model, or several seeds as one batched model (Chapters 2, 3).

Notes line 9 ("아주 먼 과거의 데이터가 소실 됨") and line 13 ("어떻게 long term dep을
해결했는가?") as experiments: :func:`train_adding` trains one RNN, LSTM or GRU on
:func:`seqnotes.tasks.adding.adding_problem`; :func:`train_adding_seeds` trains several seeds
of one kind at once as a :class:`seqnotes.training.stacked.StackedRegressor` (every seed its own
clipping; for the RNN optionally plain SGD and a chosen spectral radius: Chapter 2's clipping
experiment). :func:`seed_tests` is every seed's held-out set.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from seqnotes.measure.gradients import gaussian_init_
from seqnotes.models.gated import set_forget_bias_
from seqnotes.models.lm import make_recurrent
from seqnotes.models.recurrent import SequenceRegressor
from seqnotes.tasks.adding import adding_batches, adding_problem
from seqnotes.training.loop import History, fit
from seqnotes.training.schedules import step_decay
from seqnotes.training.stacked import StackedRegressor
from seqnotes.utils import check_positive_int, make_generator, seed_everything

__all__ = [
    "AddingRecipe",
    "AddingResult",
    "SeedRuns",
    "seed_tests",
    "torch_default_regressor",
    "train_adding",
    "train_adding_seeds",
]


@dataclass
class AddingResult:
    """One run of :func:`train_adding`: the model, its training history and held-out MSE."""

    kind: str
    seq_len: int
    model: SequenceRegressor
    history: History
    test_mse: float


@dataclass(frozen=True)
class AddingRecipe:
    """How Chapters 2 and 3 train on the adding problem: Adam with learning rate ``lr``,
    divided by 10 after ``decay_at * steps`` steps (never if None) so that the final error is
    not a snapshot of a noisy step, gradients clipped to ``clip_grad_norm`` (None: not
    clipped), ``batch_size`` fresh examples per step and ``n_test`` held-out examples."""

    steps: int = 1500
    hidden_size: int = 32
    batch_size: int = 32
    lr: float = 1e-2
    decay_at: float | None = 0.8
    clip_grad_norm: float | None = 1.0
    n_test: int = 1000

    def __post_init__(self) -> None:
        for name in ("steps", "hidden_size", "batch_size", "n_test"):
            check_positive_int(getattr(self, name), name)


def train_adding(
    kind: str,
    seq_len: int,
    *,
    seed: int = 0,
    impl: str = "seqnotes",
    forget_bias: float | None = None,
    **recipe: float | None,
) -> AddingResult:
    """Train a ``kind`` model (see :func:`make_recurrent`) on the adding problem with ``fit``.

    ``recipe`` holds the fields of :class:`AddingRecipe` to change (e.g. ``steps=400``).
    The model's initialisation uses ``seed``; training batches and the held-out set come
    from their own generators (seeds ``seed + 1`` and ``seed + 2``), so every kind sees the
    same data. ``forget_bias`` sets an LSTM's forget-gate bias. Returns an :class:`AddingResult`.
    """
    r = AddingRecipe(**recipe)
    seed_everything(seed)
    layer = make_recurrent(kind, 2, r.hidden_size, impl)
    if forget_bias is not None:
        set_forget_bias_(layer, forget_bias)
    model = SequenceRegressor(layer, r.hidden_size)
    train_gen = make_generator(seed + 1)
    x_test, y_test = adding_problem(r.n_test, seq_len, make_generator(seed + 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=r.lr)
    history = fit(
        model,
        adding_batches(seq_len, r.batch_size, train_gen),
        steps=r.steps,
        optimizer=optimizer,
        scheduler=step_decay(optimizer, r.steps, r.decay_at),
        clip_grad_norm=r.clip_grad_norm,
    )
    with torch.no_grad():
        _, test_loss = model(x_test, y_test)
    return AddingResult(kind, seq_len, model, history, float(test_loss))


# ----------------------------------------------------------------------------------------
# Several seeds at once


def seed_tests(seeds: list[int], n_test: int, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seed ``s``'s held-out set (generator ``s + 2``, as :func:`train_adding`), stacked:
    ``(x (S, n_test, T, 2), y (S, n_test))``."""
    tests = [adding_problem(n_test, seq_len, make_generator(s + 2)) for s in seeds]
    return torch.stack([t[0] for t in tests]), torch.stack([t[1] for t in tests])


@dataclass
class SeedRuns:
    """What :func:`train_adding_seeds` measured, one column per seed.

    ``loss``, ``grad_norm`` (before clipping) and ``max_abs_pred`` are ``(steps, S)`` arrays
    of the training batches (NaN after a seed stopped); ``stopped[s]`` is the step at which
    seed ``s``'s loss first was not finite, or None. From that step on the seed gets no
    gradient, so with SGD its weights stay as they were when :func:`seqnotes.training.loop.fit`
    would have stopped; ``test_mse (S,)`` is measured on ``n_test`` held-out examples per seed.
    ``model`` is the trained :class:`seqnotes.training.stacked.StackedRegressor` (``model.unstack(i)``
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
    optimizer: str = "adam",
    init_scale: float | None = None,
    forget_bias: float | None = None,
    **recipe: float | list[float | None] | None,
) -> SeedRuns:
    """:func:`train_adding` of a ``kind`` model for every seed in ``seeds``, as one batched model.

    ``recipe`` holds the :class:`AddingRecipe` fields to change. For ``kind="rnn"`` seed ``s``
    is the model ``train_adding("rnn", seq_len, seed=s, ...)`` builds (Chapter 2); for
    ``"lstm"`` and ``"gru"`` it is :func:`torch_default_regressor` with ``make_generator(s)``
    (``torch.nn``'s default initialisation, Chapter 3). Every seed trains on its own batches
    (generator ``s + 1``) with the same recipe and is tested on its own held-out set (generator
    ``s + 2``): only the arithmetic is batched over seeds (a
    :class:`seqnotes.training.stacked.StackedRegressor`), so a seed's numbers do not depend on
    the other seeds beyond float rounding. Clipping is per seed.
    ``optimizer="sgd"`` uses plain SGD; ``init_scale`` (``kind="rnn"`` only) re-initialises
    each RNN with :func:`seqnotes.measure.gradients.gaussian_init_` (generator ``1000 + s``);
    ``forget_bias`` (``kind="lstm"`` only) is :func:`set_forget_bias_` on each model.
    ``decay_at=None`` keeps the learning rate constant. ``clip_grad_norm`` may also be a list
    with one value (or None: no clipping) per entry of ``seeds``; a seed may then appear more
    than once, e.g. ``seeds=[0, 1, 0, 1]``, ``clip_grad_norm=[None, None, 1.0, 1.0]`` trains
    the same two models with and without clipping in one batched run.
    """
    seeds = list(seeds)
    clip_grad_norm = recipe.pop("clip_grad_norm", AddingRecipe.clip_grad_norm)
    r = AddingRecipe(**recipe)  # the fields one run of train_adding uses; clipping may be per seed
    steps, hidden_size, batch_size = r.steps, r.hidden_size, r.batch_size
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
    opt = opt_cls(params, lr=r.lr, foreach=True)
    scheduler = step_decay(opt, steps, r.decay_at)
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
    with torch.no_grad():
        _, test_mse = stacked(*seed_tests(seeds, r.n_test, seq_len))  # (S,)
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
