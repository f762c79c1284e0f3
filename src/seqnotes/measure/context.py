"""What context a trained language model uses (Chapters 2, 3 and 5; notes line 9).

Notes line 9: "아주 긴 문장의 앞 단어들을 놓침. short term dependency", measured on real text:

- :func:`target_probs`: the probability a model gives the right next symbol, everywhere
  :func:`seqnotes.models.lm.evaluate` scores one.
- :func:`closing_bracket_probs`: that probability at every closing bracket, against the
  distance back to its opening bracket (the bracket probe).
- :func:`context_sensitivity`: how much the next-symbol distribution moves when the
  symbol ``d`` positions back is replaced.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from seqnotes.tasks.corpus import lm_windows
from seqnotes.utils import check_positive_int, check_tensor

__all__ = ["closing_bracket_probs", "context_sensitivity", "target_probs"]


@torch.no_grad()
def target_probs(model: nn.Module, ids: torch.Tensor, block_size: int = 128) -> torch.Tensor:
    """``p(next symbol | its window)`` at every position :func:`seqnotes.models.lm.evaluate` scores.

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


def _check_probe(
    ids: torch.Tensor, distances: Sequence[int], window: int, positions: int, generator: torch.Generator
) -> list[int]:
    """Validate the arguments of :func:`context_sensitivity`; returns ``distances`` as a list."""
    check_tensor(ids, "ids", ("N",), dtype=torch.long)
    check_positive_int(window, "window")
    if len(ids) < window + 1:
        raise ValueError(f"ids has {len(ids)} symbols, need at least window + 1 = {window + 1}")
    check_positive_int(positions, "positions")
    distances = list(distances)
    if not distances or not all(isinstance(d, int) and not isinstance(d, bool) for d in distances):
        raise TypeError("distances must be a non-empty sequence of ints")
    if not all(1 <= d <= window for d in distances):
        raise ValueError(f"every distance must be in [1, window={window}], got {distances}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if bool((ids == ids[0]).all()):
        raise ValueError("ids must hold at least two different symbols (a replacement must differ)")
    return distances


@torch.no_grad()
def context_sensitivity(
    model: nn.Module,
    ids: torch.Tensor,
    distances: Sequence[int],
    *,
    window: int = 128,
    positions: int = 256,
    generator: torch.Generator,
) -> torch.Tensor:
    """How much the next-symbol distribution moves when one symbol of the past is replaced.

    ``positions`` windows of ``window`` symbols are drawn from ``ids (N,)``; the model reads
    each window and predicts the symbol after it. For every ``d`` in ``distances`` the
    symbol ``d`` positions back (``d = 1``: the last one read) is replaced by a symbol drawn
    from ``ids`` (so with the text's own frequencies; never the same symbol), and the total
    variation distance ``TV(p, p') = 1/2 sum_v |p(v) - p'(v)|`` between the two next-symbol
    distributions is averaged over the windows. A symbol the model cannot see gives exactly 0.

    A model with a bounded ``context_size`` reads only its last ``context_size`` symbols (as
    :func:`seqnotes.models.lm.generate` does). The random draws come from ``generator`` only, so two
    models given generators with the same seed see exactly the same replacements.
    Returns the mean TV for each distance, ``(len(distances),)`` float64.
    """
    distances = _check_probe(ids, distances, window, positions, generator)
    was_training = model.training
    model.eval()
    device = next(model.parameters(), torch.empty(0)).device
    context_size = getattr(model, "context_size", None)
    keep = window if context_size is None else min(window, context_size)

    def next_probs(x: torch.Tensor) -> torch.Tensor:
        logits, _ = model(x[:, -keep:].to(device))  # (P, keep, V)
        return torch.softmax(logits[:, -1].double(), dim=-1).cpu()  # (P, V)

    starts = torch.randint(0, len(ids) - window, (positions,), generator=generator)  # (P,)
    x = ids[starts[:, None] + torch.arange(window)]  # (P, W): the windows
    base = next_probs(x)  # (P, V)
    out = torch.empty(len(distances), dtype=torch.float64)
    for i, d in enumerate(distances):
        original = x[:, window - d]  # (P,)
        repl = ids[torch.randint(0, len(ids), (positions,), generator=generator)]  # (P,)
        same = repl == original  # (P,)
        while bool(same.any()):  # draw again where the replacement equals the original
            repl[same] = ids[torch.randint(0, len(ids), (int(same.sum()),), generator=generator)]
            same = repl == original
        changed = x.clone()  # (P, W)
        changed[:, window - d] = repl
        out[i] = 0.5 * (next_probs(changed) - base).abs().sum(dim=-1).mean()  # mean TV over the windows
    model.train(was_training)
    return out
