"""Chapter 2: a recurrent neural network from scratch, and why its gradients vanish or explode.

The lecture notes' one line "하나의 가중치로 계속 학습" is the whole model::

    h_t = phi(W_xh x_t + W_hh h_{t-1} + b)        phi = tanh, relu or sigmoid

:class:`RNNCell` is one step, :class:`RNN` applies the *same* cell at every step (the input
projections of all steps are one matrix product, only the recurrence is a Python loop), and
:meth:`RNN.from_torch` copies a single-layer ``torch.nn.RNN`` so both give the same numbers.
:class:`RecurrentLanguageModel` turns any such layer into a character language model with
the book's interface (:class:`seqnotes.lm.LanguageModel`). :func:`state_gradient_norms`
measures ``||dL/dh_t||`` against the distance ``T - t`` (backpropagation through time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from seqnotes.data import lm_batches, lm_windows
from seqnotes.lm import LanguageModel, evaluate
from seqnotes.training import History, fit
from seqnotes.utils import check_positive_int, check_tensor, make_generator

__all__ = [
    "NONLINEARITIES",
    "RNN",
    "CharRNNConfig",
    "RNNCell",
    "RNNLanguageModel",
    "RecurrentLanguageModel",
    "bptt",
    "closing_bracket_probs",
    "gaussian_init_",
    "gaussian_rnn",
    "gradient_vs_distance",
    "probe_inputs",
    "spectral_norm",
    "spectral_radius",
    "state_gradient_norms",
    "target_probs",
    "train_char_lm",
]

NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}


def _check_sizes(input_size: int, hidden_size: int) -> None:
    check_positive_int(input_size, "input_size")
    check_positive_int(hidden_size, "hidden_size")


def _uniform_(module: nn.Module, hidden_size: int) -> None:
    """PyTorch's initialisation of recurrent layers: every parameter from U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size)
    for p in module.parameters():
        nn.init.uniform_(p, -bound, bound)


@torch.no_grad()
def _load_cell_(
    cell: nn.Module, weight_ih: torch.Tensor, weight_hh: torch.Tensor, *biases: torch.Tensor
) -> None:
    """Copy a ``torch.nn`` layer's weights into ``cell``; its two bias vectors are summed into one."""
    cell.weight_ih.copy_(weight_ih)
    cell.weight_hh.copy_(weight_hh)
    cell.bias.copy_(sum(biases))


