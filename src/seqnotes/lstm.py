"""Chapter 3: LSTM (and GRU) from scratch — gates that keep a long-term memory.

One LSTM step, with PyTorch's gate order i, f, g, o::

    i_t = sigmoid(W_ii x_t + W_hi h_{t-1} + b_i)   input gate:  what to add     (어떤 정보를 추가할지)
    f_t = sigmoid(W_if x_t + W_hf h_{t-1} + b_f)   forget gate: what to forget  (어떤 정보를 잊을지)
    g_t = tanh   (W_ig x_t + W_hg h_{t-1} + b_g)   candidate:   what could be added
    o_t = sigmoid(W_io x_t + W_ho h_{t-1} + b_o)   output gate: what to pass on (다음 cell로 보낼지)
    c_t = f_t * c_{t-1} + i_t * g_t                cell state: an additive update
    h_t = o_t * tanh(c_t)

:class:`LSTMCell` is one step, :class:`LSTM` runs it over a sequence (the input projections
of all steps are one matrix product) and can return every gate activation for plotting.
``from_torch`` copies ``torch.nn.LSTM`` / ``torch.nn.LSTMCell`` weights. :class:`GRU` is the
two-gate variant for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from seqnotes.rnn import RecurrentLanguageModel, _check_sizes, _inputs, _load_cell_, _uniform_
from seqnotes.utils import check_tensor

__all__ = [
    "GATE_NAMES",
    "GRU",
    "LSTM",
    "CharLSTMConfig",
    "GRUCell",
    "GRULanguageModel",
    "LSTMCell",
    "LSTMLanguageModel",
    "LSTMSequence",
    "cell_gradient_paths",
    "time_forward_backward",
]

GATE_NAMES = ("i", "f", "g", "o")  # PyTorch's order of the four blocks of weight_ih / weight_hh

State = tuple[torch.Tensor, torch.Tensor]


class LSTMCell(nn.Module):
    """One LSTM step. Parameters ``weight_ih (4H, D)``, ``weight_hh (4H, H)``, ``bias (4H,)``.

    The four row blocks are the gates in PyTorch's order i, f, g, o. ``nn.LSTM`` keeps two bias
    vectors that are only ever added, so one ``bias = b_ih + b_hh`` is the same model.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        _check_sizes(input_size, hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))  # (4H, D)
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))  # (4H, H)
        self.bias = nn.Parameter(torch.empty(4 * hidden_size))  # (4H,)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_(self, self.hidden_size)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Input part of the four pre-activations: ``(..., D) -> (..., 4H)``."""
        return x @ self.weight_ih.T + self.bias  # (..., 4H)

    def recur(self, xw: torch.Tensor, state: State) -> tuple[State, tuple[torch.Tensor, ...]]:
        """One step from the projected input ``xw (B, 4H)`` and ``state = (h, c)``, each ``(B, H)``.

        Returns ``((h', c'), (i, f, g, o))``: the new state and the four gate activations,
        each ``(B, H)``. (One sigmoid over all four blocks and fused ``addmm``/``addcmul``
        keep the number of autograd operations per step small.)
        """
        h, c = state
        z = torch.addmm(xw, h, self.weight_hh.T)  # (B, 4H) = xw + h W_hh^T
        i, f, _, o = torch.sigmoid(z).chunk(4, dim=-1)  # 3 x (B, H): the gates, in (0, 1); g's block unused
        g = torch.tanh(z[:, 2 * self.hidden_size : 3 * self.hidden_size])  # (B, H): the candidate
        c = torch.addcmul(f * c, i, g)  # (B, H): c = f * c + i * g, forget some old, add some new
        h = o * torch.tanh(c)  # (B, H): expose part of the memory
        return (h, c), (i, f, g, o)

    def forward(self, x: torch.Tensor, state: State | None = None) -> State:
        """``x (B, D)``, ``state = (h, c)`` (zeros if None) -> ``(h', c')``, each ``(B, H)``."""
        check_tensor(x, "x", ("B", self.input_size))
        state = _check_state(state, x, self.hidden_size)
        new_state, _ = self.recur(self.project(x), state)
        return new_state

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"

    @classmethod
    def from_torch(cls, m: nn.LSTMCell) -> LSTMCell:
        """A copy of ``torch.nn.LSTMCell`` ``m`` (its two biases are summed)."""
        if not isinstance(m, nn.LSTMCell):
            raise TypeError(f"from_torch needs a torch.nn.LSTMCell, got {type(m).__name__}")
        if m.bias_ih is None:
            raise ValueError("from_torch needs an nn.LSTMCell with bias=True")
        cell = cls(m.input_size, m.hidden_size)
        _load_cell_(cell, m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh)
        return cell


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

    ``forward(x, state=None, return_gates=False)`` takes ``x (B, T, D)`` (``(T, B, D)`` if
    ``batch_first=False``) and an optional ``state = (h0, c0)``, each ``(B, H)``, and returns
    ``(outputs, (h_T, c_T))`` with ``outputs`` every ``h_t``: ``(B, T, H)`` (or ``(T, B, H)``).
    With ``return_gates=True`` it returns a third item, a dict of ``(B, T, H)`` tensors
    ``{"i", "f", "g", "o", "c"}``: the gate activations and the cell state at every step
    (always batch first).

    ``fused=True`` (the default) runs the recurrence through :class:`LSTMSequence`, whose
    backward pass is written by hand; ``fused=False`` lets autograd record the step-by-step
    loop of :meth:`LSTMCell.recur`. Both give the same numbers. :meth:`unroll` always uses
    the step-by-step loop, so that every ``h_t`` and ``c_t`` is a node one can differentiate.
    """

    def __init__(
        self, input_size: int, hidden_size: int, batch_first: bool = True, fused: bool = True
    ) -> None:
        super().__init__()
        self.cell = LSTMCell(input_size, hidden_size)
        self.input_size, self.hidden_size, self.batch_first = input_size, hidden_size, batch_first
        self.fused = fused

    def _prepare(self, x: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        """Check the inputs; return the input projections ``xw (B, T, 4H)`` and ``(h0, c0)``."""
        x = _inputs(x, self.input_size, self.batch_first, None, self.hidden_size)  # (B, T, D)
        state = _check_state(state, x, self.hidden_size)
        return self.cell.project(x), state  # (B, T, 4H): all input projections in one matmul

    def _loop(self, xw: torch.Tensor, state: State) -> tuple[list[State], list[torch.Tensor]]:
        """The step-by-step loop that autograd records: states and gates ``(B, 4H)`` per step."""
        states, gates = [], []
        for t in range(xw.size(1)):
            state, ifgo = self.cell.recur(xw[:, t], state)  # (B, H) x 2, 4 x (B, H)
            states.append(state)
            gates.append(torch.cat(ifgo, dim=-1))  # (B, 4H)
        return states, gates

    def unroll(self, x: torch.Tensor, state: State | None = None) -> list[State]:
        """The states ``[(h_1, c_1), ..., (h_T, c_T)]`` as nodes of the autograd graph."""
        return self._loop(*self._prepare(x, state))[0]

    def forward(self, x: torch.Tensor, state: State | None = None, return_gates: bool = False):
        xw, (h0, c0) = self._prepare(x, state)  # (B, T, 4H), (B, H), (B, H)
        if self.fused:
            hs, cs, z = LSTMSequence.apply(xw, h0, c0, self.cell.weight_hh)  # (B, T, H) x 2, (B, T, 4H)
        else:
            states, gates = self._loop(xw, (h0, c0))
            hs = torch.stack([h for h, _ in states], dim=1)  # (B, T, H)
            cs = torch.stack([c for _, c in states], dim=1)  # (B, T, H)
            z = torch.stack(gates, dim=1)  # (B, T, 4H)
        outputs = hs if self.batch_first else hs.transpose(0, 1)  # (B, T, H) or (T, B, H)
        final = (hs[:, -1], cs[:, -1])  # (h_T, c_T), each (B, H)
        if not return_gates:
            return outputs, final
        acts = dict(zip(GATE_NAMES, z.detach().chunk(4, dim=-1), strict=True))  # 4 x (B, T, H)
        acts["c"] = cs.detach()  # (B, T, H)
        return outputs, final, acts

    def extra_repr(self) -> str:
        return f"batch_first={self.batch_first}"

    @classmethod
    def from_torch(cls, m: nn.LSTM) -> LSTM:
        """A copy of a single-layer, unidirectional ``torch.nn.LSTM`` with biases."""
        if not isinstance(m, nn.LSTM):
            raise TypeError(f"from_torch needs a torch.nn.LSTM, got {type(m).__name__}")
        if m.num_layers != 1 or m.bidirectional or not m.bias or m.proj_size:
            raise ValueError(
                "from_torch supports nn.LSTM(num_layers=1, bidirectional=False, bias=True, proj_size=0) only"
            )
        lstm = cls(m.input_size, m.hidden_size, batch_first=m.batch_first)
        _load_cell_(lstm.cell, m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0)
        return lstm


# ----------------------------------------------------------------------------------------
# GRU: two gates, no separate cell state


class GRUCell(nn.Module):
    """One GRU step in PyTorch's convention (blocks r, z, n)::

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)      reset gate
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)      update gate
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   candidate
        h' = (1 - z) * n + z * h

    ``b_hn`` sits inside ``r * (...)``, so the GRU keeps both bias vectors.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        _check_sizes(input_size, hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size))  # (3H, D)
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))  # (3H, H)
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size))  # (3H,)
        self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size))  # (3H,)
        _uniform_(self, hidden_size)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., D) -> (..., 3H)``."""
        return x @ self.weight_ih.T + self.bias_ih  # (..., 3H)

    def recur(self, xw: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step from ``xw (B, 3H)`` and ``h (B, H)`` -> ``h' (B, H)``."""
        hw = h @ self.weight_hh.T + self.bias_hh  # (B, 3H)
        xr, xz, xn = xw.chunk(3, dim=-1)  # 3 x (B, H)
        hr, hz, hn = hw.chunk(3, dim=-1)  # 3 x (B, H)
        r = torch.sigmoid(xr + hr)  # (B, H)
        z = torch.sigmoid(xz + hz)  # (B, H)
        n = torch.tanh(xn + r * hn)  # (B, H)
        return (1 - z) * n + z * h  # (B, H)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        check_tensor(x, "x", ("B", self.input_size))
        if h is None:
            h = x.new_zeros(x.size(0), self.hidden_size)  # (B, H)
        check_tensor(h, "h", (x.size(0), self.hidden_size))
        return self.recur(self.project(x), h)


