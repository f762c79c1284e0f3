"""The PDF edition (``make pdf``): every chapter, Hangul, math, figures and solutions are in it.

Run by ``make test-pdf`` after ``make pdf`` (not by ``make test-unit``). Reads the PDF with
poppler-utils (``pdftotext``, ``pdffonts``, ``pdfimages``, ``pdfinfo``) and compares it with the
book's sources: the titles of the files in ``_toc.yml``, the figures stored in the notebooks'
outputs and the static images of the Markdown pages, the exercises' solutions. The LaTeX log
next to the PDF must report no missing character (a glyph no font has prints nothing).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PDF = Path(os.environ.get("SEQNOTES_PDF", ROOT / "_build" / "pdf" / "_build" / "latex" / "book.pdf"))
HANGUL = re.compile(r"[\uac00-\ud7a3]")

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils missing: run `make latex`"
)


def run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout


def toc_files() -> list[Path]:
    """The book's pages in the order of _toc.yml (jb-book format)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    names = [toc["root"]]
    for part in toc.get("parts", []):
        names += [chapter["file"] for chapter in part.get("chapters", [])]
    paths = []
    for name in names:
        matches = [ROOT / f"{name}{ext}" for ext in (".ipynb", ".md") if (ROOT / f"{name}{ext}").exists()]
        assert matches, f"{name} in _toc.yml has no .ipynb or .md file"
        paths.append(matches[0])
    return paths


def markdown_sources(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text(encoding="utf-8")]
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def title(path: Path) -> str:
    for text in markdown_sources(path):
        match = re.search(r"^# (.+)$", text, flags=re.MULTILINE)
        if match:
            return match.group(1).strip()
    raise AssertionError(f"{path.name} has no '# title'")


def squeeze(text: str) -> str:
    """Text without any whitespace: pdftotext breaks lines and may space out CJK."""
    return re.sub(r"\s+", "", text)


def expected_images() -> set[str]:
    """Distinct figures the book shows: PNG/JPEG outputs of visible cells plus static images."""
    digests = set()
    for path in toc_files():
        if path.suffix == ".ipynb":
            nb = json.loads(path.read_text(encoding="utf-8"))
            for cell in nb["cells"]:
                tags = set(cell.get("metadata", {}).get("tags", []))
                if tags & {"remove-cell", "remove-output"}:
                    continue
                for out in cell.get("outputs", []):
                    if "scrapbook" in out.get("metadata", {}):
                        continue  # glued values appear only where the prose pastes them
                    for mime in ("image/png", "image/jpeg"):
                        if mime in out.get("data", {}):
                            data = base64.b64decode(out["data"][mime])
                            digests.add(hashlib.sha256(data).hexdigest())
        for text in markdown_sources(path):
            for ref in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)|```\{(?:image|figure)\}\s+(\S+)", text):
                target = next(r for r in ref if r)
                if not target.startswith(("http:", "https:")):
                    digests.add(hashlib.sha256((path.parent / target).read_bytes()).hexdigest())
    return digests


@pytest.fixture(scope="module")
def pdf() -> Path:
    if not PDF.exists():
        pytest.fail(f"{PDF} does not exist: run `make pdf` first")
    return PDF


@pytest.fixture(scope="module")
def text(pdf: Path) -> str:
    return run("pdftotext", "-enc", "UTF-8", str(pdf), "-")


def test_every_chapter_title_is_in_the_pdf(text: str) -> None:
    flat = squeeze(text)
    root, *chapters = toc_files()
    # The LaTeX builder sets the root page (머리말) as front matter: its sections become the first
    # chapters and its own title the book's title page.
    expected = [title(p) for p in chapters]
    expected += re.findall(r"^## (.+)$", markdown_sources(root)[0], flags=re.MULTILINE)
    missing = [t for t in expected if squeeze(t) not in flat]
    assert not missing, f"chapter titles not in the PDF: {missing}"


def test_fonts_are_embedded_and_include_hangul_and_math(pdf: Path) -> None:
    rows = run("pdffonts", str(pdf)).splitlines()[2:]
    assert rows, "pdffonts lists no font"
    not_embedded = [row for row in rows if row.split()[-5] != "yes"]
    assert not not_embedded, f"fonts not embedded: {not_embedded}"
    names = " ".join(row.split()[0] for row in rows)
    assert "Nanum" in names, "no Hangul (Nanum) font in the PDF"
    assert "CMMI" in names or "Math" in names, "no math font: formulas were not typeset"


def test_page_count_is_plausible(pdf: Path, text: str) -> None:
    pages = int(re.search(r"^Pages:\s+(\d+)", run("pdfinfo", str(pdf)), re.MULTILINE).group(1))
    chapters = len(toc_files())
    hangul = len(HANGUL.findall(text))
    # about 1,000-2,500 Hangul syllables on a page of prose, fewer with code and figures
    assert 4 * chapters <= pages <= 600, pages
    assert hangul / 3000 <= pages <= hangul / 150 + 50, (pages, hangul)


def test_every_figure_is_embedded(pdf: Path) -> None:
    rows = run("pdfimages", "-list", str(pdf)).splitlines()[2:]
    images = [row for row in rows if row.split()[2] == "image"]  # an alpha channel is a second "smask" row
    expected = expected_images()
    assert len(images) == len(expected), (
        f"{len(images)} images in the PDF, {len(expected)} distinct figures in the book "
        "(a notebook re-executed after `make pdf`? rebuild the PDF)"
    )


def test_no_replacement_characters_or_tofu(pdf: Path, text: str) -> None:
    assert "\ufffd" not in text, "U+FFFD in the PDF text: a glyph without a Unicode mapping"
    assert not re.search(r"\?{3,}", text), "a run of '?' where characters should be"
    assert len(HANGUL.findall(text)) > 10_000, "too little Hangul in the PDF text"
    log = pdf.with_suffix(".log")
    if log.exists():
        missing = [
            line for line in log.read_text("utf-8", "replace").splitlines() if "Missing character" in line
        ]
        assert not missing, f"{len(missing)} characters no font has, e.g. {missing[:5]}"


def test_every_exercise_has_its_solution(text: str) -> None:
    solutions = 0
    for path in toc_files():
        for source in markdown_sources(path):
            solutions += len(re.findall(r"^[`:]{3,}\{solution(?:-start)?\}", source, flags=re.MULTILINE))
    assert solutions > 0
    # sphinx-exercise heads each solution "해답 연습 N (title)" in Korean
    assert len(re.findall(r"해답\s*연습", text)) == solutions
