"""How gradients change with distance: the probes of Chapters 2, 3 and 5 (notes lines 9-10, 13).

Notes line 9: "아주 먼 과거의 데이터가 소실 됨"; line 10: "만약 activation이 sigmoid이고 작거나
크면 vanishing. relu라면 w가 1보다 클 때 explod"; line 13: how the LSTM solved it.

**One contract for every probe**: it returns values *by distance* — index ``d`` holds the
value for the step ``d = T - t`` steps before the last one (index 0 is the last step) — as
float64 norms computed from float64 copies of the gradients, so that squaring a float32
gradient never overflows (above ~1e19) or underflows (below ~1e-23), and no caller flips.

- :func:`state_gradient_norms`: ``||dL/dh_t||`` (or ``||dL/dc_t||``) of any recurrent layer.
- :func:`input_gradient_norms`: ``||dL/dx_t||`` of any layer, recurrent or attention.
- :func:`cell_gradient_paths`: an LSTM's ``||dL/dc_t||`` split into the direct cell-state
  path and the paths through ``h``.
- :func:`gradient_vs_distance`: Chapter 2's experiment on an untrained RNN with a chosen
  spectral radius (:func:`gaussian_rnn`, :func:`gaussian_init_`, :func:`probe_inputs`),
  with :func:`spectral_radius` and :func:`spectral_norm` of its recurrent matrix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from seqnotes.models.gated import LSTM
from seqnotes.models.recurrent import RNN
from seqnotes.utils import check_tensor, make_generator

__all__ = [
    "cell_gradient_paths",
    "gaussian_init_",
    "gaussian_rnn",
    "gradient_vs_distance",
    "input_gradient_norms",
    "probe_inputs",
    "spectral_norm",
    "spectral_radius",
    "state_gradient_norms",
]


def _by_distance(grads: Sequence[torch.Tensor | None]) -> torch.Tensor:
    """Batch mean of the per-example L2 norm of each step's gradient ``(B, H)``, in float64,
    ordered by distance (index 0 = the last step); a step the loss does not reach gives 0."""
    norms = [
        torch.zeros((), dtype=torch.float64) if g is None else g.detach().double().norm(dim=-1).mean()
        for g in grads
    ]
    return torch.stack(norms).flip(0)  # (T,)


def state_gradient_norms(layer: nn.Module, x: torch.Tensor, *, which: str = "h") -> torch.Tensor:
    """``||dL/dh_t||`` by distance ``d = T - t`` for one forward pass, with ``L = sum(h_T)``.

    ``layer`` is any layer with ``unroll(x) -> list of per-step states``: an :class:`RNN`
    (states ``h_t``) or an :class:`LSTM` (states ``(h_t, c_t)``; ``which="c"`` measures
    ``||dL/dc_t||``). The loss depends on the last hidden state only, so the gradient
    reaching ``h_t`` has travelled back ``T - t`` steps: it is the product of ``T - t``
    step Jacobians (backpropagation through time).

    Returns ``norms (T,)`` float64, index ``d`` = distance (``inf``/``nan`` when the forward
    or backward pass itself overflowed in float32, 0 where the gradient underflowed).
    """
    if which not in ("h", "c"):
        raise ValueError(f"which must be 'h' or 'c', got {which!r}")
    if not hasattr(layer, "unroll"):
        raise TypeError(f"layer must have an unroll(x) method (RNN, LSTM, GRU), got {type(layer).__name__}")
    states = layer.unroll(x)
    if isinstance(states[0], tuple):
        last_h = states[-1][0]  # (B, H)
        nodes = [s[0] if which == "h" else s[1] for s in states]  # T x (B, H)
    else:
        if which == "c":
            raise ValueError("which='c' needs an LSTM (a layer whose states are (h, c) pairs)")
        last_h, nodes = states[-1], states
    grads = torch.autograd.grad(last_h.sum(), nodes, allow_unused=True)
    return _by_distance(grads)  # (T,)


def input_gradient_norms(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``||dL/dx_t||`` by distance ``d = T - t``, with ``L = sum(outputs[:, -1])``.

    ``layer(x)`` must return ``(outputs (B, T, H), ...)`` batch first: an :class:`RNN`,
    :class:`LSTM`, ``nn.RNN(batch_first=True)`` or a
    :class:`seqnotes.models.attention.CausalSelfAttention`. The gradient reaching ``x_t`` has
    to cross ``T - t`` steps of a recurrent layer but only one attention step. Returns
    ``norms (T,)`` float64 like :func:`state_gradient_norms`.
    """
    check_tensor(x, "x", ("B", "T", "D"))
    if x.size(1) == 0:
        raise ValueError("x must hold at least one time step (T >= 1)")
    x = x.detach().requires_grad_(True)  # (B, T, D)
    out = layer(x)
    if not isinstance(out, tuple) or not isinstance(out[0], torch.Tensor) or out[0].dim() != 3:
        raise TypeError("layer(x) must return (outputs (B, T, H), ...) with batch-first outputs")
    (grad,) = torch.autograd.grad(out[0][:, -1].sum(), x)  # (B, T, D)
    return _by_distance(grad.unbind(1))  # (T,)


