"""A real translation task that trains on a CPU in a minute: digits -> Korean reading.

``1024 -> "천이십사"``, ``123456 -> "십이만 삼천사백오십육"`` (Sino-Korean numerals, spaced by
만 units). The targets come from the well-kept library ``num2words`` (``lang="ko"``); no
reading is written by hand here. Sources are digit characters, targets Korean syllables.

The numbers are ``1 .. 10**max_digits - 1``. :func:`make_split` holds out test numbers of
every length that training never sees, and :func:`number_batches` samples training numbers
uniformly over the *number of digits*, so short numbers (rare among all numbers: only 9
have one digit) are seen as often as long ones.

Chapter 4.2's measurements live here too, so that they can be repeated over seeds:
:func:`train_number_reader` (the chapter's recipe), :func:`evaluate_reader` (exact match,
error categories such as :func:`silent_man`, greedy vs beam via :func:`decoder_changes`, and
the cross-attention :func:`alignment_share` built on :func:`digit_positions`).
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
    "TEN_DIGIT_EXAMPLES",
    "TGT_TOKENS",
    "NumberSplit",
    "alignment_share",
    "decode_readings",
    "decoder_changes",
    "digit_positions",
    "encode_numbers",
    "encode_readings",
    "evaluate_reader",
    "exact_match",
    "make_split",
    "number_batches",
    "numbers_of_length",
    "reading",
    "round_number",
    "sample_numbers",
    "silent_man",
    "train_number_reader",
    "translate",
]

PAD, BOS, EOS = "<pad>", "<s>", "</s>"
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2
SRC_TOKENS: list[str] = [PAD, *"0123456789"]
# the symbols num2words uses for Sino-Korean numbers (the readings themselves come from it)
TGT_TOKENS: list[str] = [PAD, BOS, EOS, " ", *"일이삼사오육칠팔구십백천만억조"]
_SRC_ID = {s: i for i, s in enumerate(SRC_TOKENS)}
_TGT_ID = {s: i for i, s in enumerate(TGT_TOKENS)}


def _check_number(n: object, max_digits: int = 15) -> int:
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
    일 before 천/백/십 or before a lone 만 (10,000 -> 만, but 일억). ``tests/test_numbers.py``
    checks that this equals num2words on every number below 10**5 and on random ones up to 15 digits.
    """
    n = _check_number(n)
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


