"""The student's JupyterLab, in a real browser: a training cell shows its progress bar.

JupyterLab is started as ``make lab`` starts it (this venv's ``jupyter lab``, loopback only, a
token, ``SEQNOTES_PROGRESS=1``), on a temporary copy of ``book/`` so that nothing in the tree
changes. Headless Chromium opens ``00_setup.ipynb`` (in the copy, cut after the first cell that
calls ``fit``), runs every cell from the Run menu, and the test checks that the tqdm progress
widget rendered, counted up to the number of steps and closed without tqdm's "danger" style (it
turns red when a loop stops early), that every cell ran, and that neither a cell, the page nor the
server log reports an error. Every wait is bounded; the server is stopped in the fixture's
finaliser.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .conftest import ROOT

NOTEBOOK = "00_setup.ipynb"
START_TIMEOUT = 90  # s, JupyterLab's first start builds nothing but may be slow under load
RUN_TIMEOUT = 240_000  # ms, the cells up to the training cell

# Records every progress widget the page shows, whatever happens to it later (tqdm closes the bar
# at the end of `fit`, leave=False, and the view disappears from the page).
WATCH_PROGRESS = """
() => {
  window.__bars = [];
  const seen = new Map();
  const SELECTOR = '.widget-hprogress, .widget-progress';
  const record = (el) => {
    if (!seen.has(el)) {
      seen.set(el, window.__bars.length);
      window.__bars.push({texts: [], widths: [], danger: false});
    }
    const bar = window.__bars[seen.get(el)];
    const box = el.closest('.widget-hbox') || el.parentElement;
    const text = box ? box.innerText.replace(/\\s+/g, ' ').trim() : '';
    if (text && bar.texts[bar.texts.length - 1] !== text) bar.texts.push(text);
    const fill = el.querySelector('.progress-bar');
    if (fill) {
      bar.widths.push(fill.style.width);
      if (fill.classList.contains('progress-bar-danger')) bar.danger = true;
    }
  };
  // cheap: look only at what changed, not at the whole page on every mutation
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      const node = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      if (!node) continue;
      const el = node.closest(SELECTOR);
      if (el) record(el);
      for (const added of m.addedNodes) {
        if (added.nodeType !== 1) continue;
        if (added.matches(SELECTOR)) record(added);
        added.querySelectorAll(SELECTOR).forEach(record);
      }
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             attributeFilter: ['style', 'class'], characterData: true});
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cut_after_training_cell(path: Path) -> int:
    """Keep the cells up to the first one that calls ``fit(``, outputs cleared; return their count."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb["cells"]
    fit_cell = next(
        i for i, c in enumerate(cells) if c["cell_type"] == "code" and "fit(" in "".join(c["source"])
    )
    nb["cells"] = cells[: fit_cell + 1]
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    path.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
    return sum(c["cell_type"] == "code" for c in nb["cells"])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    base = tmp_path_factory.mktemp("lab")
    book = base / "book"
    shutil.copytree(ROOT / "book", book, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_build"))
    code_cells = _cut_after_training_cell(book / NOTEBOOK)
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "SEQNOTES_PROGRESS": "1",  # as `make lab`
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
    }
    jupyter = Path(sys.executable).parent / "jupyter"
    cmd = [
        str(jupyter), "lab", f"--notebook-dir={book}", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}", f"--LabApp.user_settings_dir={base / 'settings'}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    # every cell in the page (no windowing), so that every prompt and output can be read; no news popup
    settings = base / "settings"
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        package, name = plugin.rsplit("/", 1)
        (settings / package).mkdir(parents=True, exist_ok=True)
        (settings / package / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
    log = (base / "server.log").open("w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited: {(base / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer within {START_TIMEOUT} s")
                time.sleep(0.5)
        yield {"url": url, "token": token, "code_cells": code_cells, "log": base / "server.log"}
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
        log.close()


def test_training_cell_shows_a_progress_bar_in_jupyterlab(browser, lab, screenshots: Path) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    external: list[str] = []
    errors: list[str] = []

    def route(route) -> None:
        if (
            route.request.url.startswith(("data:", "blob:"))
            or urlparse(route.request.url).hostname == "127.0.0.1"
        ):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(f"{lab['url']}/lab/tree/{NOTEBOOK}?token={lab['token']}", wait_until="load")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
        try:  # JupyterLab may ask which kernel to start: the notebook's own (python3) is preselected
            page.click(".jp-Dialog button.jp-mod-accept", timeout=5_000)
        except PlaywrightTimeout:
            pass
        # the kernel is up when the toolbar's status says idle
        page.wait_for_selector(".jp-NotebookPanel [data-status='idle']", timeout=90_000)
        page.evaluate(WATCH_PROGRESS)
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        # every code cell gets its execution count ([n]: instead of [*]: or [ ]:), or an error shows
        page.wait_for_function(
            """(n) => {
                if (document.querySelector("[data-mime-type='application/vnd.jupyter.error']")) return true;
                const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                    .map((p) => p.innerText.trim());
                return prompts.length === n && prompts.every((p) => /^\\[\\d+\\]:$/.test(p))
                    && prompts.includes(`[${n}]:`);
            }""",
            arg=lab["code_cells"],
            timeout=RUN_TIMEOUT,
        )
        prompts = page.evaluate(
            "[...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map((p) => p.innerText.trim())"
        )
        page.wait_for_selector(".jp-NotebookPanel [data-status='idle']", timeout=30_000)
        page.wait_for_timeout(1000)  # let the last widget messages arrive
        bars = page.evaluate("window.__bars")
        cell_errors = page.evaluate(
            "[...document.querySelectorAll(\"[data-mime-type='application/vnd.jupyter.stderr'], "
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']\")]"
            ".map((e) => e.innerText.slice(0, 500))"
        )
        left = page.evaluate("document.querySelectorAll('.widget-hprogress, .widget-progress').length")
        last_output = page.evaluate(
            "(() => { const a = [...document.querySelectorAll('.jp-CodeCell .jp-OutputArea')].pop();"
            " return a ? a.innerHTML.slice(0, 3000) : ''; })()"
        )
    finally:
        page.screenshot(path=str(screenshots / "jupyterlab-00_setup.png"), full_page=False)
        context.close()

    assert not errors, f"errors in the page: {errors}"
    assert f"[{lab['code_cells']}]:" in prompts, f"not every cell ran: {prompts}"
    assert not cell_errors, f"a cell wrote an error or to stderr: {cell_errors}"
    assert bars, f"no progress bar rendered while `fit` ran; the cell's output: {last_output}"
    bar = bars[0]
    assert not bar["danger"], f"the progress bar turned red (stopped early): {bar['texts'][-3:]}"
    counts = [tuple(map(int, m)) for t in bar["texts"] for m in re.findall(r"(\d+)/(\d+)", t)]
    assert counts, f"the progress bar showed no n/total counter: {bar['texts']}"
    assert len({total for _, total in counts}) == 1 and counts[0][1] > 0, counts
    assert left == 0, "the progress bar stayed on the page (tqdm closes it after the last step)"
    server_log = Path(lab["log"]).read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in server_log and "KernelRestarter" not in server_log, server_log[-2000:]
    assert not external, f"the page asked for something off 127.0.0.1: {external[:5]}"
