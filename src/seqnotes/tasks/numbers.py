"""A real translation task that trains on a CPU in a minute: digits -> Korean reading (Chapter 4.2).

Notes line 33: "번역 문제에 적용". ``1024 -> "천이십사"``, ``123456 -> "십이만 삼천사백오십육"``
(Sino-Korean numerals, spaced by 만 units). The targets come from the well-kept library
``num2words`` (``lang="ko"``); no reading is written by hand here. Sources are digit
characters, targets Korean syllables.

The numbers are ``1 .. 10**max_digits - 1``. :func:`make_split` holds out test numbers of
every length that training never sees, and :func:`number_batches` samples training numbers
uniformly over the *number of digits*, so short numbers (rare among all numbers: only 9
have one digit) are seen as often as long ones. Chapter 4.2's measurements of a trained
reader are :mod:`seqnotes.measure.reader`; its training recipe is
:func:`seqnotes.training.recipes.train_number_reader`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from seqnotes.utils import check_positive_int, check_tensor, make_generator

__all__ = [
    "BOS_ID",
    "EOS_ID",
    "PAD_ID",
    "SRC_TOKENS",
    "TGT_ID",
    "TGT_TOKENS",
    "NumberSplit",
    "check_number",
    "decode_readings",
    "encode_numbers",
    "encode_readings",
    "make_split",
    "number_batches",
    "numbers_of_length",
    "reading",
    "round_number",
    "sample_numbers",
]


PAD, BOS, EOS = "<pad>", "<s>", "</s>"
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2
SRC_TOKENS: list[str] = [PAD, *"0123456789"]
# the symbols num2words uses for Sino-Korean numbers (the readings themselves come from it)
TGT_TOKENS: list[str] = [PAD, BOS, EOS, " ", *"일이삼사오육칠팔구십백천만억조"]
SRC_ID = {s: i for i, s in enumerate(SRC_TOKENS)}
TGT_ID = {s: i for i, s in enumerate(TGT_TOKENS)}


def check_number(n: object, max_digits: int = 15) -> int:
    """Return ``n`` if it is an int in ``[1, 10**max_digits)``, else raise naming what was expected."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"a number must be an int, got {type(n).__name__}")
    if not 1 <= n < 10**max_digits:
        raise ValueError(f"numbers must be in [1, 10**{max_digits}), got {n}")
    return n


_DIGIT_WORDS = "일이삼사오육칠팔구"
_GROUP_UNITS = ((12, "조"), (8, "억"), (4, "만"), (0, ""))


def _read_group(v: int) -> str:
    """A 4-digit group 1..9999: 천, 백 and 십 without a leading 일, the units digit with it."""
    out = ""
    for power, word in ((1000, "천"), (100, "백"), (10, "십")):
        d = v // power % 10
        if d:
            out += ("" if d == 1 else _DIGIT_WORDS[d - 1]) + word
    return out + (_DIGIT_WORDS[v % 10 - 1] if v % 10 else "")


def reading(n: int) -> str:
    """The Sino-Korean reading of ``n`` as ``num2words(n, lang="ko")`` writes it, e.g. 1024 -> 천이십사.

    num2words' conventions, reproduced without its per-call cost (training reads ~40,000
    numbers): 4-digit groups (조, 억, 만, units) joined by spaces, zero groups skipped, no
    일 before 천/백/십 or before a lone 만 (10,000 -> 만, but 일억). ``tests/test_tasks_numbers.py``
    checks that this equals num2words on every number below 10**5 and on random ones up to 15 digits.
    """
    n = check_number(n)
    groups = []
    for exponent, unit in _GROUP_UNITS:
        v = n // 10**exponent % 10000
        if v:
            groups.append(("" if v == 1 and unit == "만" else _read_group(v)) + unit)
    return " ".join(groups)


def numbers_of_length(L: int) -> tuple[int, int]:
    """The range ``[low, high)`` of the positive numbers with ``L`` digits."""
    if not isinstance(L, int) or L < 1:
        raise ValueError(f"the number of digits L must be a positive int, got {L!r}")
    return (1 if L == 1 else 10 ** (L - 1)), 10**L


