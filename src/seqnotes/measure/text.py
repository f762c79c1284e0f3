"""Text measurements of Chapter 1: brackets, latent states, contexts and copied spans.

Notes line 7 (the Markov model throws much information away) and line 8 ("h는 과거 정보를
모두 요약"): :func:`scan` runs a hand-made latent state ``h_t = f(h_{t-1}, x_t)`` and
:func:`bracket_depth` is one such ``f``; :func:`bracket_spans` measures how far apart
matching brackets are; :func:`next_symbol_counts` what follows a context (with or without
a state); :func:`longest_copied_span` how much generated text is copied from the corpus.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

__all__ = ["bracket_depth", "bracket_spans", "longest_copied_span", "next_symbol_counts", "scan"]


T_state = TypeVar("T_state")
T_symbol = TypeVar("T_symbol")


def scan(f: Callable[[T_state, T_symbol], T_state], h0: T_state, xs: Iterable[T_symbol]) -> list[T_state]:
    """The latent autoregressive recursion ``h_t = f(h_{t-1}, x_t)``: returns ``[h_1, ..., h_T]``.

    The state ``h_t`` has a fixed size however long the past is; it must summarise
    everything about ``x_1..x_t`` that the future needs.
    """
    if not callable(f):
        raise TypeError(f"f must be a function f(h, x) -> h, got {type(f).__name__}")
    states, h = [], h0
    for x in xs:
        h = f(h, x)
        states.append(h)
    return states


def bracket_depth(text: str, open_char: str = "(", close_char: str = ")") -> list[int]:
    """How many brackets are open after each character of ``text`` (never below 0).

    One hand-made latent state: ``h_t = h_{t-1} + [x_t = open] - [x_t = close]``, one
    integer that remembers an opening bracket however far back it was.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if len(open_char) != 1 or len(close_char) != 1 or open_char == close_char:
        raise ValueError("open_char and close_char must be two different single characters")

    def step(h: int, x: str) -> int:
        return h + 1 if x == open_char else max(h - 1, 0) if x == close_char else h

    return scan(step, 0, text)


def bracket_spans(text: str, open_char: str = "(", close_char: str = ")") -> list[int]:
    """Distance (in characters) from each closing bracket back to its matching opening one.

    Unmatched closing brackets are skipped. A context window needs more than this many
    symbols to see the opening bracket when it predicts the closing one.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if len(open_char) != 1 or len(close_char) != 1 or open_char == close_char:
        raise ValueError("open_char and close_char must be two different single characters")
    stack: list[int] = []
    spans = []
    for i, ch in enumerate(text):
        if ch == open_char:
            stack.append(i)
        elif ch == close_char and stack:
            spans.append(i - stack.pop())
    return spans


def next_symbol_counts(
    text: str, context: str, states: Sequence[Hashable] | None = None
) -> dict[Hashable, Counter[str]]:
    """What follows each occurrence of ``context`` in ``text``, grouped by a state.

    ``states[t]`` is the state after character ``t`` (e.g. ``bracket_depth(text)``); each
    occurrence is filed under the state at its last character. Without ``states`` every
    occurrence is filed under ``None`` (plain n-gram counts).
    Returns ``{state: Counter(next character -> count)}``.
    """
    if not isinstance(text, str) or not isinstance(context, str):
        raise TypeError("text and context must be str")
    if not context:
        raise ValueError("context must be a non-empty string")
    if states is not None and len(states) != len(text):
        raise ValueError(
            f"states must have one entry per character: len(text) = {len(text)}, got {len(states)}"
        )
    out: dict[Hashable, Counter[str]] = {}
    start = text.find(context)
    while start != -1:
        end = start + len(context)  # index of the next character
        if end < len(text):
            key = None if states is None else states[end - 1]
            out.setdefault(key, Counter())[text[end]] += 1
        start = text.find(context, start + 1)
    return out


def longest_copied_span(text: str, corpus: str) -> int:
    """Length of the longest substring of ``text`` that occurs verbatim in ``corpus``.

    Used to see how much of a sample a high-order n-gram model copies from its training text.
    """
    if not isinstance(text, str) or not isinstance(corpus, str):
        raise TypeError("text and corpus must be str")
    best = 0
    for start in range(len(text)):
        end = start + best + 1  # only longer spans can beat the best so far
        while end <= len(text) and text[start:end] in corpus:
            best = end - start
            end += 1
    return best
