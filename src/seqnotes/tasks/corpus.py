"""Real Korean text that ships inside a PyPI package, a character vocabulary, batches (Chapters 1-5).

The corpus is read from the files of the installed ``konlpy`` wheel (no download, no Java,
no konlpy code is run): the Constitution of the Republic of Korea (``kolaw``) and ten
National Assembly bills (``kobill``). Every chapter's data (notes line 4: "일상의 대부분 seq
데이터"; line 6: the language model predicts the next symbol from the previous ones): the
standard split :func:`char_corpus`, :class:`CharVocab`, training batches and evaluation
windows, the sunspot series of Chapter 1, and Chapter 1's statistics of contexts (line 7:
the Markov assumption throws information away).
"""

from __future__ import annotations

import csv
import importlib.util
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from seqnotes.utils import check_positive_int, check_tensor

__all__ = [
    "CORPORA",
    "CharCorpus",
    "CharVocab",
    "ContextStats",
    "autocorrelation",
    "char_corpus",
    "clean_text",
    "context_coverage",
    "context_stats",
    "corpus_files",
    "lm_batches",
    "lm_windows",
    "load_documents",
    "load_sunspots",
    "split_sentences",
    "train_val_split",
    "truncation_stats",
]

CORPORA = ("kolaw", "kobill", "all")

_RULE = re.compile(r"^[\s\-─━=_·.․]*$")  # lines that are only table rules or dots
_SPACES = re.compile(r"[ \t\u3000]+")


def _konlpy_corpus_dir() -> Path:
    spec = importlib.util.find_spec("konlpy")
    if spec is None or spec.origin is None:
        raise RuntimeError("konlpy is not installed: install the pinned requirements (it ships the corpus)")
    return Path(spec.origin).parent / "data" / "corpus"


def corpus_files(name: str = "all") -> list[Path]:
    """Paths of the text files of ``name``: ``"kolaw"``, ``"kobill"`` or ``"all"`` (both)."""
    if name not in CORPORA:
        raise ValueError(f"corpus name must be one of {CORPORA}, got {name!r}")
    base = _konlpy_corpus_dir()
    files: list[Path] = []
    if name in ("kolaw", "all"):
        files.append(base / "kolaw" / "constitution.txt")
    if name in ("kobill", "all"):
        files.extend(sorted((base / "kobill").glob("*.txt")))
    return files


def clean_text(text: str) -> str:
    """Light, deterministic clean-up of a raw document.

    Collapses runs of spaces, strips every line, and drops empty lines and lines that are
    only table rules (``-----``) or dots, which fill the bills. Words are left untouched.
    """
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line and not _RULE.match(line))


def load_documents(name: str = "all", clean: bool = True) -> list[str]:
    """The documents of corpus ``name``, in a fixed order, cleaned by :func:`clean_text`."""
    texts = [path.read_text(encoding="utf-8") for path in corpus_files(name)]
    return [clean_text(t) for t in texts] if clean else texts


def train_val_split(documents: str | Sequence[str], val_fraction: float = 0.1) -> tuple[str, str]:
    """Deterministic split: the last ``val_fraction`` of every document is validation text.

    Each document is cut at the line boundary nearest to ``(1 - val_fraction)`` of its
    length, so every document (every style of text) is seen in both parts. The parts are
    joined by a blank line. Returns ``(train_text, val_text)``.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    docs = [documents] if isinstance(documents, str) else list(documents)
    if not docs or not all(isinstance(d, str) and d for d in docs):
        raise ValueError("documents must be a non-empty string or a list of non-empty strings")
    train, val = [], []
    for doc in docs:
        target = round(len(doc) * (1 - val_fraction))
        newlines = [i for i, ch in enumerate(doc) if ch == "\n"]
        cut = min(newlines, key=lambda i: abs(i - target)) if newlines else target
        if not 0 < cut < len(doc) - 1:
            cut = target
        train.append(doc[:cut].strip("\n"))
        val.append(doc[cut:].strip("\n"))
    return "\n\n".join(train), "\n\n".join(val)


class CharVocab:
    """A character vocabulary with an explicit unknown symbol.

    Index 0 is ``<unk>``: characters never seen when the vocabulary was built (e.g. a rare
    hanja that occurs only in the validation text) are encoded as 0 and decoded as
    :attr:`UNK_CHAR`. The other characters are sorted, so the mapping does not depend on
    the order of the text or on Python's hash seed.
    """

    UNK = "<unk>"
    UNK_CHAR = "\ufffd"  # what decode() writes for <unk>
    unk_id = 0

    def __init__(self, chars: Iterable[str]) -> None:
        chars = set(chars)
        if not chars or not all(isinstance(c, str) and len(c) == 1 for c in chars):
            raise ValueError("CharVocab needs a non-empty collection of single characters")
        self.itos: list[str] = [self.UNK, *sorted(chars)]
        self.stoi: dict[str, int] = {ch: i for i, ch in enumerate(self.itos) if i != self.unk_id}

    @classmethod
    def from_text(cls, text: str, min_count: int = 1) -> CharVocab:
        """The vocabulary of every character that occurs at least ``min_count`` times in ``text``.

        With ``min_count=2`` the characters seen only once in the training text become
        ``<unk>`` there too, so every model learns to predict ``<unk>`` (the book's rule for
        every perplexity comparison, chapters 1, 2, 3 and 5).
        """
        if not isinstance(text, str) or not text:
            raise ValueError("from_text needs a non-empty string")
        check_positive_int(min_count, "min_count")
        counts = Counter(text)
        kept = [ch for ch, n in counts.items() if n >= min_count]
        if not kept:
            raise ValueError(f"no character of the text occurs {min_count} or more times")
        return cls(kept)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, ch: object) -> bool:
        return ch in self.stoi

    def __repr__(self) -> str:
        return f"CharVocab(size={len(self)})"

    def encode(self, text: str) -> torch.Tensor:
        """``text`` -> ``(len(text),)`` int64 ids; unknown characters become ``unk_id``."""
        if not isinstance(text, str):
            raise TypeError(f"encode needs a str, got {type(text).__name__}")
        return torch.tensor([self.stoi.get(ch, self.unk_id) for ch in text], dtype=torch.long)

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        """ids ``(T,)`` -> text; ``unk_id`` becomes :attr:`UNK_CHAR`."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(f"decode needs 1-D ids of shape (T,), got {tuple(ids.shape)}")
            ids = ids.tolist()
        out = []
        for i in ids:
            if not 0 <= i < len(self.itos):
                raise ValueError(f"id {i} is out of range for a vocabulary of size {len(self)}")
            out.append(self.UNK_CHAR if i == self.unk_id else self.itos[i])
        return "".join(out)

    def count_unknown(self, text: str) -> int:
        """How many characters of ``text`` are not in the vocabulary."""
        return sum(ch not in self.stoi for ch in text)