def _inputs(
    x: torch.Tensor, input_size: int, batch_first: bool, h0: torch.Tensor | None, hidden_size: int
) -> torch.Tensor:
    """Check a recurrent layer's input ``x`` (and ``h0 (B, H)`` if given); return ``x (B, T, D)``."""
    check_tensor(x, "x", ("B", "T", input_size) if batch_first else ("T", "B", input_size))
    x = x if batch_first else x.transpose(0, 1)  # (B, T, D)
    if x.size(1) == 0:
        raise ValueError("x must hold at least one time step (T >= 1)")
    if h0 is not None:
        check_tensor(h0, "h0", (x.size(0), hidden_size))
    return x


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
        _check_sizes(input_size, hidden_size)
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {tuple(NONLINEARITIES)}, got {nonlinearity!r}")
        self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, nonlinearity
        self.act = NONLINEARITIES[nonlinearity]
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))  # (H, D)
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))  # (H, H)
        self.bias = nn.Parameter(torch.empty(hidden_size))  # (H,)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_(self, self.hidden_size)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Input part of the pre-activation: ``(..., D) -> (..., H)``."""
        return x @ self.weight_ih.T + self.bias  # (..., H)

    def recur(self, xw: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One recurrence step from the projected input ``xw (B, H)`` and ``h (B, H)``."""
        return self.act(torch.addmm(xw, h, self.weight_hh.T))  # (B, H) = phi(xw + h W_hh^T)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, D)``, ``h (B, H)`` (zeros if None) -> the next hidden state ``(B, H)``."""
        check_tensor(x, "x", ("B", self.input_size))
        if h is None:
            h = x.new_zeros(x.size(0), self.hidden_size)  # (B, H)
        check_tensor(h, "h", (x.size(0), self.hidden_size))
        return self.recur(self.project(x), h)  # (B, H)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}"

    @classmethod
    def from_torch(cls, m: nn.RNNCell) -> RNNCell:
        """A copy of ``torch.nn.RNNCell`` ``m`` (its two biases are summed)."""
        if not isinstance(m, nn.RNNCell):
            raise TypeError(f"from_torch needs a torch.nn.RNNCell, got {type(m).__name__}")
        if m.bias_ih is None:
            raise ValueError("from_torch needs an nn.RNNCell with bias=True")
        cell = cls(m.input_size, m.hidden_size, m.nonlinearity)
        _load_cell_(cell, m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh)
        return cell


class RNN(nn.Module):
    """A single-layer RNN that reuses one :class:`RNNCell` at every time step.

    ``forward(x, h0=None)`` takes ``x (B, T, D)`` (``(T, B, D)`` if ``batch_first=False``) and
    an optional initial state ``h0 (B, H)`` and returns ``(outputs, h_T)``: every hidden state
    ``(B, T, H)`` (or ``(T, B, H)``) and the last one ``(B, H)``. The number of parameters,
    ``H*D + H*H + H``, does not depend on ``T``.
    """

    def __init__(
        self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", batch_first: bool = True
    ) -> None:
        super().__init__()
        self.cell = RNNCell(input_size, hidden_size, nonlinearity)
        self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, nonlinearity
        self.batch_first = batch_first

    def _check(self, x: torch.Tensor, h0: torch.Tensor | None) -> torch.Tensor:
        return _inputs(x, self.input_size, self.batch_first, h0, self.hidden_size)  # (B, T, D)

    def unroll(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> list[torch.Tensor]:
        """The hidden states ``[h_1, ..., h_T]`` (each ``(B, H)``) as nodes of the autograd graph.

        :meth:`forward` stacks them; :func:`state_gradient_norms` differentiates through them.
        """
        x = self._check(x, h0)  # (B, T, D)
        h = x.new_zeros(x.size(0), self.hidden_size) if h0 is None else h0  # (B, H)
        xw = self.cell.project(x)  # (B, T, H): all input projections in one matmul
        states = []
        for t in range(x.size(1)):
            h = self.cell.recur(xw[:, t], h)  # (B, H): the same weights at every step
            states.append(h)
        return states

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.unroll(x, h0)
        outputs = torch.stack(states, dim=1 if self.batch_first else 0)  # (B, T, H) or (T, B, H)
        return outputs, states[-1]  # h_T: (B, H)

    def extra_repr(self) -> str:
        return f"batch_first={self.batch_first}"

    @classmethod
    def from_torch(cls, m: nn.RNN) -> RNN:
        """A copy of a single-layer, unidirectional ``torch.nn.RNN`` with biases."""
        if not isinstance(m, nn.RNN):
            raise TypeError(f"from_torch needs a torch.nn.RNN, got {type(m).__name__}")
        if m.num_layers != 1 or m.bidirectional or not m.bias or m.proj_size:
            raise ValueError("from_torch supports nn.RNN(num_layers=1, bidirectional=False, bias=True) only")
        rnn = cls(m.input_size, m.hidden_size, m.nonlinearity, batch_first=m.batch_first)
        _load_cell_(rnn.cell, m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0)
        return rnn


# ----------------------------------------------------------------------------------------
# Backpropagation through time: how the gradient changes with distance


def spectral_radius(w: torch.Tensor) -> float:
    """Largest absolute eigenvalue of a square matrix ``w (H, H)``."""
    check_tensor(w, "w", ("H", "H"))
    return float(torch.linalg.eigvals(w.detach().double()).abs().max())


@torch.no_grad()
def gaussian_init_(rnn: RNN, recurrent_scale: float, generator: torch.Generator) -> RNN:
    """Re-initialise ``rnn`` for the gradient experiments of Chapter 2.

    ``W_hh ~ N(0, s^2 / H)`` with ``s = recurrent_scale``: for large ``H`` its spectral
    radius is close to ``s`` (the circular law). ``W_xh ~ N(0, 1 / D)`` and ``b = 0``.
    """
    if not isinstance(rnn, RNN):
        raise TypeError(f"rnn must be a seqnotes.rnn.RNN, got {type(rnn).__name__}")
    if not recurrent_scale > 0:
        raise ValueError(f"recurrent_scale must be positive, got {recurrent_scale!r}")
    cell = rnn.cell
    h, d = cell.hidden_size, cell.input_size
    cell.weight_hh.copy_(torch.randn(h, h, generator=generator) * recurrent_scale / math.sqrt(h))
    cell.weight_ih.copy_(torch.randn(h, d, generator=generator) / math.sqrt(d))
    cell.bias.zero_()
    return rnn


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
    the same numbers autograd gives (checked in ``tests/test_rnn.py``). Needs ``batch_first``.
    """
    if not isinstance(rnn, RNN) or not rnn.batch_first:
        raise TypeError("bptt needs a seqnotes.rnn.RNN with batch_first=True")
    x = rnn._check(x, h0)  # (B, T, D)
    batch, steps = x.shape[:2]
    check_tensor(grad_outputs, "grad_outputs", (batch, steps, rnn.hidden_size))
    cell, dphi = rnn.cell, _DERIVATIVES[rnn.nonlinearity]
    h = x.new_zeros(batch, rnn.hidden_size) if h0 is None else h0  # (B, H)
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


def state_gradient_norms(
    layer: nn.Module, x: torch.Tensor, *, which: str = "h"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``||dL/dh_t||`` for every step ``t`` of one forward pass, with ``L = sum(h_T)``.

    ``layer`` is any module with ``unroll(x) -> list of per-step states``: an :class:`RNN`
    (states ``h_t``) or a :class:`seqnotes.lstm.LSTM` (states ``(h_t, c_t)``; ``which="c"``
    measures ``||dL/dc_t||``). The loss depends on the last hidden state only, so the gradient
    reaching ``h_t`` has travelled back ``T - t`` steps: it is the product of ``T - t``
    step Jacobians (backpropagation through time).

    Returns ``(distance (T,), norms (T,))``: ``distance = T - t`` from 0 to ``T - 1`` and the
    per-example L2 norm averaged over the batch (``inf``/``nan`` when the forward pass
    itself overflowed). The norms are computed in float64: squaring float32 gradients
    overflows above ~1e19 and underflows below ~1e-23, which would report ``inf`` or 0
    for gradients that are finite and non-zero.
    """
    if which not in ("h", "c"):
        raise ValueError(f"which must be 'h' or 'c', got {which!r}")
    if not hasattr(layer, "unroll"):
        raise TypeError(f"layer must have an unroll(x) method (RNN or LSTM), got {type(layer).__name__}")
    states = layer.unroll(x)
    if isinstance(states[0], tuple):
        last_h = states[-1][0]  # (B, H)
        nodes = [s[0] if which == "h" else s[1] for s in states]  # T x (B, H)
    else:
        if which == "c":
            raise ValueError("which='c' needs an LSTM (a layer whose states are (h, c) pairs)")
        last_h, nodes = states[-1], states
    loss = last_h.sum()
    grads = torch.autograd.grad(loss, nodes, allow_unused=True)
    norms = torch.stack(
        [
            torch.zeros((), dtype=torch.float64)
            if g is None
            else g.detach().double().norm(dim=-1).mean()  # mean over B of ||(H,)||, no float32 overflow
            for g in grads
        ]
    ).to(last_h.dtype)  # (T,)
    steps = len(nodes)
    distance = torch.arange(steps - 1, -1, -1)  # (T,): T - t for t = 1..T
    return distance, norms


def gradient_vs_distance(
    nonlinearity: str,
    recurrent_scale: float,
    *,
    seq_len: int = 100,
    hidden_size: int = 64,
    input_size: int = 16,
    batch_size: int = 32,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Chapter 2 experiment: ``||dL/dh_t||`` against ``T - t`` for one untrained RNN.

    The RNN is :func:`gaussian_rnn` (spectral radius about ``recurrent_scale``, weights from
    ``seed + 1``) and reads :func:`probe_inputs` (standard normal, from ``seed``), so every
    nonlinearity and scale sees the same inputs.
    Returns ``(distance (T,), norms (T,))`` as :func:`state_gradient_norms`.
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


def spectral_norm(w: torch.Tensor) -> float:
    """Largest singular value ``||w||_2`` of a square matrix ``w (H, H)``.

    Pascanu et al. (2013): if ``||W_hh||_2 < 1 / gamma``, where ``gamma`` bounds ``|phi'|``
    (1/4 for the sigmoid, 1 for tanh), every step Jacobian shrinks the gradient and it vanishes.
    """
    check_tensor(w, "w", ("H", "H"))
    return float(torch.linalg.matrix_norm(w.detach().double(), ord=2))


# ----------------------------------------------------------------------------------------
# A character-level language model around any recurrent layer


class RecurrentLanguageModel(LanguageModel):
    """Embedding -> a recurrent layer -> linear read-out, with the book's LM interface.

    ``layer`` maps ``(B, T, E) -> (outputs (B, T, H), final state)`` with ``batch_first=True``
    (:class:`RNN`, :class:`seqnotes.lstm.LSTM`, :class:`seqnotes.lstm.GRU`). Each training
    window starts from a zero state; ``context_size=None`` means the model reads the whole
    context it is given.
    """

    def __init__(self, vocab_size: int, embed_dim: int, layer: nn.Module, hidden_size: int) -> None:
        super().__init__()
        _check_sizes(vocab_size, embed_dim)
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.layer = layer
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        self.check_inputs(idx, targets)
        x = self.embedding(idx)  # (B, T, E)
        outputs, _ = self.layer(x)  # (B, T, H)
        logits = self.head(outputs)  # (B, T, V)
        return logits, self.lm_loss(logits, targets)


@dataclass
class CharRNNConfig:
    """Sizes of a character-level recurrent language model."""

    vocab_size: int
    embed_dim: int = 64
    hidden_size: int = 128
    nonlinearity: str = "tanh"  # RNN only


class RNNLanguageModel(RecurrentLanguageModel):
    """Chapter 2's character language model: embedding -> :class:`RNN` -> linear."""

    def __init__(self, config: CharRNNConfig) -> None:
        layer = RNN(config.embed_dim, config.hidden_size, config.nonlinearity, batch_first=True)
        super().__init__(config.vocab_size, config.embed_dim, layer, config.hidden_size)
        self.config = config


def train_char_lm(
    model: nn.Module, train_ids: torch.Tensor, val_ids: torch.Tensor, *, steps: int = 400
) -> History:
    """Chapters 2 and 3 train every character language model with this one recipe.

    Random windows of 32 characters, 64 per batch (drawn from a generator seeded with 1, so
    every model sees the same batches), Adam with learning rate 5e-3, gradients clipped to
    norm 1.0, and the held-out perplexity (``evaluate`` on 128-character windows) every 80
    steps. ``train_ids (N,)`` and ``val_ids (M,)`` are the encoded standard split.
    """
    return fit(
        model,
        lm_batches(train_ids, block_size=32, batch_size=64, generator=make_generator(1)),
        steps=steps,
        lr=5e-3,
        clip_grad_norm=1.0,
        eval_fn=lambda m: evaluate(m, val_ids, block_size=128),
        eval_every=80,
    )


# ----------------------------------------------------------------------------------------
# What a trained language model remembers: the probability of the right next symbol


@torch.no_grad()
def target_probs(model: nn.Module, ids: torch.Tensor, block_size: int = 128) -> torch.Tensor:
    """``p(next symbol | its window)`` at every position :func:`seqnotes.lm.evaluate` scores.

    ``ids (N,)`` is cut into the same non-overlapping windows (``lm_windows``); returns
    ``(W, T)`` float64 probabilities, ``[w, t]`` for the symbol ``ids[w * T + t + 1]`` given
    ``ids[w * T : w * T + t + 1]``. ``exp(-log(probs).mean())`` is ``evaluate``'s perplexity.
    """
    x, y = lm_windows(ids, block_size)  # (W, T), (W, T)
    was_training = model.training
    model.eval()
    logits, _ = model(x)  # (W, T, V)
    model.train(was_training)
    log_p = torch.log_softmax(logits.double(), dim=-1)  # (W, T, V)
    return log_p.gather(-1, y[..., None]).squeeze(-1).exp()  # (W, T)


def closing_bracket_probs(
    model: nn.Module, ids: torch.Tensor, open_id: int, close_id: int, block_size: int = 128
) -> tuple[torch.Tensor, torch.Tensor]:
    """``p(close | context)`` at every closing bracket whose opening one is in the same window.

    The notes' "아주 긴 문장의 앞 단어들을 놓침" measured on real text: a model that remembers
    the open bracket gives the closing one a high probability however far back it was opened.
    Windows are those of :func:`target_probs`; a closing bracket counts only if its matching
    opening bracket (innermost, by a stack) lies in the same window, so the model could see it.
    Returns ``(distance (K,), prob (K,))``: characters from the opening to the closing bracket.
    """
    check_tensor(ids, "ids", ("N",), dtype=torch.long)
    if open_id == close_id:
        raise ValueError("open_id and close_id must differ")
    probs = target_probs(model, ids, block_size).flatten()  # (W * T,): position j predicts ids[j + 1]
    stack: list[int] = []
    distance, prob = [], []
    for j, sym in enumerate(ids[: len(probs) + 1].tolist()):
        if sym == open_id:
            stack.append(j)
        elif sym == close_id and stack:
            i = stack.pop()
            # count it only if the opening bracket is in the window that predicts position j
            if j >= 1 and i // block_size == (j - 1) // block_size:
                distance.append(j - i)
                prob.append(float(probs[j - 1]))
    return torch.tensor(distance, dtype=torch.long), torch.tensor(prob, dtype=torch.float64)
