"""seqnotes.tasks.numbers: the digits -> Korean reading data."""

from __future__ import annotations

import random

import pytest
import torch
from num2words import num2words

from seqnotes.tasks.numbers import (
    BOS_ID,
    decode_readings,
    encode_numbers,
    encode_readings,
    make_split,
    reading,
    round_number,
    sample_numbers,
)


def test_number_data() -> None:
    assert reading(1024) == "천이십사" and reading(123456) == "십이만 삼천사백오십육"
    split = make_split(max_digits=6, test_per_length=50, round_per_length=20, seed=1)
    groups = split.test_by_length()
    assert [len(groups[L]) for L in range(1, 7)] == [1, 9, 50, 50, 50, 50]
    assert len(split.test_round) == 40 and not set(split.test_round) & set(split.test)

    def mean_zeros(numbers: list[int]) -> float:
        return sum(str(n).count("0") for n in numbers) / len(numbers)

    assert mean_zeros(split.test_round) > 2 * mean_zeros(groups[5] + groups[6])
    drawn = sample_numbers(split, 2400, torch.Generator().manual_seed(0), round_fraction=0.5)
    assert not any(split.is_test(n) for n in drawn)
    lengths = [len(str(n)) for n in drawn]
    assert all(300 < lengths.count(L) < 500 for L in range(1, 7))  # uniform over the number of digits
    assert round_number(9, torch.Generator().manual_seed(0)) >= 10**8
    tgt_in, tgt_out = encode_readings([5, 10000])
    assert decode_readings(tgt_out) == ["오", "만"] and bool((tgt_in[:, 0] == BOS_ID).all())
    with pytest.raises(ValueError, match=r"\[1, 10\*\*15\)"):
        reading(0)
    with pytest.raises(TypeError, match="int"):
        encode_numbers(["12"])


def test_reading_equals_num2words_below_10_to_the_5() -> None:
    assert all(reading(n) == num2words(n, lang="ko") for n in range(1, 10**5))


def test_reading_equals_num2words_on_random_numbers_of_every_length() -> None:
    rng = random.Random(0)
    for digits in range(1, 16):
        for _ in range(400):
            n = rng.randrange(10 ** (digits - 1), 10**digits)
            if rng.random() < 0.5:  # many zero digits, as in the round numbers
                n = int("".join(c if rng.random() < 0.3 else "0" for c in str(n)).lstrip("0") or "1")
            assert reading(n) == num2words(n, lang="ko"), n


def test_reading_examples_and_bad_input() -> None:
    assert reading(10_000) == "만" and reading(100_000_000) == "일억" and reading(300_000_001) == "삼억 일"
    assert reading(505_000_500) == "오억 오백만 오백"
    with pytest.raises(ValueError, match="numbers must be in"):
        reading(0)
    with pytest.raises(TypeError, match="must be an int"):
        reading(1.0)
