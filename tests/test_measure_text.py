"""seqnotes.measure.text: latent states by hand, bracket spans, next-symbol counts, copied spans."""

from __future__ import annotations

from collections import Counter

import pytest

from seqnotes.measure.text import bracket_depth, bracket_spans, longest_copied_span, next_symbol_counts, scan


def test_scan_and_bracket_depth_summarise_the_whole_past() -> None:
    assert scan(lambda h, x: h + x, 0, [1, 2, 3]) == [1, 3, 6]
    assert scan(lambda h, x: h, 5, []) == []
    text = "a(b(cd)e)f)"
    assert bracket_depth(text) == [0, 1, 1, 2, 2, 2, 1, 1, 0, 0, 0]  # an unmatched ')' stays at 0
    assert bracket_spans(text) == [3, 7]
    assert bracket_depth("「가」", "「", "」") == [1, 1, 0]
    far = "(" + "x" * 50 + ")"
    assert bracket_depth(far)[-2] == 1 and bracket_spans(far) == [51]
    with pytest.raises(TypeError, match="f must be a function"):
        scan(3, 0, [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="text must be a str"):
        bracket_depth([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two different single characters"):
        bracket_spans("(a)", "(", "(")


def test_next_symbol_counts_split_by_state() -> None:
    text = "다.(한다)다.(말한다)"
    plain = next_symbol_counts(text, "다")
    assert plain == {None: Counter({".": 2, ")": 2})}
    inside = [h > 0 for h in bracket_depth(text)]
    by_state = next_symbol_counts(text, "한다", inside)
    assert by_state == {True: Counter({")": 2})}
    assert next_symbol_counts("abc", "c") == {}  # nothing follows the last character
    with pytest.raises(ValueError, match="one entry per character"):
        next_symbol_counts(text, "다", [0, 1])
    with pytest.raises(ValueError, match="non-empty"):
        next_symbol_counts(text, "")


def test_longest_copied_span() -> None:
    assert longest_copied_span("xx대한민국yy", "제1조 대한민국은") == 4
    assert longest_copied_span("abc", "xyz") == 0
    assert longest_copied_span("", "abc") == 0
    with pytest.raises(TypeError, match="must be str"):
        longest_copied_span("a", None)  # type: ignore[arg-type]
