"""Gated recurrent layers: LSTM and GRU from scratch (Chapter 3; notes lines 11-19).

"해결 -> lstm" (line 11): gates decide what to add (input gate, line 15), what to forget
(forget gate, line 17) and what to pass on to the next step (output gate, line 19). One LSTM
step, with PyTorch's gate order i, f, g, o::

    i_t = sigmoid(W_ii x_t + W_hi h_{t-1} + b_i)   input gate:  what to add     (어떤 정보를 추가할지)
    f_t = sigmoid(W_if x_t + W_hf h_{t-1} + b_f)   forget gate: what to forget  (어떤 정보를 잊을지)
    g_t = tanh   (W_ig x_t + W_hg h_{t-1} + b_g)   candidate:   what could be added
    o_t = sigmoid(W_io x_t + W_ho h_{t-1} + b_o)   output gate: what to pass on (다음 cell로 보낼지)
    c_t = f_t * c_{t-1} + i_t * g_t                cell state: an additive update
    h_t = o_t * tanh(c_t)

Both layers follow the recurrent contract of :mod:`seqnotes.models.recurrent`
(``forward(x, state=None) -> (outputs, state)``, ``unroll``, ``prepare``, ``from_torch``) and
expose their gates one way: ``layer.gates(x, state=None)`` returns a dict of ``(B, T, H)``
tensors, one per gate (the LSTM adds its cell state ``"c"``), always batch first.
:class:`LSTMSequence` is the LSTM recurrence with a hand-written backward pass.
"""

from __future__ import annotations

import torch
from torch import nn

from seqnotes.models.recurrent import (
    RecurrentLayer,
    cell_from_torch,
    check_h0,
    check_sequence,
    check_torch_layer,
    init_cell_,
    load_cell_,
)
from seqnotes.utils import check_tensor

__all__ = [
    "GATE_NAMES",
    "GRU",
    "GRU_GATE_NAMES",
    "LSTM",
    "GRUCell",
    "LSTMCell",
    "LSTMSequence",
    "set_forget_bias_",
]

GATE_NAMES = ("i", "f", "g", "o")  # PyTorch's order of the four blocks of weight_ih / weight_hh
GRU_GATE_NAMES = ("r", "z", "n")  # reset gate, update gate, candidate

State = tuple[torch.Tensor, torch.Tensor]


class LSTMCell(nn.Module):
    """One LSTM step. Parameters ``weight_ih (4H, D)``, ``weight_hh (4H, H)``, ``bias (4H,)``.

    The four row blocks are the gates in PyTorch's order i, f, g, o. ``nn.LSTM`` keeps two bias
    vectors that are only ever added, so one ``bias = b_ih + b_hh`` is the same model.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        init_cell_(self, input_size, hidden_size, blocks=4, biases=("bias",))

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Input part of the four pre-activations: ``(..., D) -> (..., 4H)``."""
        return x @ self.weight_ih.T + self.bias  # (..., 4H)

    def recur(self, xw: torch.Tensor, state: State) -> State:
        """One step from the projected input ``xw (B, 4H)`` and ``state = (h, c)``, each ``(B, H)``.

        Returns the new state ``(h', c')``. (One sigmoid over all four blocks and fused
        ``addmm``/``addcmul`` keep the number of autograd operations per step small.)
        """
        h, c = state
        z = torch.addmm(xw, h, self.weight_hh.T)  # (B, 4H) = xw + h W_hh^T
        i, f, _, o = torch.sigmoid(z).chunk(4, dim=-1)  # 3 x (B, H): the gates, in (0, 1); g's block unused
        g = torch.tanh(z[:, 2 * self.hidden_size : 3 * self.hidden_size])  # (B, H): the candidate
        c = torch.addcmul(f * c, i, g)  # (B, H): c = f * c + i * g, forget some old, add some new
        h = o * torch.tanh(c)  # (B, H): expose part of the memory
        return h, c

    def forward(self, x: torch.Tensor, state: State | None = None) -> State:
        """``x (B, D)``, ``state = (h, c)`` (zeros if None) -> ``(h', c')``, each ``(B, H)``."""
        check_tensor(x, "x", ("B", self.input_size))
        return self.recur(self.project(x), _check_state(state, x, self.hidden_size))

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"

    @classmethod
    def from_torch(cls, m: nn.LSTMCell) -> LSTMCell:
        """A copy of ``torch.nn.LSTMCell`` ``m`` (its two biases are summed)."""
        return cell_from_torch(cls, m, nn.LSTMCell)