def round_number(L: int, generator: torch.Generator) -> int:
    """A random ``L``-digit number with many zeros, like 300,020,001.

    The leading digit is 1-9; every other digit is 0 with probability 0.6 and
    else 1-9. Uniformly drawn long numbers rarely have runs of zeros (0 is 1 digit in 10),
    although numbers that people actually say often do.
    """
    low, _ = numbers_of_length(L)
    digits = torch.randint(1, 10, (L,), generator=generator)  # (L,)
    zeros = torch.rand(L, generator=generator) < 0.6  # (L,)
    zeros[0] = False
    digits = digits.masked_fill(zeros, 0)
    n = int("".join(str(d) for d in digits.tolist()))
    return max(n, low)


@dataclass
class NumberSplit:
    """Held-out test numbers; training never samples them.

    ``test`` is drawn uniformly within every number of digits; ``test_round`` holds numbers
    with many zeros (:func:`round_number`), 5 digits and longer. ``train_pools[L]`` lists
    the training numbers of length ``L`` when there are few of them (up to 4 digits);
    longer training numbers are drawn at random and redrawn if they are test numbers.
    """

    max_digits: int
    test: list[int]
    test_round: list[int]
    train_pools: dict[int, torch.Tensor] = field(repr=False)
    _held_out: set[int] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self._held_out = set(self.test) | set(self.test_round)

    def is_test(self, n: int) -> bool:
        """Whether ``n`` is held out (in ``test`` or ``test_round``)."""
        return n in self._held_out

    def test_by_length(self) -> dict[int, list[int]]:
        """The uniform test numbers grouped by their number of digits."""
        groups: dict[int, list[int]] = {}
        for n in self.test:
            groups.setdefault(len(str(n)), []).append(n)
        return dict(sorted(groups.items()))