@dataclass(frozen=True)
class CharCorpus:
    """The book's character corpus: one train/validation split and one vocabulary.

    Chapters 1, 2, 3 and 5 all use :func:`char_corpus`, so their perplexities are comparable.
    """

    train: str  # training text
    val: str  # validation text (the end of every document)
    vocab: CharVocab  # characters seen at least twice in ``train``; the rest are <unk>
    train_ids: torch.Tensor  # (N_train,) int64
    val_ids: torch.Tensor  # (N_val,) int64


def char_corpus(name: str = "all", val_fraction: float = 0.1, min_count: int = 2) -> CharCorpus:
    """Load, split and encode the Korean corpus the way every language-model chapter does.

    The characters that occur fewer than ``min_count`` times in the training text are mapped
    to ``<unk>`` in both texts, so ``<unk>`` is a target every model has learned to predict.
    """
    train, val = train_val_split(load_documents(name), val_fraction)
    vocab = CharVocab.from_text(train, min_count=min_count)
    return CharCorpus(train, val, vocab, vocab.encode(train), vocab.encode(val))


def _check_ids(ids: torch.Tensor, block_size: int) -> None:
    check_tensor(ids, "ids", ("N",), dtype=torch.long)
    check_positive_int(block_size, "block_size")
    if len(ids) < block_size + 1:
        raise ValueError(f"ids has {len(ids)} symbols, need at least block_size + 1 = {block_size + 1}")


def lm_batches(
    ids: torch.Tensor, block_size: int, batch_size: int, generator: torch.Generator
) -> Callable[[int], tuple[torch.Tensor, torch.Tensor]]:
    """A ``get_batch(step)`` for :func:`seqnotes.training.loop.fit` that samples random windows.

    Each call draws ``batch_size`` random offsets from ``generator`` and returns
    ``(x (B, T), y (B, T))`` with ``y`` the next symbol of every position of ``x``.
    """
    _check_ids(ids, block_size)
    check_positive_int(batch_size, "batch_size")
    offsets = torch.arange(block_size + 1)  # (T+1,)

    def get_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        starts = torch.randint(0, len(ids) - block_size, (batch_size,), generator=generator)  # (B,)
        windows = ids[starts[:, None] + offsets]  # (B, T+1)
        return windows[:, :-1], windows[:, 1:]  # (B, T), (B, T)

    return get_batch


