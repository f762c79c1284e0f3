"""Every notebook in book/ is stored executed, top to bottom, with clean outputs.

nbval skips cells that were never executed; this test makes sure there are none.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))

spec = importlib.util.spec_from_file_location("check_notebooks", ROOT / "tools" / "check_notebooks.py")
check_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_notebooks)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_executed_and_clean(path: Path) -> None:
    assert check_notebooks.check_notebook(path) == []


def test_checker_catches_an_unexecuted_notebook(tmp_path: Path) -> None:
    nb = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"], cell["outputs"] = None, []
    bad = tmp_path / "bad.ipynb"
    bad.write_text(json.dumps(nb), encoding="utf-8")
    problems = check_notebooks.check_notebook(bad)
    assert any("execution_count None" in p for p in problems)


def test_checker_catches_leaks(tmp_path: Path) -> None:
    nb = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["outputs"] = [
        {
            "output_type": "stream",
            "name": "stdout",
            "text": "<object at 0x7f3a2b1c9d00> /home/me/x.py\n",
        },
        {"output_type": "stream", "name": "stderr", "text": "warning\n"},
    ]
    bad = tmp_path / "leaky.ipynb"
    bad.write_text(json.dumps(nb), encoding="utf-8")
    problems = " ".join(check_notebooks.check_notebook(bad))
    assert "memory address" in problems and "absolute path" in problems and "stderr" in problems


def test_every_notebook_is_in_the_table_of_contents() -> None:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = {ch["file"] for part in toc["parts"] for ch in part["chapters"]}
    for path in NOTEBOOKS:
        assert f"book/{path.stem}" in files, f"{path.name} is missing from _toc.yml"
