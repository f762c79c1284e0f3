"""Benchmark the book against its budgets: each notebook under nbval, and the whole ``make test``.

Run with ``make bench`` (same environment variables as ``make test``). Prints a Markdown
table and writes it to ``_build/bench.md``. Budgets on a 2-core machine (issue 11): each
notebook <= 2 min under nbval (measured alone, one after another), the whole ``make test``
after installation <= 10 min (measured end to end, as a maintainer runs it). Run it on an idle
machine: every number here is wall-clock time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYTEST = [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider"]  # no .pytest_cache in the book's tree
NBVAL = [*PYTEST, "--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg"]
NOTEBOOK_BUDGET, TEST_BUDGET = 120.0, 600.0


def run(cmd: list[str]) -> tuple[float, float, int]:
    """Run ``cmd`` from the repo root; return (seconds, peak RSS of a child in MiB, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> int:
    notebooks = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.ipynb"))
    rows: list[tuple[str, float, float, int, float]] = []
    for nb in notebooks:
        rows.append((f"nbval {nb} (혼자)", *run([*NBVAL, nb]), NOTEBOOK_BUDGET))
    serial = sum(r[1] for r in rows)
    make_test = ["make", "--no-print-directory", "test"]
    rows.append(("make test 전체 (처음부터 끝까지)", *run(make_test), TEST_BUDGET))

    lines = ["| 단계 | 시간 (s) | 예산 (s) | 최대 메모리 (MiB) | 결과 |"]
    lines.append("| --- | ---: | ---: | ---: | --- |")
    for name, seconds, rss, code, budget in rows:
        verdict = "FAIL" if code else ("ok" if seconds <= budget else "예산 초과")
        lines.append(f"| {name} | {seconds:.1f} | {budget:.0f} | {rss:.0f} | {verdict} |")
    lines.append(f"| 노트북별 nbval 합계 (직렬) | {serial:.1f} | | | |")
    table = "\n".join(lines)
    print(table)
    (ROOT / "_build").mkdir(exist_ok=True)
    (ROOT / "_build" / "bench.md").write_text(table + "\n", encoding="utf-8")
    return 0 if all(r[3] == 0 and r[1] <= r[4] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