def make_split(
    max_digits: int = 9,
    test_per_length: int = 400,
    test_fraction: float = 0.1,
    round_per_length: int = 100,
    seed: int = 0,
) -> NumberSplit:
    """Hold out test numbers of every length, and round numbers (many zeros) of 5+ digits.

    For every length ``L`` it holds out ``min(test_per_length, test_fraction * count_L)``
    numbers drawn uniformly: with the defaults 1 of the 9 one-digit numbers, 9 two-digit,
    90 three-digit and 400 of each longer length, 2,500 numbers below 10^9. Then
    ``round_per_length`` numbers from :func:`round_number` for each length from 5 digits
    up (500 with the defaults).
    """
    if not isinstance(max_digits, int) or not 1 <= max_digits <= 12:
        raise ValueError(f"max_digits must be an int in [1, 12], got {max_digits!r}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    for name, value in (("test_per_length", test_per_length), ("round_per_length", round_per_length)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    g = make_generator(seed)
    test: list[int] = []
    pools: dict[int, torch.Tensor] = {}
    for L in range(1, max_digits + 1):
        low, high = numbers_of_length(L)
        count = high - low
        n_test = min(test_per_length, round(test_fraction * count))
        if count <= 10_000:  # small: enumerate, shuffle, cut
            perm = low + torch.randperm(count, generator=g)  # (count,)
            test += sorted(perm[:n_test].tolist())
            pools[L] = perm[n_test:].sort().values  # (count - n_test,)
        else:  # large: draw distinct numbers
            chosen: dict[int, None] = {}  # an insertion-ordered set
            while len(chosen) < n_test:
                for x in torch.randint(low, high, (n_test,), generator=g).tolist():
                    if len(chosen) < n_test:
                        chosen[x] = None
            test += sorted(chosen)
    uniform = set(test)
    test_round: list[int] = []
    for L in range(1, max_digits + 1):
        if L in pools:
            continue
        chosen = {}
        while len(chosen) < round_per_length:
            x = round_number(L, g)
            if x not in uniform:
                chosen[x] = None
        test_round += sorted(chosen)
    return NumberSplit(max_digits, test, test_round, pools)


def sample_numbers(
    split: NumberSplit, n: int, generator: torch.Generator, round_fraction: float = 0.0
) -> list[int]:
    """``n`` training numbers, never a held-out one.

    First a number of digits ``L``, uniformly, then a number of that length: from the pool of
    training numbers for short lengths; for longer ones a :func:`round_number` with
    probability ``round_fraction``, else a uniform draw.
    """
    if not 0 <= round_fraction <= 1:
        raise ValueError(f"round_fraction must be in [0, 1], got {round_fraction!r}")
    weights = torch.ones(split.max_digits)  # (max_digits,): every number of digits alike
    lengths = torch.multinomial(weights, n, replacement=True, generator=generator) + 1  # (n,)
    out = []
    for L in lengths.tolist():
        if L in split.train_pools:
            pool = split.train_pools[L]
            out.append(int(pool[torch.randint(len(pool), (1,), generator=generator)]))
            continue
        low, high = numbers_of_length(L)
        use_round = float(torch.rand((), generator=generator)) < round_fraction
        while True:
            x = (
                round_number(L, generator)
                if use_round
                else int(torch.randint(low, high, (1,), generator=generator))
            )
            if not split.is_test(x):
                break
        out.append(x)
    return out


def encode_numbers(numbers: Sequence[int]) -> torch.Tensor:
    """Digits of each number, right-padded with ``PAD_ID``: ``(B, S)`` ids."""
    rows = [[SRC_ID[d] for d in str(check_number(n))] for n in numbers]
    if not rows:
        raise ValueError("numbers must not be empty")
    S = max(map(len, rows))
    return torch.tensor([r + [PAD_ID] * (S - len(r)) for r in rows], dtype=torch.long)  # (B, S)


def encode_readings(numbers: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher-forcing pairs ``(tgt_in, tgt_out)``, each ``(B, T)``, right-padded.

    ``tgt_in = <s> y_1 .. y_n`` and ``tgt_out = y_1 .. y_n </s>``: at every position the
    decoder sees the true prefix and must predict the next symbol.
    """
    rows = []
    for n in numbers:
        text = reading(n)
        unknown = sorted({ch for ch in text if ch not in TGT_ID})
        if unknown:
            raise ValueError(f"reading of {n} ({text!r}) has symbols outside TGT_TOKENS: {unknown}")
        rows.append([TGT_ID[ch] for ch in text])
    if not rows:
        raise ValueError("numbers must not be empty")
    T = max(map(len, rows)) + 1
    tgt_in = [[BOS_ID, *r] + [PAD_ID] * (T - 1 - len(r)) for r in rows]
    tgt_out = [[*r, EOS_ID] + [PAD_ID] * (T - 1 - len(r)) for r in rows]
    return torch.tensor(tgt_in, dtype=torch.long), torch.tensor(tgt_out, dtype=torch.long)  # (B, T) x 2


def decode_readings(ids: torch.Tensor) -> list[str]:
    """Target ids ``(B, L)`` -> strings, stopping at the first ``</s>``."""
    check_tensor(ids, "ids", ("B", "L"), dtype=torch.long)
    out = []
    for row in ids.tolist():
        chars = []
        for i in row:
            if i == EOS_ID:
                break
            if not 0 <= i < len(TGT_TOKENS):
                raise ValueError(f"id {i} is out of range for TGT_TOKENS of size {len(TGT_TOKENS)}")
            if i not in (PAD_ID, BOS_ID):
                chars.append(TGT_TOKENS[i])
        out.append("".join(chars))
    return out


def number_batches(
    split: NumberSplit,
    batch_size: int,
    generator: torch.Generator,
    round_fraction: float = 0.0,
) -> Callable[[int], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """A ``get_batch(step) -> (src, tgt_in, tgt_out)`` for :func:`seqnotes.training.loop.fit`.

    Each batch holds ``batch_size`` numbers from :func:`sample_numbers`.
    """
    check_positive_int(batch_size, "batch_size")

    def get_batch(step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        numbers = sample_numbers(split, batch_size, generator, round_fraction)
        return (encode_numbers(numbers), *encode_readings(numbers))  # (B, S), (B, T), (B, T)

    return get_batch
