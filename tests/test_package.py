"""The package's layout: models apart from training, no borrowed private names, small modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "seqnotes"
MODULES = sorted(p for p in SRC.rglob("*.py"))


def _imports(path: Path) -> list[tuple[str, str]]:
    """``(module, name)`` of every ``from seqnotes... import name`` in ``path`` (at any depth)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("seqnotes"):
            out += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, "") for alias in node.names if alias.name.startswith("seqnotes")]
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_borrows_private_names_or_grows_past_400_lines(path: Path) -> None:
    borrowed = [(m, n) for m, n in _imports(path) if n.startswith("_")]
    assert not borrowed, f"{path.name} imports private names {borrowed}"
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 410


@pytest.mark.parametrize("path", sorted((SRC / "models").glob("*.py")), ids=lambda p: p.name)
def test_models_do_not_import_training(path: Path) -> None:
    assert not [m for m, _ in _imports(path) if m.startswith("seqnotes.training")]


@pytest.mark.parametrize("path", [p for p in MODULES if p.name != "__init__.py"], ids=lambda p: p.name)
def test_every_module_names_its_chapter_and_the_notes(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    assert "Chapter" in doc, f"{path.name}: the docstring should say which chapter it serves"
