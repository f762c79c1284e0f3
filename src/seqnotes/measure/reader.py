"""Measurements of a trained number reader (Chapter 4.2; notes lines 56-62).

Notes lines 58-62: the decoder starts from a start token, feeds each output back in and
picks the argmax; line 60: its queries meet the encoder's keys and values. Measured here:
:func:`translate` (greedy or beam search), :func:`exact_match`, error categories such as
:func:`silent_man`, greedy vs beam via :func:`decoder_changes`, and the cross-attention
:func:`alignment_share` built on :func:`digit_positions`; :func:`evaluate_reader` makes
them all, so that the chapter can repeat them over seeds.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from seqnotes.tasks.numbers import (
    BOS_ID,
    EOS_ID,
    TGT_ID,
    NumberSplit,
    check_number,
    decode_readings,
    encode_numbers,
    encode_readings,
    reading,
)

__all__ = [
    "DIGIT_SYLLABLES",
    "TEN_DIGIT_EXAMPLES",
    "alignment_share",
    "decoder_changes",
    "digit_positions",
    "evaluate_reader",
    "exact_match",
    "silent_man",
    "translate",
]


def translate(
    model: torch.nn.Module,
    numbers: Sequence[int],
    method: str = "greedy",
    beam_size: int = 4,
    batch_size: int = 500,
    max_len: int | None = None,
) -> list[str]:
    """Read every number with ``model`` (a :class:`seqnotes.models.seq2seq.Seq2SeqTransformer`).

    ``method`` is ``"greedy"`` or ``"beam"``; ``max_len`` (default: the model's ``context_size``)
    bounds the number of output symbols.
    """
    if method not in ("greedy", "beam"):
        raise ValueError(f"method must be 'greedy' or 'beam', got {method!r}")
    max_len = model.config.context_size if max_len is None else max_len
    device = next(model.parameters()).device
    out: list[str] = []
    for start in range(0, len(numbers), batch_size):
        src = encode_numbers(numbers[start : start + batch_size]).to(device)  # (b, S)
        if method == "greedy":
            ids = model.greedy_decode(src, max_len, BOS_ID, EOS_ID)  # (b, L)
        else:
            ids = model.beam_search(src, max_len, BOS_ID, EOS_ID, beam_size=beam_size)  # (b, L)
        out += decode_readings(ids.cpu())
    return out


DIGIT_SYLLABLES = "일이삼사오육칠팔구"
TEN_DIGIT_EXAMPLES = [1234567890, 9876543210, 5000000005]  # longer than any training number


def silent_man(n: int) -> bool:
    """Whether ``n`` has 9+ digits and its 만 group (the 4 digits below 억) is ``0000``.

    Such a number skips the whole 만 group when read: 300,000,001 -> 삼억 일.
    """
    digits = str(check_number(n))
    return len(digits) >= 9 and digits[-8:-4] == "0000"


def digit_positions(n: int) -> list[int]:
    """For every digit syllable (일..구) of ``reading(n)``, the index of the digit it reads.

    Indices count the digits of ``n`` from the left (0-based). A 0 is never read, a 1 before
    십/백/천 is silent, and so is a 만 group that is just ``0001`` (만, not 일만): num2words'
    conventions. Raises ``ValueError`` if the rule disagrees with :func:`reading`.
    """
    digits = str(check_number(n))
    L = len(digits)
    positions = []
    for i, ch in enumerate(digits):
        place = L - 1 - i  # 0 = ones, 4 = 만, 8 = 억
        if ch == "0" or (ch == "1" and place % 4 != 0):
            continue
        if ch == "1" and place == 4 and int(digits[max(0, L - 8) : L - 4]) == 1:
            continue  # 10,000 -> 만
        positions.append(i)
    spoken = [ch for ch in reading(n) if ch in DIGIT_SYLLABLES]
    if spoken != [DIGIT_SYLLABLES[int(digits[i]) - 1] for i in positions]:
        raise ValueError(f"digit rule disagrees with the reading of {n}: {reading(n)!r}")
    return positions


def exact_match(numbers: Sequence[int], predictions: Sequence[str]) -> float:
    """The share of ``predictions`` equal to ``reading(n)`` letter for letter."""
    if len(numbers) != len(predictions) or not numbers:
        raise ValueError(
            "numbers and predictions must be non-empty and of equal length, "
            f"got {len(numbers)} and {len(predictions)}"
        )
    return sum(p == reading(n) for n, p in zip(numbers, predictions, strict=True)) / len(numbers)


def decoder_changes(numbers: Sequence[int], greedy: Sequence[str], beam: Sequence[str]) -> dict[str, int]:
    """How many outputs beam search changed, and how many of those it fixed or broke."""
    if not len(numbers) == len(greedy) == len(beam):
        raise ValueError(f"lengths differ: {len(numbers)}, {len(greedy)}, {len(beam)}")
    changed = [(reading(n), g, b) for n, g, b in zip(numbers, greedy, beam, strict=True) if g != b]
    return {
        "changed": len(changed),
        "fixed": sum(b == truth for truth, _, b in changed),
        "broken": sum(g == truth for truth, g, _ in changed),
    }


def alignment_share(model: torch.nn.Module, numbers: Sequence[int], layer: int = 0) -> float:
    """The share of digit syllables whose cross-attention argmax is the digit being read.

    The true readings are fed with teacher forcing; the weights of decoder ``layer`` are
    averaged over the heads; the row of the step that *produces* a digit syllable is compared
    with :func:`digit_positions`.
    """
    src = encode_numbers(numbers)  # (B, S)
    tgt_in, tgt_out = encode_readings(numbers)  # (B, T) x 2
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(src, tgt_in)
    model.train(was_training)
    focus = model.attention_weights()["cross"][layer].mean(1).argmax(-1)  # (B, T): most-attended digit
    digit_ids = torch.tensor([TGT_ID[ch] for ch in DIGIT_SYLLABLES])
    hits = total = 0
    for b, n in enumerate(numbers):
        steps = torch.isin(tgt_out[b], digit_ids).nonzero().flatten()  # steps that produce a digit syllable
        target = torch.tensor(digit_positions(n))
        hits += int((focus[b, steps] == target).sum())
        total += len(target)
    return hits / total


def evaluate_reader(
    model: torch.nn.Module,
    split: NumberSplit,
    greedy_test: Sequence[str] | None = None,
    greedy_round: Sequence[str] | None = None,
    beam_round: Sequence[str] | None = None,
    beam_size: int = 4,
) -> dict[str, float]:
    """Every measurement the chapter makes on a trained reader, as one row.

    Exact match on the uniform and the round test numbers (greedy), the round-number errors
    (all, and those with a silent 만 group, next to how many such numbers there are), what
    beam search changes on the round numbers, the share of 10-digit numbers read as 9-digit
    ones, and :func:`alignment_share` of decoder layer 1 on 100 nine-digit test numbers.
    Outputs already computed (``greedy_test``, ``greedy_round``, ``beam_round``) are reused.
    """
    if greedy_test is None:
        greedy_test = translate(model, split.test)
    if greedy_round is None:
        greedy_round = translate(model, split.test_round)
    if beam_round is None:
        beam_round = translate(model, split.test_round, method="beam", beam_size=beam_size)
    wrong = [n for n, p in zip(split.test_round, greedy_round, strict=True) if p != reading(n)]
    heads = {reading(d * 10**8) for d in range(1, 10)}  # 일억 .. 구억
    nines = [n for n in split.test if len(str(n)) == 9][:100]
    return {
        "test_acc": exact_match(split.test, greedy_test),
        "round_acc": exact_match(split.test_round, greedy_round),
        "round_errors": len(wrong),
        "silent_man_errors": sum(map(silent_man, wrong)),
        "silent_man_total": sum(map(silent_man, split.test_round)),
        **{f"beam_{k}": v for k, v in decoder_changes(split.test_round, greedy_round, beam_round).items()},
        "beam_acc": exact_match(split.test_round, beam_round),
        "ten_as_nine": sum(p.split(" ")[0] in heads for p in translate(model, TEN_DIGIT_EXAMPLES))
        / len(TEN_DIGIT_EXAMPLES),
        "alignment": alignment_share(model, nines, layer=0),
    }
