"""Check that stored notebooks are what nbval and the book expect.

nbval silently skips cells that were never executed, so a notebook committed without
outputs would pass it. This checker fails unless every notebook:

- starts with a markdown cell whose first line is a ``# `` title (the book's page title);
- has as first code cell the guarded install of ``seqnotes`` (for Colab), tagged ``remove-cell``,
  whose URL is the repository URL of ``_config.yml`` (the one place that holds it);
- lets nbval compare no number printed by a cell that trains (``fit``, ``train_*``): trained
  numbers differ between CPU models, so such cells are tagged ``nbval-ignore-output`` and their
  claims are checked by asserts;
- is stored with kernelspec ``python3``;
- was executed top to bottom in one run: code cells numbered 1, 2, ..., N with outputs;
- holds no error output, no stderr, no widget output (the HTML book would load widget
  scripts from a CDN), and nothing that varies between machines: absolute paths, memory
  addresses, ipykernel temp files.

Usage: ``python tools/check_notebooks.py [NOTEBOOK ...]`` (default: every ``book/*.ipynb``).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "an absolute path": re.compile(r"(?<![\w.])/(?:work|home|root|tmp|Users|usr|opt)/"),
    "a site-packages path": re.compile(r"site-packages"),
    "a memory address": re.compile(r"\b0x[0-9a-fA-F]{6,16}\b"),
    "an ipykernel temp file": re.compile(r"ipykernel_\d+"),
}
TRAINS = re.compile(r"(?<![.\w])(fit|train_[a-z_]*|timed_fit)\(")  # not counting models' .fit(
DECIMAL = re.compile(r"\d\.\d")
IGNORE_TAG = "nbval-ignore-output"
TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _texts(output: dict) -> list[str]:
    texts = []
    if "text" in output:
        t = output["text"]
        texts.append("".join(t) if isinstance(t, list) else t)
    for mime in TEXT_MIMES:
        data = output.get("data", {}).get(mime)
        if data is not None:
            texts.append("".join(data) if isinstance(data, list) else data)
    return texts


def repository_url() -> str:
    """The repository URL from ``_config.yml`` (launch buttons and the install cell use it)."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"]


def install_cell_source() -> str:
    """The first code cell of every notebook: installs ``seqnotes`` only where it is missing."""
    return (
        "# Colab, or any Jupyter without this book's package: install it from the repository once.\n"
        "try:\n"
        "    import seqnotes  # noqa: F401\n"
        "except ModuleNotFoundError:\n"
        f'    %pip install --quiet "seqnotes @ git+{repository_url()}"'
    )


def check_notebook(path: Path) -> list[str]:
    """Return a list of problems (empty when the notebook is fine)."""
    problems: list[str] = []
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb.get("cells", [])
    if not cells or cells[0].get("cell_type") != "markdown" or not _source(cells[0]).startswith("# "):
        problems.append("the first cell must be markdown starting with '# <title>'")
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != "python3":
        problems.append(f"kernelspec must be 'python3', got {kernel!r}")
    code_cells = [c for c in cells if c.get("cell_type") == "code"]
    if code_cells:
        first = code_cells[0]
        if _source(first) != install_cell_source():
            problems.append("the first code cell must be the guarded install (tools/check_notebooks.py)")
        if "remove-cell" not in first.get("metadata", {}).get("tags", []):
            problems.append("the install cell must be tagged remove-cell (hidden in the book)")
    count = 0
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        where = f"cell {index}"
        if not _source(cell).strip():
            problems.append(f"{where}: empty code cell")
            continue
        count += 1
        if cell.get("execution_count") != count:
            problems.append(
                f"{where}: execution_count {cell.get('execution_count')} != {count} "
                "(run the whole notebook with `make execute NB=...`)"
            )
        tags = cell.get("metadata", {}).get("tags", [])
        if TRAINS.search(_source(cell)) and IGNORE_TAG not in tags:
            if DECIMAL.search(json.dumps(cell.get("outputs", []))):
                problems.append(
                    f"{where}: trains and prints decimals that nbval would compare as text; tag it "
                    f"{IGNORE_TAG} and assert the claim"
                )
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                problems.append(f"{where}: stored error {output.get('ename')}: {output.get('evalue')}")
            if kind == "stream" and output.get("name") == "stderr":
                problems.append(f"{where}: stderr output {''.join(output.get('text', ''))[:120]!r}")
            if WIDGET_MIME in output.get("data", {}):
                problems.append(f"{where}: widget output (the book would load scripts from a CDN)")
            for text in _texts(output):
                for what, pattern in FORBIDDEN.items():
                    match = pattern.search(text)
                    if match:
                        problems.append(f"{where}: output contains {what}: {match.group(0)!r}")
    if count == 0:
        problems.append("no code cells")
    return problems


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "book").glob("*.ipynb"))
    failed = 0
    for path in paths:
        problems = check_notebook(path)
        for problem in problems:
            print(f"{path}: {problem}")
        failed += bool(problems)
    if failed:
        print(f"{failed} notebook(s) failed the check")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
