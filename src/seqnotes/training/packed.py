"""Several seeds of one small recurrent model trained at once, packed (Chapter 3; notes lines 11-19).

Chapter 3's claims about RNN, LSTM and GRU on the adding problem hold over seeds, not one draw.

``S`` independent models of hidden size ``H`` are packed into one ``torch.nn`` layer of
hidden size ``S * H`` whose weight matrices are block-diagonal: seed ``s`` owns the rows and
columns ``s * H : (s + 1) * H`` of every gate block and reads only its own two input
features. Every off-block weight starts at zero and receives a zero gradient (a mask), and
Adam is elementwise, so the blocks never interact: the packed model *is* ``S`` separate
models, trained in one fused C++ loop instead of ``S`` Python loops. Each seed has its own
initialisation (``make_generator(seed)``), its own training batches and its own gradient
clipping, as :func:`seqnotes.training.adding.train_adding` does for one model.

:func:`train_packed_seeds` returns the test MSE and the training-loss curve of every seed, and
:func:`unpack` gives seed ``s`` back as an ordinary ``torch.nn`` layer plus its read-out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from seqnotes.training.adding import AddingRecipe, seed_batches, seed_tests
from seqnotes.training.schedules import step_decay
from seqnotes.utils import check_positive_int, make_generator

__all__ = ["PackedRegressor", "PackedRuns", "train_packed_seeds", "unpack"]

_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _owner(rows: int, cols: int | None, seeds: int, hidden: int, in_per_seed: int) -> torch.Tensor:
    """Seed index owning each entry of a packed parameter, -1 where it belongs to nobody."""
    row_seed = (torch.arange(rows) % (seeds * hidden)) // hidden  # (rows,)
    if cols is None:
        return row_seed
    col_seed = torch.arange(cols) // in_per_seed  # (cols,)
    return torch.where(row_seed[:, None] == col_seed[None, :], row_seed[:, None], -1)  # (rows, cols)


class PackedRegressor(nn.Module):
    """``S`` adding-problem regressors in one block-diagonal ``nn.RNN``/``nn.LSTM``/``nn.GRU``.

    ``forward(x (S, B, T, D)) -> pred (S, B)``.
    """

    def __init__(self, kind: str, seeds: Sequence[int], hidden_size: int, input_size: int = 2) -> None:
        super().__init__()
        if kind not in _GATES:
            raise ValueError(f"kind must be 'rnn', 'lstm' or 'gru', got {kind!r}")
        self.kind, self.seeds = kind, list(seeds)
        s, h, d = len(self.seeds), hidden_size, input_size
        self.hidden_size, self.input_size = h, d
        self.layer = _LAYERS[kind](s * d, s * h, batch_first=True)
        self.head_weight = nn.Parameter(torch.empty(s, h))  # (S, H)
        self.head_bias = nn.Parameter(torch.empty(s))  # (S,)
        owners = {}
        for name, p in self.layer.named_parameters():
            in_per_seed = d if "ih" in name else h
            owners[name] = _owner(p.size(0), p.size(1) if p.dim() == 2 else None, s, h, in_per_seed)
        bound = h**-0.5  # PyTorch's default init U(-1/sqrt(H), 1/sqrt(H)) of one H-unit model
        with torch.no_grad():
            for i, seed in enumerate(self.seeds):
                gen = make_generator(seed)
                for name, p in self.layer.named_parameters():
                    mine = owners[name] == i
                    p[mine] = (torch.rand(int(mine.sum()), generator=gen) * 2 - 1) * bound
                self.head_weight[i] = (torch.rand(h, generator=gen) * 2 - 1) * bound
                self.head_bias[i] = (torch.rand((), generator=gen) * 2 - 1) * bound
            for name, p in self.layer.named_parameters():
                p[owners[name] < 0] = 0.0
        self._owners = {f"layer.{n}": o for n, o in owners.items()}
        self._owners["head_weight"] = torch.arange(s)[:, None].expand(s, h)
        self._owners["head_bias"] = torch.arange(s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, b, t, d = x.shape
        packed = x.permute(1, 2, 0, 3).reshape(b, t, s * d)  # (B, T, S*D)
        outputs, _ = self.layer(packed)  # (B, T, S*H)
        last = outputs[:, -1].view(b, s, self.hidden_size)  # (B, S, H)
        return (last * self.head_weight).sum(-1).T + self.head_bias[:, None]  # (S, B)

    def clip_and_mask_(self, max_norm: float | None) -> torch.Tensor:
        """Zero the off-block gradients and clip each seed's gradient norm; returns the norms (S,)."""
        s = len(self.seeds)
        sq = torch.zeros(s + 1)
        params = dict(self.named_parameters())
        for name, owner in self._owners.items():
            g = params[name].grad
            g[owner < 0] = 0.0
            sq.index_add_(0, (owner.reshape(-1) % (s + 1)), g.reshape(-1).double().pow(2).float())
        norms = sq[:s].sqrt()  # (S,)
        if max_norm is not None:
            scale = torch.clamp(max_norm / (norms + 1e-6), max=1.0)  # (S,)
            for name, owner in self._owners.items():
                g = params[name].grad
                g.mul_(torch.where(owner >= 0, scale[owner.clamp(min=0)], 0.0))
        return norms