def cell_gradient_paths(layer: LSTM, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """``||dL/dc_t||`` split into the direct cell-state path and the paths through ``h``.

    With ``L = sum(h_T)`` the gradient reaches ``c_t`` along two kinds of paths: the
    **direct** one, ``c_t -> c_{t+1} -> ... -> c_T`` through ``c = f * c + i * g`` only (each
    step multiplies by the forget gate), and the paths that leave the cell state through
    ``h_t = o_t * tanh(c_t)`` into the next step's gates and candidate. Running the recurrence
    a second time with ``h_{t-1}`` detached inside the gates keeps only the direct path.

    Returns a dict of ``(T,)`` tensors by distance ``d = T - t`` (index 0 is the last step):
    ``"full"`` and ``"direct"`` (batch mean of the per-example L2 norm),
    ``"h_paths"`` (the norm of their difference) and ``"tanh_slope"`` (the mean of
    ``tanh'(c_t) = 1 - tanh(c_t)^2`` at that step, the factor on the way ``c_t -> h_t``).
    """
    if not isinstance(layer, LSTM):
        raise TypeError(f"layer must be a seqnotes LSTM, got {type(layer).__name__}")
    x, state = layer.prepare(x)  # (B, T, D), (h0, c0)
    xw = layer.cell.project(x)  # (B, T, 4H)
    grads, cells = {}, None
    for name, detach in (("full", False), ("direct", True)):
        h, c = state
        nodes = []
        for t in range(xw.size(1)):
            z = torch.addmm(xw[:, t], h.detach() if detach else h, layer.cell.weight_hh.T)  # (B, 4H)
            i, f, _, o = torch.sigmoid(z).chunk(4, dim=-1)  # 3 x (B, H)
            g = torch.tanh(z.chunk(4, dim=-1)[2])  # (B, H)
            c = f * c + i * g  # (B, H)
            h = o * torch.tanh(c)  # (B, H)
            nodes.append(c)
        grads[name] = torch.autograd.grad(h.sum(), nodes)  # T x (B, H)
        cells = nodes
    slope = torch.stack([1 - torch.tanh(c.detach()).pow(2).mean() for c in cells]).flip(0)  # (T,)
    return {
        "full": _by_distance(grads["full"]),
        "direct": _by_distance(grads["direct"]),
        "h_paths": _by_distance([a - b for a, b in zip(grads["full"], grads["direct"], strict=True)]),
        "tanh_slope": slope,
    }


# ----------------------------------------------------------------------------------------
# Chapter 2's experiment: an untrained RNN with a chosen spectral radius


def gradient_vs_distance(
    nonlinearity: str,
    recurrent_scale: float,
    *,
    seq_len: int = 100,
    hidden_size: int = 64,
    input_size: int = 16,
    batch_size: int = 32,
    seed: int = 0,
) -> torch.Tensor:
    """The Chapter 2 experiment: ``||dL/dh_t||`` by distance ``T - t`` for one untrained RNN.

    The RNN is :func:`gaussian_rnn` (spectral radius about ``recurrent_scale``, weights from
    ``seed + 1``) and reads :func:`probe_inputs` (standard normal, from ``seed``), so every
    nonlinearity and scale sees the same inputs. Returns ``norms (T,)`` as
    :func:`state_gradient_norms`.
    """
    x = probe_inputs(batch_size, seq_len, input_size, seed=seed)  # (B, T, D)
    rnn = gaussian_rnn(
        nonlinearity, recurrent_scale, hidden_size=hidden_size, input_size=input_size, seed=seed
    )
    return state_gradient_norms(rnn, x)


def probe_inputs(
    batch_size: int = 32, seq_len: int = 100, input_size: int = 16, *, seed: int = 0
) -> torch.Tensor:
    """The inputs of :func:`gradient_vs_distance`: ``(B, T, D)`` standard normal from generator ``seed``."""
    return torch.randn(batch_size, seq_len, input_size, generator=make_generator(seed))  # (B, T, D)


def gaussian_rnn(
    nonlinearity: str, recurrent_scale: float, *, hidden_size: int = 64, input_size: int = 16, seed: int = 0
) -> RNN:
    """The untrained RNN of :func:`gradient_vs_distance`: :func:`gaussian_init_` from ``seed + 1``."""
    rnn = RNN(input_size, hidden_size, nonlinearity)
    return gaussian_init_(rnn, recurrent_scale, make_generator(seed + 1))


@torch.no_grad()
def gaussian_init_(rnn: RNN, recurrent_scale: float, generator: torch.Generator) -> RNN:
    """Re-initialise ``rnn`` for the gradient experiments of Chapter 2.

    ``W_hh ~ N(0, s^2 / H)`` with ``s = recurrent_scale``: for large ``H`` its spectral
    radius is close to ``s`` (the circular law). ``W_xh ~ N(0, 1 / D)`` and ``b = 0``.
    """
    if not isinstance(rnn, RNN):
        raise TypeError(f"rnn must be a seqnotes RNN, got {type(rnn).__name__}")
    if not recurrent_scale > 0:
        raise ValueError(f"recurrent_scale must be positive, got {recurrent_scale!r}")
    cell = rnn.cell
    h, d = cell.hidden_size, cell.input_size
    cell.weight_hh.copy_(torch.randn(h, h, generator=generator) * recurrent_scale / math.sqrt(h))
    cell.weight_ih.copy_(torch.randn(h, d, generator=generator) / math.sqrt(d))
    cell.bias.zero_()
    return rnn


def spectral_radius(w: torch.Tensor) -> float:
    """Largest absolute eigenvalue of a square matrix ``w (H, H)``."""
    check_tensor(w, "w", ("H", "H"))
    return float(torch.linalg.eigvals(w.detach().double()).abs().max())


def spectral_norm(w: torch.Tensor) -> float:
    """Largest singular value ``||w||_2`` of a square matrix ``w (H, H)``.

    Pascanu et al. (2013): if ``||W_hh||_2 < 1 / gamma``, where ``gamma`` bounds ``|phi'|``
    (1/4 for the sigmoid, 1 for tanh), every step Jacobian shrinks the gradient and it vanishes.
    """
    check_tensor(w, "w", ("H", "H"))
    return float(torch.linalg.matrix_norm(w.detach().double(), ord=2))