def round_number(L: int, generator: torch.Generator, zero_prob: float = 0.6) -> int:
    """A random ``L``-digit number with many zeros, like 300,020,001.

    The leading digit is 1-9; every other digit is 0 with probability ``zero_prob`` and
    else 1-9. Uniformly drawn long numbers rarely have runs of zeros (0 is 1 digit in 10),
    although numbers that people actually say often do.
    """
    low, _ = numbers_of_length(L)
    if not 0 <= zero_prob <= 1:
        raise ValueError(f"zero_prob must be in [0, 1], got {zero_prob!r}")
    digits = torch.randint(1, 10, (L,), generator=generator)  # (L,)
    zeros = torch.rand(L, generator=generator) < zero_prob  # (L,)
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
    split: NumberSplit,
    n: int,
    generator: torch.Generator,
    length_weights: Sequence[float] | None = None,
    round_fraction: float = 0.0,
) -> list[int]:
    """``n`` training numbers, never a held-out one.

    First a number of digits ``L`` by ``length_weights`` (default: uniform), then a number of
    that length: from the pool of training numbers for short lengths; for longer ones a
    :func:`round_number` with probability ``round_fraction``, else a uniform draw.
    """
    if length_weights is None:
        weights = torch.ones(split.max_digits)
    else:
        weights = torch.tensor(length_weights, dtype=torch.float)
    if weights.shape != (split.max_digits,) or bool((weights < 0).any()) or float(weights.sum()) <= 0:
        raise ValueError(
            f"length_weights must be {split.max_digits} non-negative numbers, got {length_weights!r}"
        )
    if not 0 <= round_fraction <= 1:
        raise ValueError(f"round_fraction must be in [0, 1], got {round_fraction!r}")
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
    rows = [[_SRC_ID[d] for d in str(_check_number(n))] for n in numbers]
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
        unknown = sorted({ch for ch in text if ch not in _TGT_ID})
        if unknown:
            raise ValueError(f"reading of {n} ({text!r}) has symbols outside TGT_TOKENS: {unknown}")
        rows.append([_TGT_ID[ch] for ch in text])
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
    length_weights: Sequence[float] | None = None,
    round_fraction: float = 0.0,
) -> Callable[[int], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """A ``get_batch(step) -> (src, tgt_in, tgt_out)`` for :func:`seqnotes.training.fit`.

    Each batch holds ``batch_size`` numbers from :func:`sample_numbers`.
    """
    check_positive_int(batch_size, "batch_size")

    def get_batch(step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        numbers = sample_numbers(split, batch_size, generator, length_weights, round_fraction)
        return (encode_numbers(numbers), *encode_readings(numbers))  # (B, S), (B, T), (B, T)

    return get_batch


def translate(
    model: torch.nn.Module,
    numbers: Sequence[int],
    method: str = "greedy",
    beam_size: int = 4,
    batch_size: int = 500,
    max_len: int | None = None,
) -> list[str]:
    """Read every number with ``model`` (a :class:`seqnotes.transformer.Seq2SeqTransformer`).

    ``method`` is ``"greedy"`` or ``"beam"``; ``max_len`` (default: the model's ``max_len``)
    bounds the number of output symbols.
    """
    if method not in ("greedy", "beam"):
        raise ValueError(f"method must be 'greedy' or 'beam', got {method!r}")
    max_len = model.config.max_len if max_len is None else max_len
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
    digits = str(_check_number(n))
    return len(digits) >= 9 and digits[-8:-4] == "0000"


def digit_positions(n: int) -> list[int]:
    """For every digit syllable (일..구) of ``reading(n)``, the index of the digit it reads.

    Indices count the digits of ``n`` from the left (0-based). A 0 is never read, a 1 before
    십/백/천 is silent, and so is a 만 group that is just ``0001`` (만, not 일만): num2words'
    conventions. Raises ``ValueError`` if the rule disagrees with :func:`reading`.
    """
    digits = str(_check_number(n))
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
    digit_ids = torch.tensor([_TGT_ID[ch] for ch in DIGIT_SYLLABLES])
    hits = total = 0
    for b, n in enumerate(numbers):
        steps = torch.isin(tgt_out[b], digit_ids).nonzero().flatten()  # steps that produce a digit syllable
        target = torch.tensor(digit_positions(n))
        hits += int((focus[b, steps] == target).sum())
        total += len(target)
    return hits / total


def train_number_reader(
    split: NumberSplit,
    config: object,
    seed: int,
    steps: int = 400,
    batch_size: int = 128,
    lr: float = 5e-3,
    warmup_steps: int = 50,
    round_fraction: float = 0.5,
) -> tuple[torch.nn.Module, object]:
    """Train a :class:`seqnotes.transformer.Seq2SeqTransformer` on the split; ``(model, history)``.

    Adam with beta_2 = 0.98 (``AdamW`` with ``weight_decay=0``, i.e. plain Adam), linear
    warm-up then cosine decay, gradients clipped to norm 1. ``seed`` sets the initial weights
    and the batch stream (through the book's seed offset).
    """
    from seqnotes.training import fit
    from seqnotes.transformer import Seq2SeqTransformer, warmup_cosine
    from seqnotes.utils import seed_everything

    check_positive_int(steps, "steps")
    seed_everything(seed)
    model = Seq2SeqTransformer(config)
    params = model.parameters()
    optimizer = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.98), weight_decay=0.0, foreach=True)
    scheduler = warmup_cosine(optimizer, warmup_steps=warmup_steps, total_steps=steps)
    get_batch = number_batches(split, batch_size, make_generator(seed), round_fraction=round_fraction)
    history = fit(model, get_batch, steps=steps, optimizer=optimizer, scheduler=scheduler, clip_grad_norm=1.0)
    return model, history


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