@dataclass
class PackedRuns:
    """What :func:`train_packed_seeds` measured: one entry per seed."""

    kind: str
    seq_len: int
    seeds: list[int]
    test_mse: list[float]  # held-out MSE of each seed
    loss: torch.Tensor  # (steps, S): training loss of each seed at every step
    model: PackedRegressor

    def smoothed_loss(self, window: int = 25) -> torch.Tensor:
        """Running mean of each seed's training loss, ``(S, steps - window + 1)``.

        Entry ``j`` is the mean of steps ``j + 1 .. j + window``.
        """
        check_positive_int(window, "window")
        kernel = torch.ones(1, 1, window) / window
        return torch.nn.functional.conv1d(self.loss.T[:, None], kernel)[:, 0]  # (S, steps - window + 1)

    def escape_step(self, level: float = 0.05, window: int = 25) -> list[int | None]:
        """Per seed, the first step whose running-mean loss is below ``level`` (None: never)."""
        out: list[int | None] = []
        for row in self.smoothed_loss(window):
            below = torch.nonzero(row < level).flatten()
            out.append(int(below[0]) + window if len(below) else None)
        return out


def train_packed_seeds(
    kind: str,
    seq_len: int,
    seeds: Sequence[int] = (0, 1, 2),
    *,
    forget_bias: float | None = None,
    **recipe: float | None,
) -> PackedRuns:
    """:func:`seqnotes.training.adding.train_adding` for every seed, trained as one packed model.

    ``recipe`` holds the fields of :class:`seqnotes.training.adding.AddingRecipe` to change;
    each seed's gradient is clipped on its own. Seed ``s`` initialises its block with
    ``make_generator(s)``, draws training batches from ``make_generator(s + 1)`` and is tested
    on ``n_test`` examples from ``make_generator(s + 2)``.
    """
    r = AddingRecipe(**recipe)
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty list of distinct ints, got {seeds!r}")
    model = PackedRegressor(kind, seeds, r.hidden_size)
    if forget_bias is not None:
        if kind != "lstm":
            raise ValueError("forget_bias needs kind='lstm'")
        with torch.no_grad():
            sh = len(seeds) * r.hidden_size
            model.layer.bias_ih_l0[sh : 2 * sh] = forget_bias
            model.layer.bias_hh_l0[sh : 2 * sh] = 0.0
    gens = [make_generator(s + 1) for s in seeds]
    optimizer = torch.optim.Adam(model.parameters(), lr=r.lr)
    scheduler = step_decay(optimizer, r.steps, r.decay_at)
    losses = torch.empty(r.steps, len(seeds))
    for step in range(r.steps):
        x, y = seed_batches(gens, r.batch_size, seq_len)  # (S, B, T, 2), (S, B)
        per_seed = ((model(x) - y) ** 2).mean(dim=1)  # (S,)
        optimizer.zero_grad(set_to_none=False)
        per_seed.sum().backward()
        model.clip_and_mask_(r.clip_grad_norm)
        optimizer.step()
        scheduler.step()
        losses[step] = per_seed.detach()
    with torch.no_grad():
        x_test, y_test = seed_tests(seeds, r.n_test, seq_len)  # (S, n, T, 2), (S, n)
        mse = ((model(x_test) - y_test) ** 2).mean(dim=1)  # (S,)
    return PackedRuns(kind, seq_len, seeds, [float(m) for m in mse], losses, model)


def unpack(runs: PackedRuns, index: int) -> tuple[nn.Module, nn.Linear]:
    """Seed number ``index`` of a packed run as an ordinary ``nn.RNN/LSTM/GRU(2, H)`` and its read-out."""
    model = runs.model
    s, h, d, k = len(model.seeds), model.hidden_size, model.input_size, _GATES[model.kind]
    if not 0 <= index < s:
        raise ValueError(f"index must be in [0, {s}), got {index!r}")
    single = _LAYERS[model.kind](d, h, batch_first=True)
    rows = torch.cat([torch.arange(g * s * h + index * h, g * s * h + (index + 1) * h) for g in range(k)])
    with torch.no_grad():
        for name, p in single.named_parameters():
            big = getattr(model.layer, name)
            if p.dim() == 1:
                p.copy_(big[rows])
            else:
                width = d if "ih" in name else h
                p.copy_(big[rows][:, index * width : (index + 1) * width])
        head = nn.Linear(h, 1)
        head.weight.copy_(model.head_weight[index][None])
        head.bias.copy_(model.head_bias[index : index + 1])
    return single, head
