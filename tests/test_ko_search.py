"""The book's Korean search stemmer strips particles the same way in Python and JavaScript."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("ko_search", ROOT / "book" / "_ext" / "ko_search.py")
ko_search = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ko_search)

WORDS = [
    "모델을",
    "모델은",
    "모델의",
    "모델",
    "기울기가",
    "어텐션에서",
    "게이트로",
    "값이",
    "가",
    "attention",
    "Gradients",
]


def test_particles_are_stripped() -> None:
    stem = ko_search.SearchKorean({}).stem
    assert {stem(w) for w in ["모델을", "모델은", "모델의", "모델", "모델들"]} == {"모델"}
    assert stem("어텐션에서") == "어텐션"
    assert stem("값이") == "값"
    assert stem("가") == "가"  # never strip the whole word
    assert stem("Gradients") == stem("gradient")  # English keeps Porter stemming


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_stemmer_agrees_with_python() -> None:
    stem = ko_search.SearchKorean({}).stem
    words = json.dumps(WORDS, ensure_ascii=False)
    script = ko_search.SearchKorean.js_stemmer_code + (
        f"\nconst s = new Stemmer();\nconsole.log(JSON.stringify({words}.map(w => s.stemWord(w))));"
    )
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [stem(w) for w in WORDS]
