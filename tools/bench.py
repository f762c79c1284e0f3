"""Benchmark the book: build time, nbval time and peak memory per notebook, the whole test.

Run with ``make bench`` (same environment variables as ``make test``). Prints a Markdown
table and writes it to ``_build/bench.md``. Budgets on a 2-core machine: book build <= 60 s,
each notebook <= ~90 s under nbval, the whole ``make test`` after installation <= 10 min.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYTEST = [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider"]  # no .pytest_cache in the book's tree
NBVAL = [*PYTEST, "--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg"]
JOBS = os.environ.get("JOBS", "2")


def run(cmd: list[str]) -> tuple[float, float, int]:
    """Run ``cmd`` from the repo root; return (seconds, peak RSS in MiB, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, code


def main() -> int:
    notebooks = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.ipynb"))
    rows: list[tuple[str, float, float, int]] = []
    with tempfile.TemporaryDirectory() as out:
        build = [str(BIN / "jupyter-book"), "build", ".", "-n", "-W", "--keep-going", "--path-output", out]
        rows.append(("책 빌드 (빈 _build에서, 실행 없음)", *run(build)))
    for nb in notebooks:
        rows.append((f"nbval {nb}", *run([*NBVAL, nb])))
    serial = sum(r[1] for r in rows[1:])
    parallel = [*NBVAL, "-n", JOBS, "--dist", "loadfile", *notebooks]
    rows.append((f"nbval 전체 (-n {JOBS} --dist loadfile)", *run(parallel)))
    rows.append(("단위 테스트 (tests/)", *run([*PYTEST, "tests", "--ignore=tests/browser"])))
    rows.append(("브라우저 검사 (tests/browser)", *run([*PYTEST, "tests/browser"])))
    rows.append(("lint (ruff)", *run([str(BIN / "ruff"), "check", "src", "tests", "tools", "book"])))
    total = rows[0][1] + sum(r[1] for r in rows[-4:])

    lines = ["| 단계 | 시간 (s) | 최대 메모리 (MiB) | 결과 |", "| --- | ---: | ---: | --- |"]
    for name, seconds, rss, code in rows:
        lines.append(f"| {name} | {seconds:.1f} | {rss:.0f} | {'ok' if code == 0 else f'FAIL ({code})'} |")
    lines.append(f"| nbval 노트북별 합계 (직렬) | {serial:.1f} | | |")
    lines.append(f"| make test 전체 (빌드+lint+단위+nbval 병렬+브라우저) | {total:.1f} | | |")
    table = "\n".join(lines)
    print(table)
    (ROOT / "_build").mkdir(exist_ok=True)
    (ROOT / "_build" / "bench.md").write_text(table + "\n", encoding="utf-8")
    return 0 if all(r[3] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
