"""The recurrent family's model and its one contract (Chapter 2; notes lines 8-10).

Notes line 8, "h는 과거 정보를 모두 요약", and line 9, "하나의 가중치로 계속 학습", are the
whole model::

    h_t = phi(W_xh x_t + W_hh h_{t-1} + b)        phi = tanh, relu or sigmoid

:class:`RNNCell` is one step, :class:`RNN` applies the *same* cell at every step (the input
projections of all steps are one matrix product, only the recurrence is a Python loop).
:func:`bptt` is backpropagation through time written by hand (line 10, "계산식: 중첩된다").

**The contract** that every recurrent layer of the book follows (:class:`RNN` here,
:class:`seqnotes.models.gated.LSTM` and :class:`seqnotes.models.gated.GRU`):

- ``forward(x, state=None) -> (outputs, state)``: ``x (B, T, D)`` (``(T, B, D)`` if
  ``batch_first=False``), ``outputs`` every hidden state, ``state`` the last one (``h_T``, or
  ``(h_T, c_T)`` for the LSTM);
- ``unroll(x, state=None) -> [state_1, ..., state_T]``, the per-step states as autograd nodes;
- ``prepare(x, state=None) -> (x (B, T, D), state_0)``, the checked inputs, batch first;
- cells: ``project(x)`` and ``recur(xw_t, state) -> state``; ``from_torch`` copies ``torch.nn``.

The shared helpers of the family (:func:`check_sizes`, :func:`uniform_`, :func:`load_cell_`,
:func:`check_sequence`) are public so that the gated layers use them too.
:class:`SequenceRegressor` reads one number from the last state of any such layer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from seqnotes.utils import check_positive_int, check_tensor

__all__ = [
    "NONLINEARITIES",
    "RNN",
    "RNNCell",
    "RecurrentLayer",
    "SequenceRegressor",
    "bptt",
    "cell_from_torch",
    "check_h0",
    "check_sequence",
    "check_sizes",
    "check_torch_layer",
    "init_cell_",
    "load_cell_",
    "uniform_",
]

NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}


def check_sizes(input_size: int, hidden_size: int) -> None:
    """Raise a ``ValueError`` unless both sizes are positive ints."""
    check_positive_int(input_size, "input_size")
    check_positive_int(hidden_size, "hidden_size")


def uniform_(module: nn.Module, hidden_size: int) -> None:
    """PyTorch's initialisation of recurrent layers: every parameter from U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size)
    for p in module.parameters():
        nn.init.uniform_(p, -bound, bound)


@torch.no_grad()
def load_cell_(
    cell: nn.Module, weight_ih: torch.Tensor, weight_hh: torch.Tensor, *biases: torch.Tensor
) -> None:
    """Copy a ``torch.nn`` layer's weights into ``cell``; its bias vectors are summed into one."""
    cell.weight_ih.copy_(weight_ih)
    cell.weight_hh.copy_(weight_hh)
    cell.bias.copy_(sum(biases))


def cell_from_torch(cls: type, m: nn.Module, torch_cls: type, *args: object) -> nn.Module:
    """``cls(m.input_size, m.hidden_size, *args)`` with the weights of the ``torch_cls`` cell ``m``."""
    if not isinstance(m, torch_cls):
        raise TypeError(f"from_torch needs a torch.nn.{torch_cls.__name__}, got {type(m).__name__}")
    if m.bias_ih is None:
        raise ValueError(f"from_torch needs an nn.{torch_cls.__name__} with bias=True")
    cell = cls(m.input_size, m.hidden_size, *args)
    load_cell_(cell, m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh)
    return cell


def check_torch_layer(m: nn.Module, torch_cls: type) -> None:
    """Raise unless ``m`` is a single-layer, unidirectional ``torch_cls`` with biases."""
    if not isinstance(m, torch_cls):
        raise TypeError(f"from_torch needs a torch.nn.{torch_cls.__name__}, got {type(m).__name__}")
    if m.num_layers != 1 or m.bidirectional or not m.bias or getattr(m, "proj_size", 0):
        raise ValueError(
            f"from_torch supports nn.{torch_cls.__name__}(num_layers=1, bidirectional=False, bias=True, "
            "proj_size=0) only"
        )


def init_cell_(
    cell: nn.Module, input_size: int, hidden_size: int, blocks: int, biases: tuple[str, ...]
) -> None:
    """Give a gated ``cell`` its parameters, initialised like PyTorch: ``weight_ih (kH, D)``,
    ``weight_hh (kH, H)`` and one ``(kH,)`` vector per name in ``biases``, ``k = blocks``."""
    check_sizes(input_size, hidden_size)
    cell.input_size, cell.hidden_size = input_size, hidden_size
    cell.weight_ih = nn.Parameter(torch.empty(blocks * hidden_size, input_size))  # (kH, D)
    cell.weight_hh = nn.Parameter(torch.empty(blocks * hidden_size, hidden_size))  # (kH, H)
    for name in biases:
        cell.register_parameter(name, nn.Parameter(torch.empty(blocks * hidden_size)))  # (kH,)
    uniform_(cell, hidden_size)


