"""seqnotes.tasks.corpus, Chapter 1's statistics: a time series, lengths and sparsity of contexts."""

from __future__ import annotations

import numpy as np
import pytest

from seqnotes.tasks.corpus import (
    ContextStats,
    context_coverage,
    context_stats,
    load_documents,
    load_sunspots,
    split_sentences,
    truncation_stats,
)


def test_sunspots_ship_with_statsmodels() -> None:
    years, activity = load_sunspots()
    assert years.dtype == np.int64 and activity.dtype == np.float64
    assert len(years) == len(activity) == 309
    assert years[0] == 1700 and years[-1] == 2008 and (np.diff(years) == 1).all()
    assert activity[:3].tolist() == [5.0, 11.0, 16.0]
    assert (activity >= 0).all()


def test_split_sentences_keeps_sentences_and_list_items() -> None:
    text = "제1장 총강\n제1조 ① 대한민국은 민주공화국이다. 주권은 국민에게 있다.\n1. 대통령이 정한다.\n제목"
    assert split_sentences(text) == [
        "제1조 ① 대한민국은 민주공화국이다.",
        "주권은 국민에게 있다.",
        "1. 대통령이 정한다.",
    ]
    law = split_sentences(load_documents("kolaw")[0])
    assert len(law) > 300 and all(s.endswith(".") for s in law)
    with pytest.raises(TypeError, match="text must be a str"):
        split_sentences(None)  # type: ignore[arg-type]


def test_truncation_stats() -> None:
    stats = truncation_stats([1, 2, 3, 10], max_len=3)
    assert stats["truncated"] == 0.25
    assert stats["lost"] == pytest.approx(7 / 16)
    assert stats["padding"] == pytest.approx(1 - 9 / 12)
    assert truncation_stats([5, 5], 5) == {"truncated": 0.0, "lost": 0.0, "padding": 0.0}
    with pytest.raises(ValueError, match="max_len must be a positive int"):
        truncation_stats([1, 2], 0)
    with pytest.raises(ValueError, match="non-empty 1-D sequence"):
        truncation_stats([], 4)
    with pytest.raises(ValueError, match="non-empty 1-D sequence"):
        truncation_stats([1.5, 2.0], 4)


def test_context_stats() -> None:
    stats = context_stats("abab", 2)  # ab, ba, ab
    assert stats == ContextStats(m=2, positions=3, distinct=2, singletons=1)
    assert stats.singleton_fraction == 0.5
    assert context_stats("aaaa", 1).singleton_fraction == 0.0
    with pytest.raises(ValueError, match=r"m must be an int in \[1, len\(text\)\]"):
        context_stats("abc", 0)
    with pytest.raises(ValueError, match=r"m must be an int in \[1, len\(text\)\]"):
        context_stats("ab", 3)
    with pytest.raises(TypeError, match="text must be a str"):
        context_stats(b"abc", 1)  # type: ignore[arg-type]


def test_context_coverage_counts_positions_not_types() -> None:
    # contexts of "abab" (m=1): a twice, b twice; of "aab" (m=2): aa once, ab once
    cov = context_coverage("abab", "abc", 1)  # a (2x), b (2x), c (0x)
    assert cov == pytest.approx({"unseen": 1 / 3, "once": 0.0, "more": 2 / 3})
    cov = context_coverage("aabx", "aabab", 2)  # aa (1x), ab (1x), ba (0x), ab (1x)
    assert cov == pytest.approx({"unseen": 0.25, "once": 0.75, "more": 0.0})
    assert sum(context_coverage("abcab", "cabca", 2).values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"m must be an int in \[1, len\(text\)\]"):
        context_coverage("abc", "ab", 3)


def test_autocorrelation() -> None:
    import numpy as np

    from seqnotes.tasks.corpus import autocorrelation

    x = np.sin(np.arange(200) * 2 * np.pi / 10)
    assert autocorrelation(x, 10) > 0.99 and autocorrelation(x, 5) < -0.99
    with pytest.raises(ValueError, match=r"\(N,\)"):
        autocorrelation(np.zeros((3, 3)), 1)
    with pytest.raises(ValueError, match="lag must be"):
        autocorrelation(x, 0)
