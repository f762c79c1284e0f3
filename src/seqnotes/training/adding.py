"""Trainers for the adding problem: one model, or several seeds as one batched model (Chapters 2, 3).

Notes line 9 ("아주 먼 과거의 데이터가 소실 됨") and line 13 ("어떻게 long term dep을
해결했는가?") as experiments: :func:`train_adding` trains one RNN, LSTM or GRU on
:func:`seqnotes.tasks.adding.adding_problem`; :func:`train_rnn_seeds` trains the same tanh
RNN for several seeds at once as a :class:`StackedRNNRegressor` (every seed its own clipping,
optionally plain SGD and a chosen spectral radius: Chapter 2's clipping experiment).
:func:`seqnotes.training.packed.train_packed_seeds` is the fast variant for Chapter 3.
:func:`seed_batches` and :func:`seed_tests` are the per-seed data both share.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from seqnotes.measure.gradients import gaussian_init_
from seqnotes.models.gated import set_forget_bias_
from seqnotes.models.lm import make_recurrent
from seqnotes.models.recurrent import RNN, SequenceRegressor
from seqnotes.tasks.adding import adding_batches, adding_problem
from seqnotes.training.loop import History, fit
from seqnotes.training.schedules import step_decay
from seqnotes.utils import check_positive_int, check_tensor, make_generator, seed_everything

__all__ = [
    "AddingRecipe",
    "AddingResult",
    "StackedRNNRegressor",
    "StackedRuns",
    "seed_batches",
    "seed_tests",
    "train_adding",
    "train_rnn_seeds",
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


def seed_batches(
    generators: list[torch.Generator], batch_size: int, seq_len: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One training batch per seed, stacked: ``(x (S, B, T, 2), y (S, B))``."""
    batches = [adding_problem(batch_size, seq_len, g) for g in generators]
    return torch.stack([b[0] for b in batches]), torch.stack([b[1] for b in batches])