def check_sequence(x: torch.Tensor, input_size: int, batch_first: bool) -> torch.Tensor:
    """Check a recurrent layer's input ``x``; return it batch first, ``(B, T, D)``."""
    check_tensor(x, "x", ("B", "T", input_size) if batch_first else ("T", "B", input_size))
    x = x if batch_first else x.transpose(0, 1)  # (B, T, D)
    if x.size(1) == 0:
        raise ValueError("x must hold at least one time step (T >= 1)")
    return x


def check_h0(h0: torch.Tensor | None, x: torch.Tensor, hidden_size: int) -> torch.Tensor:
    """The initial state ``h0 (B, H)`` checked against ``x (B, T, D)``, or zeros when None."""
    if h0 is None:
        return x.new_zeros(x.size(0), hidden_size)  # (B, H)
    return check_tensor(h0, "state", (x.size(0), hidden_size))


class RNNCell(nn.Module):
    """One step of an Elman RNN: ``h' = phi(x W_xh^T + h W_hh^T + b)``.

    Parameters: ``weight_ih (H, D)``, ``weight_hh (H, H)``, ``bias (H,)``, initialised like
    PyTorch from U(-1/sqrt(H), 1/sqrt(H)). ``nn.RNN`` keeps two bias vectors (``b_ih``,
    ``b_hh``); they are only ever added, so one vector ``b = b_ih + b_hh`` is the same model.
    The step is split in two so that :class:`RNN` can project every input at once:
    :meth:`project` (``x -> x W_xh^T + b``) and :meth:`recur` (``(xw, h) -> h'``).
    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh") -> None:
        super().__init__()
        check_sizes(input_size, hidden_size)
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {tuple(NONLINEARITIES)}, got {nonlinearity!r}")
        self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, nonlinearity
        self.act = NONLINEARITIES[nonlinearity]
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))  # (H, D)
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))  # (H, H)
        self.bias = nn.Parameter(torch.empty(hidden_size))  # (H,)
        uniform_(self, hidden_size)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Input part of the pre-activation: ``(..., D) -> (..., H)``."""
        return x @ self.weight_ih.T + self.bias  # (..., H)

    def recur(self, xw: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One recurrence step from the projected input ``xw (B, H)`` and ``h (B, H)``."""
        return self.act(torch.addmm(xw, h, self.weight_hh.T))  # (B, H) = phi(xw + h W_hh^T)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, D)``, ``state = h (B, H)`` (zeros if None) -> the next hidden state ``(B, H)``."""
        check_tensor(x, "x", ("B", self.input_size))
        return self.recur(self.project(x), check_h0(state, x, self.hidden_size))  # (B, H)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}"

    @classmethod
    def from_torch(cls, m: nn.RNNCell) -> RNNCell:
        """A copy of ``torch.nn.RNNCell`` ``m`` (its two biases are summed)."""
        return cell_from_torch(cls, m, nn.RNNCell, m.nonlinearity)


class RecurrentLayer(nn.Module):
    """The contract's code for a layer whose state is one hidden vector ``h (B, H)``.

    A subclass sets ``cell`` (with ``project`` and ``recur``), ``input_size``,
    ``hidden_size`` and ``batch_first``: :class:`RNN` here, ``GRU`` in
    :mod:`seqnotes.models.gated`.
    """

    cell: nn.Module
    input_size: int
    hidden_size: int
    batch_first: bool

    def forward(
        self, x: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.unroll(x, state)
        outputs = torch.stack(states, dim=1 if self.batch_first else 0)  # (B, T, H) or (T, B, H)
        return outputs, states[-1]  # h_T: (B, H)

    def unroll(self, x: torch.Tensor, state: torch.Tensor | None = None) -> list[torch.Tensor]:
        """The hidden states ``[h_1, ..., h_T]`` (each ``(B, H)``) as nodes of the autograd graph."""
        x, h = self.prepare(x, state)  # (B, T, D), (B, H)
        xw = self.cell.project(x)  # (B, T, kH): all input projections in one matmul
        states = []
        for t in range(xw.size(1)):
            h = self.cell.recur(xw[:, t], h)  # (B, H): the same weights at every step
            states.append(h)
        return states

    def prepare(
        self, x: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Check the inputs; return ``x`` batch first ``(B, T, D)`` and ``h0 (B, H)`` (zeros if None)."""
        x = check_sequence(x, self.input_size, self.batch_first)  # (B, T, D)
        return x, check_h0(state, x, self.hidden_size)

    def extra_repr(self) -> str:
        return f"batch_first={self.batch_first}"


class RNN(RecurrentLayer):
    """A single-layer RNN that reuses one :class:`RNNCell` at every time step.

    ``forward(x, state=None)`` takes ``x (B, T, D)`` (``(T, B, D)`` if ``batch_first=False``)
    and an optional initial state ``h0 (B, H)`` and returns ``(outputs, h_T)``: every hidden
    state ``(B, T, H)`` (or ``(T, B, H)``) and the last one ``(B, H)``. The number of
    parameters, ``H*D + H*H + H``, does not depend on ``T``. ``unroll`` (the loop) and
    ``prepare`` (the checks) are :class:`RecurrentLayer`'s.
    """

    def __init__(
        self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", batch_first: bool = True
    ) -> None:
        super().__init__()
        self.cell = RNNCell(input_size, hidden_size, nonlinearity)
        self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, nonlinearity
        self.batch_first = batch_first

    @classmethod
    def from_torch(cls, m: nn.RNN) -> RNN:
        """A copy of a single-layer, unidirectional ``torch.nn.RNN`` with biases."""
        check_torch_layer(m, nn.RNN)
        rnn = cls(m.input_size, m.hidden_size, m.nonlinearity, batch_first=m.batch_first)
        load_cell_(rnn.cell, m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0)
        return rnn


# ----------------------------------------------------------------------------------------
# Backpropagation through time by hand (notes line 10: "계산식: 중첩된다")

_DERIVATIVES = {
    # phi'(a) written with h = phi(a), which the forward pass has already computed
    "tanh": lambda a, h: 1 - h * h,
    "relu": lambda a, h: (a > 0).to(h.dtype),
    "sigmoid": lambda a, h: h * (1 - h),
}


@torch.no_grad()
def bptt(
    rnn: RNN, x: torch.Tensor, grad_outputs: torch.Tensor, h0: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Backpropagation through time by hand, without autograd.

    ``x (B, T, D)`` is the input and ``grad_outputs (B, T, H)`` is ``dL/dh_t`` through the
    *direct* use of each ``h_t`` by the loss (zero everywhere except ``t = T`` when only the
    last state is used). Walking back from ``t = T`` to 1, the gradient that reaches ``h_{t-1}``
    is the gradient at ``h_t`` times the step Jacobian ``dh_t/dh_{t-1} = diag(phi'(a_t)) W_hh``:

        delta_{t-1} = grad_outputs_{t-1} + W_hh^T (phi'(a_t) * delta_t)

    so ``delta_t`` is a product of ``T - t`` Jacobians (계산식이 중첩된다). Returns
    ``{"h": delta (B, T, H), "x": (B, T, D), "h0": (B, H), "weight_ih", "weight_hh", "bias"}``,
    the same numbers autograd gives (checked in ``tests/test_models_recurrent.py``). Needs ``batch_first``.
    """
    if not isinstance(rnn, RNN) or not rnn.batch_first:
        raise TypeError("bptt needs a seqnotes RNN with batch_first=True")
    x = check_sequence(x, rnn.input_size, batch_first=True)  # (B, T, D)
    batch, steps = x.shape[:2]
    check_tensor(grad_outputs, "grad_outputs", (batch, steps, rnn.hidden_size))
    cell, dphi = rnn.cell, _DERIVATIVES[rnn.nonlinearity]
    h = check_h0(h0, x, rnn.hidden_size)  # (B, H)
    # forward pass, keeping the pre-activations a_t and states h_t
    pre, hs = [], [h]
    xw = cell.project(x)  # (B, T, H)
    for t in range(steps):
        a = xw[:, t] + hs[-1] @ cell.weight_hh.T  # (B, H)
        pre.append(a)
        hs.append(cell.act(a))  # hs[t + 1] = h_{t+1}
    # backward pass
    grads = {name: torch.zeros_like(p) for name, p in cell.named_parameters()}
    delta = torch.zeros_like(h)  # (B, H): dL/dh_t, accumulated from the future
    dh_all, dx_all = torch.zeros_like(grad_outputs), torch.zeros_like(x)  # (B, T, H), (B, T, D)
    for t in reversed(range(steps)):
        delta = delta + grad_outputs[:, t]  # (B, H): direct use + the path through h_{t+1}
        dh_all[:, t] = delta
        da = delta * dphi(pre[t], hs[t + 1])  # (B, H): through the nonlinearity
        grads["weight_hh"] += da.T @ hs[t]  # (H, H)
        grads["weight_ih"] += da.T @ x[:, t]  # (H, D)
        grads["bias"] += da.sum(dim=0)  # (H,)
        dx_all[:, t] = da @ cell.weight_ih  # (B, D)
        delta = da @ cell.weight_hh  # (B, H): one more Jacobian in the product
    return {"h": dh_all, "x": dx_all, "h0": delta, **grads}


class SequenceRegressor(nn.Module):
    """Read a sequence with a recurrent layer and predict one number from the last state.

    ``layer`` is any batch-first recurrent layer of the contract above (or ``torch.nn``'s),
    returning ``(outputs (B, T, H), state)``.
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
