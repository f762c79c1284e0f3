"""Several seeds of one small RNN/LSTM/GRU as one batched model (Chapter 2 §2.4, Chapter 3 §3.4).

Notes line 9 ("아주 먼 과거의 데이터가 소실 됨") and line 13 ("어떻게 long term dep을
해결했는가?") are claims about every model, not one draw, so the adding problem is trained
with several seeds (:func:`seqnotes.training.adding.train_adding_seeds`).

The adding problem is trained with several seeds to make claims that hold over seeds. The
``S`` models have the same shapes, so their weights are stacked along a first axis and every
time step is one ``torch.bmm`` over the seeds: seed ``s`` only ever touches ``x[s]`` and its
own weights. For models this small the cost is the number of tiny operations, not the FLOPs, so
the RNN's and the GRU's recurrence is an ``autograd.Function`` whose forward loop records nothing
and whose backward (BPTT) is written by hand with two operations per step (everything else over all
T at once). The LSTM runs torch's fused C++ loop (``torch.lstm``) once per seed, which costs fewer
operations than any Python loop for a few seeds.

:class:`StackedRegressor` is ``S`` :class:`seqnotes.models.recurrent.SequenceRegressor` s in one module;
:func:`last_state` is the bare RNN/GRU recurrence ``xw (S, B, T, G*H) -> h_T (S, B, H)``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from seqnotes.models.gated import GRU, LSTM
from seqnotes.models.recurrent import RNN, SequenceRegressor
from seqnotes.utils import check_tensor

__all__ = ["GATES", "StackedRegressor", "last_state"]

GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # G: row blocks of weight_ih / weight_hh per kind


# Inside the Functions every buffer is seed-major, (S, T, B, ...): a step's slice ``[:, t]``
# (S, B, ...) keeps B and H contiguous, and the sums over all steps (dW_hh, the gradient of the
# input projection) are single ``bmm``s over views, without transposing copies.


class _RNNLast(torch.autograd.Function):
    """``h_t = tanh(xw_t + h_{t-1} W_hh^T)``, ``h_0 = 0``; returns ``h_T``."""

    @staticmethod
    def forward(ctx, xw, weight_hh):  # type: ignore[override]
        n_seeds, batch, steps, hidden = xw.shape
        xs = xw.transpose(1, 2).unbind(1)  # T x (S, B, H)
        hs = xw.new_zeros(n_seeds, steps + 1, batch, hidden)  # (S, T+1, B, H): h_0 .. h_T
        h = hs.unbind(1)  # T+1 x (S, B, H)
        w_t = weight_hh.transpose(1, 2)  # (S, H, H)
        for t in range(steps):
            torch.baddbmm(xs[t], h[t], w_t, out=h[t + 1])  # (S, B, H)
            h[t + 1].tanh_()
        ctx.save_for_backward(hs, weight_hh)
        return h[steps].clone()  # (S, B, H)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_last):  # type: ignore[override]
        hs, weight_hh = ctx.saved_tensors
        n_seeds, steps, batch, hidden = hs.shape
        steps -= 1
        slope = 1 - hs[:, 1:] * hs[:, 1:]  # (S, T, B, H): tanh'(a_t) = 1 - h_t^2
        da = torch.empty_like(slope)  # (S, T, B, H): dL/da_t
        das, slopes = da.unbind(1), slope.unbind(1)  # T x (S, B, H)
        dh = d_last  # (S, B, H): dL/dh_T
        for t in range(steps - 1, -1, -1):
            torch.mul(dh, slopes[t], out=das[t])  # (S, B, H)
            if t:
                dh = torch.bmm(das[t], weight_hh)  # (S, B, H): dL/dh_{t-1}
        flat = da.view(n_seeds, steps * batch, hidden)  # (S, T*B, H)
        d_weight_hh = torch.bmm(flat.transpose(1, 2), hs[:, :-1].reshape(n_seeds, -1, hidden))  # (S, H, H)
        return da.transpose(1, 2), d_weight_hh  # (S, B, T, H), (S, H, H)


class _GRULast(torch.autograd.Function):
    """The GRU of ``torch.nn.GRU`` (blocks r, z, n; ``b_hn`` inside the reset gate), ``h_0 = 0``."""

    @staticmethod
    def forward(ctx, xw, weight_hh, bias_hh):  # type: ignore[override]
        n_seeds, batch, steps, three_h = xw.shape
        hidden = three_h // 3
        xs = xw.transpose(1, 2)  # (S, T, B, 3H)
        base = xw.new_empty(n_seeds, steps, batch, three_h)  # (S, T, B, 3H): [x_r + b_hr, x_z + b_hz, b_hn]
        torch.add(xs[..., : 2 * hidden], bias_hh[:, None, None, : 2 * hidden], out=base[..., : 2 * hidden])
        base[..., 2 * hidden :] = bias_hh[:, None, None, 2 * hidden :]
        pre = torch.empty_like(base)  # (S, T, B, 3H): [a_r, a_z, W_hn h + b_hn]
        rz = xw.new_empty(n_seeds, steps, batch, 2 * hidden)  # (S, T, B, 2H): r, z
        ns = xw.new_empty(n_seeds, steps, batch, hidden)  # (S, T, B, H): candidates n
        hs = xw.new_zeros(n_seeds, steps + 1, batch, hidden)  # (S, T+1, B, H)
        bases, pres, rzs, n, h = base.unbind(1), pre.unbind(1), rz.unbind(1), ns.unbind(1), hs.unbind(1)
        pre_rz, hn = pre[..., : 2 * hidden].unbind(1), pre[..., 2 * hidden :].unbind(1)  # T x (S, B, 2H | H)
        r, z = rz[..., :hidden].unbind(1), rz[..., hidden:].unbind(1)  # T x (S, B, H)
        xn = xs[..., 2 * hidden :].unbind(1)  # T x (S, B, H)
        w_t = weight_hh.transpose(1, 2)  # (S, H, 3H)
        for t in range(steps):
            torch.baddbmm(bases[t], h[t], w_t, out=pres[t])  # (S, B, 3H)
            torch.sigmoid(pre_rz[t], out=rzs[t])  # (S, B, 2H)
            torch.addcmul(xn[t], r[t], hn[t], out=n[t])  # (S, B, H)
            n[t].tanh_()  # n = tanh(x_n + r (W_hn h + b_hn))
            torch.lerp(n[t], h[t], z[t], out=h[t + 1])  # h_t = (1 - z) n + z h_{t-1}
        ctx.save_for_backward(hs, rz, ns, pre, weight_hh)
        return h[steps].clone()  # (S, B, H)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_last):  # type: ignore[override]
        hs, rz, n, pre, weight_hh = ctx.saved_tensors
        n_seeds, steps, batch, hidden = n.shape
        r, z = rz[..., :hidden], rz[..., hidden:]  # (S, T, B, H) x 2
        hn = pre[..., 2 * hidden :]  # (S, T, B, H)
        to_n = (1 - z) * (1 - n * n)  # (S, T, B, H): dL/d(n pre-activation) per dL/dh_t
        # dL/d[r, z pre-activations, W_hn h + b_hn, h_{t-1} directly] = dL/dh_t * fac, all steps at once
        fac = n.new_empty(n_seeds, steps, batch, 4, hidden)  # (S, T, B, 4, H)
        torch.mul(to_n * hn, r * (1 - r), out=fac[..., 0, :])
        torch.mul(hs[:, :-1] - n, z * (1 - z), out=fac[..., 1, :])
        torch.mul(to_n, r, out=fac[..., 2, :])
        fac[..., 3, :] = z
        eye = torch.eye(hidden, dtype=n.dtype, device=n.device).expand(n_seeds, hidden, hidden)  # (S, H, H)
        w_ext = torch.cat([weight_hh, eye], 1)  # (S, 4H, H): the last block passes dh * z through
        dz = torch.empty_like(fac)  # (S, T, B, 4, H)
        dhs = n.new_empty(n_seeds, steps, batch, hidden)  # (S, T, B, H): dL/dh_t for t = 1 .. T
        dhs[:, -1] = d_last
        facs, dzs, dh = fac.unbind(1), dz.unbind(1), dhs.unbind(1)
        flat = dz.view(n_seeds, steps, batch, 4 * hidden).unbind(1)  # T x (S, B, 4H)
        for t in range(steps - 1, -1, -1):
            torch.mul(facs[t], dh[t].unsqueeze(2), out=dzs[t])  # (S, B, 4, H)
            if t:
                torch.bmm(flat[t], w_ext, out=dh[t - 1])  # (S, B, H): dL/dh_{t-1}
        d_pre = dz.view(n_seeds, steps, batch, 4 * hidden)[..., : 3 * hidden]  # (S, T, B, 3H): r, z, hn
        flat_pre = d_pre.reshape(n_seeds, steps * batch, 3 * hidden)  # (S, T*B, 3H), a view
        d_weight_hh = torch.bmm(
            flat_pre.transpose(1, 2), hs[:, :-1].reshape(n_seeds, -1, hidden)
        )  # (S, 3H, H)
        d_bias_hh = flat_pre.sum(1)  # (S, 3H)
        d_xw = torch.cat([d_pre[..., : 2 * hidden], dhs * to_n], -1)  # (S, T, B, 3H)
        return d_xw.transpose(1, 2), d_weight_hh, d_bias_hh  # (S, B, T, 3H), (S, 3H, H), (S, 3H)


_FUNCTIONS = {"rnn": _RNNLast, "gru": _GRULast}


def last_state(
    kind: str, xw: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor | None = None
) -> torch.Tensor:
    """The last hidden state ``h_T (S, B, H)`` of ``S`` independent tanh RNN or GRU layers (``kind``).

    ``xw (S, B, T, G*H)`` is the input projection ``x W_ih^T + b`` of every step (computed
    outside, with autograd), ``weight_hh (S, G*H, H)`` the stacked recurrent weights and, for
    ``kind="gru"`` only, ``bias_hh (S, 3H)``. ``G`` is :data:`GATES` ``[kind]``; ``h_0 = c_0 = 0``.
    Differentiable in every tensor argument (backward written by hand).
    """
    if kind not in _FUNCTIONS:
        raise ValueError(f"kind must be 'rnn' or 'gru' (the LSTM uses torch.lstm), got {kind!r}")
    hidden = check_tensor(weight_hh, "weight_hh", ("S", None, "H")).size(2)
    gh = GATES[kind] * hidden
    check_tensor(weight_hh, "weight_hh", ("S", gh, hidden))
    check_tensor(xw, "xw", (weight_hh.size(0), "B", "T", gh), dtype=weight_hh.dtype)
    if xw.size(2) == 0:
        raise ValueError("xw must hold at least one time step (T >= 1)")
    if kind == "gru":
        check_tensor(bias_hh, "bias_hh", (weight_hh.size(0), gh), dtype=weight_hh.dtype)
        return _GRULast.apply(xw, weight_hh, bias_hh)
    if bias_hh is not None:
        raise ValueError(f"bias_hh is for kind='gru' only (got kind={kind!r})")
    return _FUNCTIONS[kind].apply(xw, weight_hh)


_TORCH_NAMES = {
    "weight_ih": "weight_ih_l0",
    "weight_hh": "weight_hh_l0",
    "bias_ih": "bias_ih_l0",
    "bias_hh": "bias_hh_l0",
}


def _kind_and_params(layer: nn.Module) -> tuple[str, dict[str, nn.Parameter]]:
    """``("rnn" | "lstm" | "gru", {stacked name: parameter})`` of one layer; TypeError otherwise.

    The book's layers keep their cell's names (an LSTM has one ``bias``); ``torch.nn.LSTM`` and
    ``torch.nn.GRU`` (one layer, batch-first) give ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``.
    """
    if isinstance(layer, nn.LSTM | nn.GRU):
        if layer.num_layers != 1 or layer.bidirectional or not layer.bias or layer.proj_size:
            raise ValueError("torch.nn layers must have one layer, biases, one direction and no projection")
        kind = "lstm" if isinstance(layer, nn.LSTM) else "gru"
        params = {name: getattr(layer, torch_name) for name, torch_name in _TORCH_NAMES.items()}
    elif isinstance(layer, RNN | LSTM | GRU):
        if isinstance(layer, RNN) and layer.nonlinearity != "tanh":
            raise ValueError(f"only tanh RNNs can be stacked, got nonlinearity={layer.nonlinearity!r}")
        kind = "rnn" if isinstance(layer, RNN) else "lstm" if isinstance(layer, LSTM) else "gru"
        params = dict(layer.cell.named_parameters())
    else:
        raise TypeError(
            f"layer must be a seqnotes RNN, LSTM or GRU or a torch.nn LSTM or GRU, got {type(layer).__name__}"
        )
    if not layer.batch_first:
        raise ValueError("layers must be batch_first (as make_recurrent builds them)")
    return kind, params


class StackedRegressor(nn.Module):
    """``S`` :class:`seqnotes.models.recurrent.SequenceRegressor` s of one kind computed as one batched model.

    Built from ``models``, a list of ``S`` regressors around the book's own layers (as
    ``SequenceRegressor(make_recurrent(kind, D, H), H)`` builds them), whose weights are copied
    and stacked along a first axis of size ``S``: ``weight_ih (S, G*H, D)``, ``weight_hh
    (S, G*H, H)``, ``bias (S, G*H)`` (GRU: ``bias_ih`` and ``bias_hh``, each ``(S, 3H)``),
    ``head_weight (S, H)``, ``head_bias (S,)``. ``forward(x (S, B, T, D), y (S, B) = None)``
    returns ``(pred (S, B), mse (S,) | None)``; seed ``s`` sees only ``x[s]`` and its own
    weights, so the gradient of ``mse.sum()`` for seed ``s`` is that single model's gradient.
    """

    def __init__(self, models: list[SequenceRegressor]) -> None:
        super().__init__()
        if not isinstance(models, list | tuple) or not all(isinstance(m, SequenceRegressor) for m in models):
            raise TypeError("models must be a list of seqnotes.models.recurrent.SequenceRegressor")
        if not models:
            raise ValueError("models must hold at least one SequenceRegressor")
        found = [_kind_and_params(m.layer) for m in models]
        kinds = {kind for kind, _ in found}
        layouts = {tuple((n, tuple(p.shape)) for n, p in params.items()) for _, params in found}
        types = {type(m.layer) for m in models}
        if len(kinds) != 1 or len(layouts) != 1 or len(types) != 1:
            raise ValueError(
                f"all models must have one kind, layer type and size, got kinds {kinds}, types {types}"
            )
        self.kind = kinds.pop()
        self.input_size, self.hidden_size = models[0].layer.input_size, models[0].layer.hidden_size
        self._names = list(found[0][1])  # weight_ih, weight_hh, then bias or bias_ih, bias_hh
        for name in self._names:
            stacked = torch.stack([params[name].detach() for _, params in found])  # (S, ...)
            self.register_parameter(name, nn.Parameter(stacked.clone()))
        self.head_weight = nn.Parameter(torch.stack([m.head.weight.detach()[0] for m in models]).clone())
        self.head_bias = nn.Parameter(torch.stack([m.head.bias.detach()[0] for m in models]).clone())
        self._template = (copy.deepcopy(models[0]).eval(),)  # a tuple: not a submodule; unstack copies it

    @property
    def n_seeds(self) -> int:
        return self.head_bias.size(0)

    def forward(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        n_seeds = self.n_seeds
        check_tensor(x, "x", (n_seeds, "B", "T", self.input_size), dtype=self.head_bias.dtype)
        _, batch, steps, _ = x.shape
        if steps == 0:
            raise ValueError("x must hold at least one time step (T >= 1)")
        if y is not None:
            check_tensor(y, "y", (n_seeds, batch), dtype=self.head_bias.dtype)
        if self.kind == "lstm":  # torch's fused C++ loop, one call per seed: the fewest ops for small S
            h = torch.stack([self._lstm_last(x[s], s) for s in range(n_seeds)])  # (S, B, H)
            return self._read_out(h, y)
        bias = self.bias_ih if self.kind == "gru" else self.bias  # (S, G*H)
        x_tb = x.transpose(1, 2).reshape(n_seeds, steps * batch, self.input_size)  # (S, T*B, D)
        xw = torch.baddbmm(bias[:, None, :], x_tb, self.weight_ih.transpose(1, 2))  # (S, T*B, G*H)
        xw = xw.view(n_seeds, steps, batch, -1).transpose(1, 2)  # (S, B, T, G*H), a view
        args = (xw, self.weight_hh, self.bias_hh) if self.kind == "gru" else (xw, self.weight_hh)
        h = _FUNCTIONS[self.kind].apply(*args)  # (S, B, H)
        return self._read_out(h, y)

    def _lstm_last(self, x: torch.Tensor, s: int) -> torch.Tensor:
        """Seed ``s``'s LSTM (gates i, f, g, o, one bias) on ``x (B, T, D)`` -> ``h_T (B, H)``."""
        h0 = x.new_zeros(1, x.size(0), self.hidden_size)  # (1, B, H)
        if "bias" in self._names:  # the book's LSTM: one bias
            weights = [self.weight_ih[s], self.weight_hh[s], self.bias[s], torch.zeros_like(self.bias[s])]
        else:  # torch.nn.LSTM's two biases, each with its own gradient and optimizer state
            weights = [self.weight_ih[s], self.weight_hh[s], self.bias_ih[s], self.bias_hh[s]]
        _, h_last, _ = torch.lstm(x, (h0, h0), weights, True, 1, 0.0, self.training, False, True)
        return h_last[0]  # (B, H)

    def _read_out(self, h: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        pred = torch.baddbmm(self.head_bias[:, None, None], h, self.head_weight[:, :, None])  # (S, B, 1)
        pred = pred.squeeze(-1)  # (S, B)
        if y is None:
            return pred, None
        return pred, (pred - y).square().mean(1)  # (S,)

    @torch.no_grad()
    def unstack(self, s: int) -> SequenceRegressor:
        """Seed ``s`` as an ordinary :class:`SequenceRegressor` of the models' layer type (a copy, eval)."""
        if not isinstance(s, int) or isinstance(s, bool) or not 0 <= s < self.n_seeds:
            raise ValueError(f"s must be an int in [0, {self.n_seeds}), got {s!r}")
        model = copy.deepcopy(self._template[0])
        for name, p in _kind_and_params(model.layer)[1].items():
            p.copy_(getattr(self, name)[s])
        model.head.weight.copy_(self.head_weight[s][None])
        model.head.bias.copy_(self.head_bias[s][None])
        return model.eval()

    def extra_repr(self) -> str:
        return f"{self.kind!r}, seeds={self.n_seeds}, sizes=({self.input_size}, {self.hidden_size})"