def seed_tests(seeds: list[int], n_test: int, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seed ``s``'s held-out set (generator ``s + 2``, as :func:`train_adding`), stacked:
    ``(x (S, n_test, T, 2), y (S, n_test))``."""
    tests = [adding_problem(n_test, seq_len, make_generator(s + 2)) for s in seeds]
    return torch.stack([t[0] for t in tests]), torch.stack([t[1] for t in tests])


class StackedRNNRegressor(nn.Module):
    """``S`` independent tanh-RNN regressors (one per seed) computed as one batched model.

    Each seed ``s`` has its own :class:`SequenceRegressor` around an :class:`RNN`;
    their parameters are stacked along a first axis of size ``S`` (``weight_ih (S, H, D)``,
    ``weight_hh (S, H, H)``, ``bias (S, H)``, ``head_weight (S, H)``, ``head_bias (S,)``) and
    every step is one ``torch.baddbmm`` over the seeds. ``forward(x (S, B, T, D), y (S, B))``
    returns ``(pred (S, B), mse (S,))``: seed ``s`` sees only ``x[s]`` and its own weights, so
    the gradient of ``mse.sum()`` with respect to seed ``s``'s weights is its own gradient.
    """

    def __init__(self, models: list[SequenceRegressor]) -> None:
        super().__init__()
        if not models or not all(
            isinstance(m, SequenceRegressor) and isinstance(m.layer, RNN) and m.layer.nonlinearity == "tanh"
            for m in models
        ):
            raise TypeError("models must be a non-empty list of SequenceRegressor around a tanh seqnotes RNN")
        cells = [m.layer.cell for m in models]
        self.weight_ih = nn.Parameter(torch.stack([c.weight_ih.detach() for c in cells]).clone())
        self.weight_hh = nn.Parameter(torch.stack([c.weight_hh.detach() for c in cells]).clone())
        self.bias = nn.Parameter(torch.stack([c.bias.detach() for c in cells]).clone())
        self.head_weight = nn.Parameter(torch.stack([m.head.weight.detach()[0] for m in models]).clone())
        self.head_bias = nn.Parameter(torch.stack([m.head.bias.detach()[0] for m in models]).clone())

    def forward(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        n_seeds, hidden = self.bias.shape
        check_tensor(x, "x", (n_seeds, "B", "T", self.weight_ih.size(2)))
        xw = torch.einsum("sbtd,shd->sbth", x, self.weight_ih) + self.bias[:, None, None, :]  # (S, B, T, H)
        h = x.new_zeros(n_seeds, x.size(1), hidden)  # (S, B, H)
        w_hh_t = self.weight_hh.transpose(1, 2)  # (S, H, H)
        for t in range(x.size(2)):
            h = torch.tanh(torch.baddbmm(xw[:, :, t], h, w_hh_t))  # (S, B, H)
        pred = (h * self.head_weight[:, None, :]).sum(-1) + self.head_bias[:, None]  # (S, B)
        if y is None:
            return pred, None
        check_tensor(y, "y", (n_seeds, x.size(1)))
        return pred, ((pred - y) ** 2).mean(dim=1)  # (S,)

    @torch.no_grad()
    def unstack(self, s: int) -> SequenceRegressor:
        """Seed ``s`` as an ordinary :class:`SequenceRegressor` (a copy)."""
        hidden, inputs = self.weight_ih.shape[1:]
        model = SequenceRegressor(RNN(inputs, hidden, "tanh"), hidden)
        cell = model.layer.cell
        cell.weight_ih.copy_(self.weight_ih[s])
        cell.weight_hh.copy_(self.weight_hh[s])
        cell.bias.copy_(self.bias[s])
        model.head.weight.copy_(self.head_weight[s][None])
        model.head.bias.copy_(self.head_bias[s][None])
        return model.eval()


@dataclass
class StackedRuns:
    """What :func:`train_rnn_seeds` measured, one column per seed.

    ``loss``, ``grad_norm`` (before clipping) and ``max_abs_pred`` are ``(steps, S)`` arrays
    of the training batches (NaN after a seed stopped); ``stopped[s]`` is the step at which
    seed ``s``'s loss first was not finite, or None. From that step on the seed gets no
    gradient, so with SGD its weights stay as they were when :func:`seqnotes.training.loop.fit`
    would have stopped; ``test_mse (S,)`` is measured on ``n_test`` held-out examples per seed.
    """

    seeds: list[int]
    seq_len: int
    model: StackedRNNRegressor
    loss: torch.Tensor
    grad_norm: torch.Tensor
    max_abs_pred: torch.Tensor
    stopped: list[int | None]
    test_mse: torch.Tensor
    init_weight_hh: torch.Tensor


def _per_seed_clip_(params: list[nn.Parameter], max_norm: torch.Tensor) -> torch.Tensor:
    """Clip each seed's gradient (first axis) to ``max_norm (S,)`` as ``clip_grad_norm_`` does.

    Returns the norms ``(S,)`` before clipping.

    The norms are computed in float64, so a float32 gradient never reports an overflowed norm.
    """
    norms = (
        torch.stack([p.grad.reshape(p.size(0), -1).double().pow(2).sum(1) for p in params]).sum(0).sqrt()
    )  # (S,)
    if bool(torch.isfinite(max_norm).any()):
        scale = (max_norm / (norms + 1e-6)).clamp(max=1.0).float()  # (S,)
        for p in params:
            p.grad.mul_(scale.view(-1, *[1] * (p.dim() - 1)))
    return norms.float()


def train_rnn_seeds(
    seq_len: int,
    seeds: list[int] | range,
    *,
    steps: int = 1500,
    hidden_size: int = 32,
    batch_size: int = 32,
    optimizer: str = "adam",
    lr: float = 1e-2,
    decay_at: float | None = 0.8,
    clip_grad_norm: float | list[float | None] | None = 1.0,
    init_scale: float | None = None,
    n_test: int = 1000,
) -> StackedRuns:
    """:func:`train_adding` of a tanh RNN for every seed in ``seeds``, as one batched model.

    Seed ``s`` is the model ``train_adding("rnn", seq_len, seed=s, ...)`` builds, trained on
    the same batches (generator ``s + 1``) with the same recipe, and tested on the same
    held-out set (generator ``s + 2``): only the arithmetic is batched over seeds, so a
    seed's numbers differ from the single run by float rounding only. Clipping is per seed.
    ``optimizer="sgd"`` uses plain SGD; ``init_scale`` re-initialises each RNN with
    :func:`seqnotes.measure.gradients.gaussian_init_` (generator ``1000 + s``).
    ``decay_at=None`` keeps the learning rate constant. ``clip_grad_norm`` may also be a list
    with one value (or None: no clipping) per entry of ``seeds``; a seed may then appear more
    than once, e.g. ``seeds=[0, 1, 0, 1]``, ``clip_grad_norm=[None, None, 1.0, 1.0]`` trains
    the same two models with and without clipping in one batched run.
    """
    seeds = list(seeds)
    check_positive_int(steps, "steps")
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
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    models = []
    for s in seeds:
        seed_everything(s)
        layer = make_recurrent("rnn", 2, hidden_size)
        model = SequenceRegressor(layer, hidden_size)
        if init_scale is not None:
            gaussian_init_(layer, init_scale, make_generator(1000 + s))
        models.append(model)
    stacked = StackedRNNRegressor(models)
    init_weight_hh = stacked.weight_hh.detach().clone()  # (S, H, H)
    params = list(stacked.parameters())
    opt = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else torch.optim.SGD(params, lr=lr)
    scheduler = step_decay(opt, steps, decay_at)
    gens = [make_generator(s + 1) for s in seeds]
    n = len(seeds)
    loss_log, norm_log, pred_log = (torch.full((steps, n), float("nan")) for _ in range(3))
    stopped: list[int | None] = [None] * n
    all_alive = True
    for step in range(steps):
        x, y = seed_batches(gens, batch_size, seq_len)  # (S, B, T, 2), (S, B)
        pred, losses = stacked(x, y)  # (S, B), (S,)
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        losses = losses.detach()
        if all_alive and bool(torch.isfinite(losses).all()):  # the common case: nothing to mask
            loss_log[step], pred_log[step] = losses, pred.detach().abs().amax(1)
            norm_log[step] = _per_seed_clip_(params, max_norm)
        else:
            alive = torch.tensor([s is None for s in stopped])  # (S,)
            loss_log[step] = torch.where(alive, losses, float("nan"))
            pred_log[step] = torch.where(alive, pred.detach().abs().amax(1), float("nan"))
            for i in torch.nonzero(alive & ~torch.isfinite(losses)).flatten().tolist():
                stopped[i] = step + 1
            alive = torch.tensor([s is None for s in stopped])
            all_alive = False
            for p in params:  # stopped seeds: no update (and no NaN in the norms)
                p.grad[~alive] = 0.0
            norm_log[step] = torch.where(alive, _per_seed_clip_(params, max_norm), float("nan"))
            if not alive.any():
                break
        opt.step()
        scheduler.step()
    with torch.no_grad():
        _, test_mse = stacked(*seed_tests(seeds, n_test, seq_len))
    return StackedRuns(
        seeds, seq_len, stacked.eval(), loss_log, norm_log, pred_log, stopped, test_mse, init_weight_hh
    )