class GRU(nn.Module):
    """A single-layer GRU: ``forward(x, h0=None) -> (outputs (B, T, H), h_T (B, H))``."""

    def __init__(self, input_size: int, hidden_size: int, batch_first: bool = True) -> None:
        super().__init__()
        self.cell = GRUCell(input_size, hidden_size)
        self.input_size, self.hidden_size, self.batch_first = input_size, hidden_size, batch_first

    def unroll(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> list[torch.Tensor]:
        x = _inputs(x, self.input_size, self.batch_first, h0, self.hidden_size)  # (B, T, D)
        h = x.new_zeros(x.size(0), self.hidden_size) if h0 is None else h0  # (B, H)
        xw = self.cell.project(x)  # (B, T, 3H)
        states = []
        for t in range(x.size(1)):
            h = self.cell.recur(xw[:, t], h)  # (B, H)
            states.append(h)
        return states

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.unroll(x, h0)
        outputs = torch.stack(states, dim=1 if self.batch_first else 0)  # (B, T, H) or (T, B, H)
        return outputs, states[-1]

    @classmethod
    def from_torch(cls, m: nn.GRU) -> GRU:
        """A copy of a single-layer, unidirectional ``torch.nn.GRU`` with biases."""
        if not isinstance(m, nn.GRU):
            raise TypeError(f"from_torch needs a torch.nn.GRU, got {type(m).__name__}")
        if m.num_layers != 1 or m.bidirectional or not m.bias:
            raise ValueError("from_torch supports nn.GRU(num_layers=1, bidirectional=False, bias=True) only")
        gru = cls(m.input_size, m.hidden_size, batch_first=m.batch_first)
        with torch.no_grad():
            gru.cell.weight_ih.copy_(m.weight_ih_l0)
            gru.cell.weight_hh.copy_(m.weight_hh_l0)
            gru.cell.bias_ih.copy_(m.bias_ih_l0)
            gru.cell.bias_hh.copy_(m.bias_hh_l0)
        return gru


def cell_gradient_paths(layer: LSTM, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """``||dL/dc_t||`` split into the direct cell-state path and the paths through ``h``.

    With ``L = sum(h_T)`` the gradient reaches ``c_t`` along two kinds of paths: the
    **direct** one, ``c_t -> c_{t+1} -> ... -> c_T`` through ``c = f * c + i * g`` only (each
    step multiplies by the forget gate), and the paths that leave the cell state through
    ``h_t = o_t * tanh(c_t)`` into the next step's gates and candidate. Running the recurrence
    a second time with ``h_{t-1}`` detached inside the gates keeps only the direct path.

    Returns a dict of ``(T,)`` tensors indexed by the distance ``d = T - t`` (index 0 is the
    last step): ``"full"`` and ``"direct"`` (batch mean of the per-example L2 norm),
    ``"h_paths"`` (the norm of their difference) and ``"tanh_slope"`` (the mean of
    ``tanh'(c_t) = 1 - tanh(c_t)^2`` at that step, the factor on the way ``c_t -> h_t``).
    """
    if not isinstance(layer, LSTM):
        raise TypeError(f"layer must be a seqnotes.lstm.LSTM, got {type(layer).__name__}")
    xw, state = layer._prepare(x, None)  # (B, T, 4H), (h0, c0)
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
    norm = lambda gs: torch.stack([g.double().norm(dim=-1).mean() for g in gs]).flip(0)  # noqa: E731
    slope = torch.stack([1 - torch.tanh(c.detach()).pow(2).mean() for c in cells]).flip(0)  # (T,)
    return {
        "full": norm(grads["full"]),
        "direct": norm(grads["direct"]),
        "h_paths": norm([a - b for a, b in zip(grads["full"], grads["direct"], strict=True)]),
        "tanh_slope": slope,
    }


def time_forward_backward(
    layers: dict[str, nn.Module], x: torch.Tensor, *, repeats: int = 20, rounds: int = 3
) -> dict[str, float]:
    """Seconds per forward + backward pass of every layer on ``x (B, T, D)``, side by side.

    Each round times ``repeats`` passes of every layer in turn (interleaved, so that a busy
    machine slows them alike); the result is the fastest round of each layer. The loss is
    the sum of the outputs. Timings vary from run to run: use them for ratios, not digits.
    """
    import time

    if not layers:
        raise ValueError("layers must name at least one module")
    best = {name: float("inf") for name in layers}
    for _ in range(rounds):
        for name, layer in layers.items():
            start = time.perf_counter()
            for _ in range(repeats):
                out, _ = layer(x)  # (B, T, H)
                out.sum().backward()
            best[name] = min(best[name], (time.perf_counter() - start) / repeats)
    return best


# ----------------------------------------------------------------------------------------
# Language models through the book's interface


@dataclass
class CharLSTMConfig:
    """Sizes of a character-level LSTM (or GRU) language model."""

    vocab_size: int
    embed_dim: int = 64
    hidden_size: int = 128


class LSTMLanguageModel(RecurrentLanguageModel):
    """Chapter 3's character language model: embedding -> :class:`LSTM` -> linear."""

    def __init__(self, config: CharLSTMConfig) -> None:
        layer = LSTM(config.embed_dim, config.hidden_size, batch_first=True)
        super().__init__(config.vocab_size, config.embed_dim, layer, config.hidden_size)
        self.config = config


class GRULanguageModel(RecurrentLanguageModel):
    """The same language model with a :class:`GRU` layer."""

    def __init__(self, config: CharLSTMConfig) -> None:
        layer = GRU(config.embed_dim, config.hidden_size, batch_first=True)
        super().__init__(config.vocab_size, config.embed_dim, layer, config.hidden_size)
        self.config = config