def lm_windows(ids: torch.Tensor, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping evaluation windows that predict every symbol after the first once.

    Returns ``(x (W, T), y (W, T))``; the last, shorter remainder is dropped.
    """
    _check_ids(ids, block_size)
    n = (len(ids) - 1) // block_size
    x = ids[: n * block_size].view(n, block_size)  # (W, T)
    y = ids[1 : n * block_size + 1].view(n, block_size)  # (W, T)
    return x, y


# --- Chapter 1: a real time series, sentence lengths and context sparsity -------------------

_SENTENCE_END = re.compile(r"(?<=[^\d\s][.?!])\s+")  # a space after . ? ! that does not follow a digit


def load_sunspots() -> tuple[np.ndarray, np.ndarray]:
    """Yearly sunspot numbers 1700-2008 from the CSV inside the installed ``statsmodels`` wheel.

    The file is read directly (no download, no statsmodels code is run). Returns
    ``(years (309,) int64, activity (309,) float64)``.
    """
    spec = importlib.util.find_spec("statsmodels")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "statsmodels is not installed: install the pinned requirements (it ships the data)"
        )
    path = Path(spec.origin).parent / "datasets" / "sunspots" / "sunspots.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    years = np.array([int(float(r["YEAR"])) for r in rows], dtype=np.int64)
    activity = np.array([float(r["SUNACTIVITY"]) for r in rows], dtype=np.float64)
    return years, activity


def autocorrelation(x: np.ndarray, lag: int) -> float:
    """Correlation between the series ``x (N,)`` and itself shifted by ``lag`` steps."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D series of shape (N,), got shape {x.shape}")
    if not isinstance(lag, int) or not 1 <= lag <= len(x) - 2:
        raise ValueError(f"lag must be an int in [1, N-2] = [1, {len(x) - 2}], got {lag!r}")
    return float(np.corrcoef(x[:-lag], x[lag:])[0, 1])


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: pieces of a line that end with ``.``, ``?`` or ``!``.

    A simple rule made for the Constitution, whose lines are paragraphs: a line is cut after
    sentence-final punctuation followed by a space (not after a digit, so list numbers such
    as ``1.`` stay with their item), and only pieces that end with the punctuation are kept,
    so headings such as ``제1장 총강`` are dropped.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    pieces = (p.strip() for line in text.splitlines() for p in _SENTENCE_END.split(line))
    return [p for p in pieces if p.endswith((".", "?", "!"))]


def truncation_stats(lengths: Sequence[int], max_len: int) -> dict[str, float]:
    """What a fixed input size ``max_len`` does to sequences of the given ``lengths``.

    Every sequence is cut to ``max_len`` symbols or padded up to it. Returns fractions in
    [0, 1]: ``"truncated"`` (sequences longer than ``max_len``), ``"lost"`` (symbols cut
    away) and ``"padding"`` (slots of the ``len(lengths) x max_len`` input that are padding).
    """
    check_positive_int(max_len, "max_len")
    arr = np.asarray(lengths)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer) or (arr < 0).any():
        raise ValueError("lengths must be a non-empty 1-D sequence of non-negative ints")
    kept = np.minimum(arr, max_len)
    total = int(arr.sum())
    return {
        "truncated": float((arr > max_len).mean()),
        "lost": float((arr - kept).sum() / total) if total else 0.0,
        "padding": float(1 - kept.sum() / (max_len * arr.size)),
    }


@dataclass(frozen=True)
class ContextStats:
    """Counts of the contexts (substrings) of length ``m`` of a text."""

    m: int
    positions: int  # substrings of length m in the text (len(text) - m + 1)
    distinct: int  # how many different ones
    singletons: int  # how many of the distinct ones occur exactly once

    @property
    def singleton_fraction(self) -> float:
        """Fraction of the distinct contexts that were seen only once."""
        return self.singletons / self.distinct if self.distinct else 0.0


def _check_length(text: str, m: int) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not isinstance(m, int) or isinstance(m, bool) or not 1 <= m <= len(text):
        raise ValueError(f"m must be an int in [1, len(text)] = [1, {len(text)}], got {m!r}")


def context_stats(text: str, m: int) -> ContextStats:
    """How many distinct length-``m`` contexts ``text`` has and how many of them occur once.

    This is the conditioning set of the chain rule, measured: as ``m`` grows, almost every
    context is new and is seen a single time (sparsity).
    """
    _check_length(text, m)
    counts = Counter(text[i : i + m] for i in range(len(text) - m + 1))
    singletons = sum(1 for c in counts.values() if c == 1)
    return ContextStats(m=m, positions=len(text) - m + 1, distinct=len(counts), singletons=singletons)


def context_coverage(train: str, val: str, m: int) -> dict[str, float]:
    """How often ``train`` holds the context of each validation position, by position.

    For every length-``m`` substring of ``val`` (the context a model with ``m`` symbols of
    past sees there), count its occurrences in ``train``. Returns the fractions of those
    validation positions whose context occurs ``"unseen"`` (0 times), ``"once"`` (1 time)
    and ``"more"`` (2 or more times) in ``train``; they sum to 1. Unlike
    :attr:`ContextStats.singleton_fraction` (a share of context *types*), these are shares
    of the positions a model is scored on.
    """
    _check_length(train, m)
    _check_length(val, m)
    counts = Counter(train[i : i + m] for i in range(len(train) - m + 1))
    seen = [counts.get(val[i : i + m], 0) for i in range(len(val) - m + 1)]
    n = len(seen)
    once = sum(c == 1 for c in seen)
    unseen = sum(c == 0 for c in seen)
    return {"unseen": unseen / n, "once": once / n, "more": (n - unseen - once) / n}