def _check_state(state: State | None, x: torch.Tensor, hidden_size: int) -> State:
    batch = x.size(0)
    if state is None:
        zeros = x.new_zeros(batch, hidden_size)  # (B, H)
        return zeros, zeros
    if not (isinstance(state, tuple | list) and len(state) == 2):
        raise TypeError(f"state must be a tuple (h0, c0) of two ({batch}, {hidden_size}) tensors")
    check_tensor(state[0], "h0", (batch, hidden_size))
    check_tensor(state[1], "c0", (batch, hidden_size))
    return state[0], state[1]


class LSTMSequence(torch.autograd.Function):
    """The LSTM recurrence over a whole sequence with a hand-written backward pass (BPTT).

    ``forward(xw (B, T, 4H), h0 (B, H), c0 (B, H), weight_hh (4H, H))`` runs the loop without
    recording an autograd graph and returns ``(hs (B, T, H), cs (B, T, H), gates (B, T, 4H))``.
    ``backward`` walks the steps in reverse. Its key line is ``dc = dc * f``: the gradient
    reaches ``c_{t-1}`` from ``c_t`` multiplied only by the forget gate (elementwise), not by
    a weight matrix and a squashing derivative as in a plain RNN.

    Autograd on the step-by-step loop gives the same numbers (tested) but records about ten
    small operations per step; doing the bookkeeping by hand makes training faster on a CPU
    (Chapter 3 measures it). The returned gates are for inspection and are not differentiable.
    """

    @staticmethod
    def forward(ctx, xw, h0, c0, weight_hh):  # type: ignore[override]
        batch, steps, four_h = xw.shape
        hidden = four_h // 4
        hs = xw.new_empty(batch, steps + 1, hidden)  # (B, T+1, H): h_0 .. h_T
        cs = xw.new_empty(batch, steps + 1, hidden)  # (B, T+1, H): c_0 .. c_T
        gates = xw.new_empty(batch, steps, four_h)  # (B, T, 4H): [i, f, g, o] after nonlinearities
        hs[:, 0], cs[:, 0] = h0, c0
        w_t = weight_hh.T  # (H, 4H)
        for t in range(steps):
            z = torch.addmm(xw[:, t], hs[:, t], w_t)  # (B, 4H)
            a = gates[:, t]  # (B, 4H), a view we fill in place
            torch.sigmoid(z, out=a)
            torch.tanh(z[:, 2 * hidden : 3 * hidden], out=a[:, 2 * hidden : 3 * hidden])
            i, f, g, o = a.chunk(4, dim=-1)  # 4 x (B, H)
            torch.addcmul(f * cs[:, t], i, g, out=cs[:, t + 1])  # c_t = f * c_{t-1} + i * g
            torch.mul(o, torch.tanh(cs[:, t + 1]), out=hs[:, t + 1])  # h_t = o * tanh(c_t)
        ctx.save_for_backward(hs, cs, gates, weight_hh)
        ctx.mark_non_differentiable(gates)
        return hs[:, 1:], cs[:, 1:], gates

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_hs, d_cs, _d_gates):  # type: ignore[override]
        hs, cs, gates, weight_hh = ctx.saved_tensors
        batch, steps, four_h = gates.shape
        hidden = four_h // 4
        d_hs = torch.zeros_like(hs[:, 1:]) if d_hs is None else d_hs  # (B, T, H)
        d_cs = torch.zeros_like(cs[:, 1:]) if d_cs is None else d_cs  # (B, T, H)
        # everything that does not depend on the incoming gradient, for all steps at once
        tanh_c = torch.tanh(cs[:, 1:])  # (B, T, H)
        o = gates[..., 3 * hidden :]  # (B, T, H)
        h_to_c = o * (1 - tanh_c * tanh_c)  # (B, T, H): dh_t/dc_t through h = o * tanh(c)
        slope = gates * (1 - gates)  # (B, T, 4H): sigmoid'(z) = s (1 - s) ...
        g = gates[..., 2 * hidden : 3 * hidden]  # (B, T, H)
        slope[..., 2 * hidden : 3 * hidden] = 1 - g * g  # ... and tanh'(z) = 1 - g^2 for the candidate
        dz = torch.empty_like(gates)  # (B, T, 4H): gradient of the pre-activations
        dh = hs.new_zeros(batch, hidden)  # (B, H): dL/dh_t from the future
        dc = hs.new_zeros(batch, hidden)  # (B, H): dL/dc_t from the future
        for t in reversed(range(steps)):
            i, f, g_t, _ = gates[:, t].chunk(4, dim=-1)  # 4 x (B, H)
            dh = dh + d_hs[:, t]  # (B, H)
            dc = dc + d_cs[:, t] + dh * h_to_c[:, t]  # (B, H)
            # dL/d[i, f, g, o] from c_t = f * c_{t-1} + i * g and h_t = o * tanh(c_t)
            torch.cat([dc * g_t, dc * cs[:, t], dc * i, dh * tanh_c[:, t]], dim=-1, out=dz[:, t])
            dz[:, t] *= slope[:, t]  # (B, 4H): through the sigmoids and the tanh
            dc = dc * f  # (B, H): to c_{t-1} along the cell state, scaled by the forget gate only
            dh = dz[:, t] @ weight_hh  # (B, H): to h_{t-1}
        d_weight_hh = dz.reshape(-1, four_h).T @ hs[:, :-1].reshape(-1, hidden)  # (4H, H)
        return dz, dh, dc, d_weight_hh


