"""seqnotes.numbers.reading: the book's fast reading equals num2words' on every number it is checked on."""

from __future__ import annotations

import random

import pytest
from num2words import num2words

from seqnotes.numbers import reading


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
