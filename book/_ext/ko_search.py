"""Korean full-text search for the book (a small Sphinx extension).

Sphinx has no Korean search language: it splits Korean at white space, so the index holds
``모델을``, ``모델은`` and ``모델의`` as three unrelated words and a search for ``모델``
finds none of them. Korean attaches particles (조사) to the noun. This extension registers a
search language for ``ko`` whose stemmer strips one trailing particle, in Python when the
index is built and in JavaScript when the reader types a query, so both sides agree.
ASCII words keep Sphinx's English (Porter) stemming and stop words.
"""

from __future__ import annotations

import json
import re

from sphinx.application import Sphinx
from sphinx.search import SearchLanguage
from sphinx.search.en import SearchEnglish

# Longest first: the stemmer removes the longest particle that leaves a non-empty stem.
PARTICLES = sorted(
    """
    에서는 에서도 으로는 으로도 이라는 이라고 에게서 까지는 부터는
    에서 에게 으로 까지 부터 처럼 보다 이다 이며 이고 이나 라는 라고 와는 과는 에는 에도 로는 로도
    은 는 이 가 을 를 의 에 로 와 과 도 만 들
    """.split(),
    key=len,
    reverse=True,
)


def strip_particle(word: str) -> str:
    """``"모델을"`` -> ``"모델"``; words that are not Hangul-final are returned unchanged."""
    for particle in PARTICLES:
        if len(word) > len(particle) and word.endswith(particle):
            return word[: -len(particle)]
    return word


_ASCII = re.compile(r"^[\x00-\x7f]+$")

_JS_STEMMER = (
    SearchEnglish.js_stemmer_code
    + """
var EnglishStemmer = Stemmer;
var KOREAN_PARTICLES = PARTICLES_JSON;
Stemmer = function() {
  var english = new EnglishStemmer();
  this.stemWord = function(w) {
    w = w.toLowerCase();
    if (/^[\\x00-\\x7f]+$/.test(w)) return english.stemWord(w);
    for (var i = 0; i < KOREAN_PARTICLES.length; i++) {
      var p = KOREAN_PARTICLES[i];
      if (w.length > p.length && w.endsWith(p)) return w.slice(0, w.length - p.length);
    }
    return w;
  };
};
""".replace("PARTICLES_JSON", json.dumps(PARTICLES, ensure_ascii=False))
)


class SearchKorean(SearchLanguage):
    lang = "ko"
    language_name = "Korean"
    stopwords = SearchEnglish.stopwords
    js_stemmer_code = _JS_STEMMER

    def init(self, options: dict[str, str]) -> None:
        self._english = SearchEnglish(options)

    def stem(self, word: str) -> str:
        word = word.lower()
        if _ASCII.match(word):
            return self._english.stem(word)
        return strip_particle(word)


def setup(app: Sphinx) -> dict[str, object]:
    app.add_search_language(SearchKorean)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