class LSTM(nn.Module):
    """A single-layer LSTM built from one :class:`LSTMCell`.

    ``forward(x, state=None)`` takes ``x (B, T, D)`` (``(T, B, D)`` if ``batch_first=False``)
    and an optional ``state = (h0, c0)``, each ``(B, H)``, and returns
    ``(outputs, (h_T, c_T))`` with ``outputs`` every ``h_t``: ``(B, T, H)`` (or ``(T, B, H)``).
    :meth:`gates` returns the gate activations and the cell state at every step.

    ``fused=True`` (the default) runs the recurrence through :class:`LSTMSequence`, whose
    backward pass is written by hand; ``fused=False`` lets autograd record the step-by-step
    loop of :meth:`LSTMCell.recur`. Both give the same numbers. :meth:`unroll` always uses
    the step-by-step loop, so that every ``h_t`` and ``c_t`` is a node one can differentiate;
    :meth:`gates` always reads the gates that :class:`LSTMSequence` records.
    """

    def __init__(
        self, input_size: int, hidden_size: int, batch_first: bool = True, fused: bool = True
    ) -> None:
        super().__init__()
        self.cell = LSTMCell(input_size, hidden_size)
        self.input_size, self.hidden_size, self.batch_first = input_size, hidden_size, batch_first
        self.fused = fused

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        x, (h0, c0) = self.prepare(x, state)  # (B, T, D), (B, H), (B, H)
        xw = self.cell.project(x)  # (B, T, 4H): all input projections in one matmul
        if self.fused:  # the loop with a hand-written backward pass
            hs, cs, _ = LSTMSequence.apply(xw, h0, c0, self.cell.weight_hh)  # (B, T, H) x 2
        else:  # the loop that autograd records, step by step
            states = self._loop(xw, (h0, c0))
            hs = torch.stack([h for h, _ in states], dim=1)  # (B, T, H)
            cs = torch.stack([c for _, c in states], dim=1)  # (B, T, H)
        outputs = hs if self.batch_first else hs.transpose(0, 1)  # (B, T, H) or (T, B, H)
        return outputs, (hs[:, -1], cs[:, -1])  # (h_T, c_T), each (B, H)

    @torch.no_grad()
    def gates(self, x: torch.Tensor, state: State | None = None) -> dict[str, torch.Tensor]:
        """``{"i", "f", "g", "o", "c"}``: every gate activation and the cell state, each ``(B, T, H)``."""
        x, (h0, c0) = self.prepare(x, state)  # (B, T, D), (B, H), (B, H)
        xw = self.cell.project(x)  # (B, T, 4H)
        _, cs, z = LSTMSequence.apply(xw, h0, c0, self.cell.weight_hh)  # (B, T, H), (B, T, 4H)
        acts = dict(zip(GATE_NAMES, z.chunk(4, dim=-1), strict=True))  # 4 x (B, T, H)
        acts["c"] = cs  # (B, T, H)
        return acts

    def unroll(self, x: torch.Tensor, state: State | None = None) -> list[State]:
        """The states ``[(h_1, c_1), ..., (h_T, c_T)]`` as nodes of the autograd graph."""
        x, state = self.prepare(x, state)  # (B, T, D), (h0, c0)
        return self._loop(self.cell.project(x), state)

    def prepare(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Check the inputs; return ``x`` batch first ``(B, T, D)`` and ``(h0, c0)`` (zeros if None)."""
        x = check_sequence(x, self.input_size, self.batch_first)  # (B, T, D)
        return x, _check_state(state, x, self.hidden_size)

    def _loop(self, xw: torch.Tensor, state: State) -> list[State]:
        """The step-by-step loop of :meth:`LSTMCell.recur`, every state a node of the graph."""
        states = []
        for t in range(xw.size(1)):
            state = self.cell.recur(xw[:, t], state)  # (B, H) x 2
            states.append(state)
        return states

    def extra_repr(self) -> str:
        return f"batch_first={self.batch_first}"

    @classmethod
    def from_torch(cls, m: nn.LSTM) -> LSTM:
        """A copy of a single-layer, unidirectional ``torch.nn.LSTM`` with biases."""
        check_torch_layer(m, nn.LSTM)
        lstm = cls(m.input_size, m.hidden_size, batch_first=m.batch_first)
        load_cell_(lstm.cell, m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0)
        return lstm


# ----------------------------------------------------------------------------------------
# GRU: two gates, no separate cell state


class GRUCell(nn.Module):
    """One GRU step in PyTorch's convention (blocks r, z, n); ``weight_ih (3H, D)``,
    ``weight_hh (3H, H)``, ``bias_ih (3H,)``, ``bias_hh (3H,)``::

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)      reset gate
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)      update gate
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   candidate
        h' = (1 - z) * n + z * h

    ``b_hn`` sits inside ``r * (...)``, so the GRU keeps both bias vectors.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        init_cell_(self, input_size, hidden_size, blocks=3, biases=("bias_ih", "bias_hh"))

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., D) -> (..., 3H)``."""
        return x @ self.weight_ih.T + self.bias_ih  # (..., 3H)

    def gates(self, xw: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The gates ``(r, z, n)``, each ``(B, H)``, from ``xw (B, 3H)`` and ``h (B, H)``."""
        hw = h @ self.weight_hh.T + self.bias_hh  # (B, 3H)
        xr, xz, xn = xw.chunk(3, dim=-1)  # 3 x (B, H)
        hr, hz, hn = hw.chunk(3, dim=-1)  # 3 x (B, H)
        r = torch.sigmoid(xr + hr)  # (B, H)
        z = torch.sigmoid(xz + hz)  # (B, H)
        n = torch.tanh(xn + r * hn)  # (B, H)
        return r, z, n

    def recur(self, xw: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step from ``xw (B, 3H)`` and ``h (B, H)`` -> ``h' (B, H)``."""
        _, z, n = self.gates(xw, h)
        return (1 - z) * n + z * h  # (B, H)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, D)``, ``state = h (B, H)`` (zeros if None) -> ``h' (B, H)``."""
        check_tensor(x, "x", ("B", self.input_size))
        return self.recur(self.project(x), check_h0(state, x, self.hidden_size))


class GRU(RecurrentLayer):
    """A single-layer GRU: ``forward(x, state=None) -> (outputs (B, T, H), h_T (B, H))``.

    ``unroll`` and ``prepare`` are :class:`seqnotes.models.recurrent.RecurrentLayer`'s.
    """

    def __init__(self, input_size: int, hidden_size: int, batch_first: bool = True) -> None:
        super().__init__()
        self.cell = GRUCell(input_size, hidden_size)
        self.input_size, self.hidden_size, self.batch_first = input_size, hidden_size, batch_first

    @torch.no_grad()
    def gates(self, x: torch.Tensor, state: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``{"r", "z", "n"}``: every gate activation, each ``(B, T, H)``."""
        x, h = self.prepare(x, state)  # (B, T, D), (B, H)
        xw = self.cell.project(x)  # (B, T, 3H)
        acts: list[tuple[torch.Tensor, ...]] = []
        for t in range(xw.size(1)):
            r, z, n = self.cell.gates(xw[:, t], h)  # 3 x (B, H)
            h = (1 - z) * n + z * h  # (B, H)
            acts.append((r, z, n))
        return {name: torch.stack([a[k] for a in acts], dim=1) for k, name in enumerate(GRU_GATE_NAMES)}

    @classmethod
    def from_torch(cls, m: nn.GRU) -> GRU:
        """A copy of a single-layer, unidirectional ``torch.nn.GRU`` with biases."""
        check_torch_layer(m, nn.GRU)
        gru = cls(m.input_size, m.hidden_size, batch_first=m.batch_first)
        with torch.no_grad():
            gru.cell.weight_ih.copy_(m.weight_ih_l0)
            gru.cell.weight_hh.copy_(m.weight_hh_l0)
            gru.cell.bias_ih.copy_(m.bias_ih_l0)
            gru.cell.bias_hh.copy_(m.bias_hh_l0)
        return gru


@torch.no_grad()
def set_forget_bias_(layer: nn.Module, value: float) -> nn.Module:
    """Set an LSTM's forget-gate bias to ``value`` (Gers et al., 2000, suggest a positive one).

    With ``f_t = sigmoid(... + value)`` close to 1 at the start, the cell state is kept by
    default and the gradient along it does not vanish before training has begun. Works for
    :class:`LSTM` (one bias) and ``torch.nn.LSTM`` (two biases, gate order
    i, f, g, o).
    """
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
