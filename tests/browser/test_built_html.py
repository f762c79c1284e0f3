"""Open every page of the built book in headless Chromium, offline, and check what a reader sees.

For each page: every formula typeset by the book's own MathJax (no raw TeX, no MathJax
error), every image loaded, no console errors, and no request leaving 127.0.0.1. A
full-page screenshot of each page goes to ``_build/screenshots/`` when ``SEQNOTES_SCREENSHOTS=1``
(``make screenshots``; they take about half of this check's time). Search and dark mode are checked
on their own.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest

from .conftest import HTML, built_pages

PAGES = built_pages()
FULL_PAGE_SCREENSHOTS = os.environ.get("SEQNOTES_SCREENSHOTS") == "1"

# TeX that should have been typeset, looked for outside code blocks and formulas.
RAW_TEX = re.compile(r"\$\$|\\\(|\\\[|\\frac|\\sum|\\mathrm|\$\\|\$[A-Za-z]\$")

VISIBLE_TEXT_OUTSIDE_CODE_AND_MATH = """
() => {
  const root = document.querySelector('article') || document.body;
  const clone = root.cloneNode(true);
  clone.querySelectorAll('pre, code, .math, mjx-container, script, style, .highlight')
       .forEach((el) => el.remove());
  return clone.innerText;
}
"""


def redirect_target(rel: str) -> str | None:
    """Where a page's ``<meta http-equiv="Refresh">`` points, if it has one."""
    match = re.search(r'http-equiv="Refresh" content="\d+; url=([^"]+)"', (HTML / rel).read_text("utf-8"))
    return match.group(1) if match else None


def open_page(browser, url: str, log: dict[str, list[str]], redirect: str | None = None, **context_options):
    """A fresh page that blocks and records every request not to 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
    page = context.new_page()

    def route(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            log["external"].append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: log["console"].append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: log["console"].append(str(err)))
    page.goto(url, wait_until="load")
    if redirect:  # index.html only redirects to the first page: follow it
        page.wait_for_url(f"**/{redirect}", wait_until="load")
    return context, page


def wait_for_mathjax(page) -> int:
    """Wait until MathJax has typeset the page; return the number of formulas."""
    count = page.evaluate("document.querySelectorAll('.math').length")
    if count:
        page.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20_000
        )
        page.evaluate("() => MathJax.startup.promise")
    return count


@pytest.mark.parametrize("rel", PAGES)
def test_page_renders_offline(browser, site: str, screenshots: Path, rel: str) -> None:
    log: dict[str, list[str]] = {"external": [], "console": []}
    context, page = open_page(browser, f"{site}/{rel}", log, redirect=redirect_target(rel))
    try:
        formulas = wait_for_mathjax(page)
        untypeset = page.evaluate(
            "[...document.querySelectorAll('.math')]"
            ".filter(el => !el.querySelector('mjx-container')).map(el => el.textContent.slice(0, 80))"
        )
        errors = page.evaluate(
            "[...document.querySelectorAll('mjx-merror')].map(el => el.getAttribute('data-mjx-error'))"
        )
        leftover = RAW_TEX.findall(page.evaluate(VISIBLE_TEXT_OUTSIDE_CODE_AND_MATH))
        page.evaluate(
            "() => Promise.all([...document.images].map(img => {"
            " img.loading = 'eager'; return img.decode().catch(() => null); }))"
        )
        broken = page.evaluate(
            "[...document.images].filter(img => !(img.complete && img.naturalWidth > 0))"
            ".map(img => img.getAttribute('src'))"
        )
        if FULL_PAGE_SCREENSHOTS:
            page.screenshot(
                path=str(screenshots / (rel.replace("/", "__")[: -len(".html")] + ".png")),
                full_page=True,
            )
    finally:
        context.close()
    assert not log["external"], f"requests leaving 127.0.0.1: {log['external']}"
    assert not log["console"], f"console errors: {log['console']}"
    assert not untypeset, f"{len(untypeset)} of {formulas} formulas not typeset: {untypeset[:5]}"
    assert not errors, f"MathJax errors: {errors}"
    assert not leftover, f"raw TeX outside formulas: {leftover[:5]}"
    assert not broken, f"images that did not load: {broken}"


def search(browser, site: str, query: str) -> list[str]:
    """Run the book's own search page and return the result links."""
    log: dict[str, list[str]] = {"external": [], "console": []}
    context, page = open_page(browser, f"{site}/search.html?q={quote(query)}", log)
    try:
        page.wait_for_function(
            "() => { const s = document.querySelector('#search-results .search-summary');"
            " return s && s.textContent.trim().length > 0; }",
            timeout=20_000,
        )
        links = page.evaluate(
            "[...document.querySelectorAll('#search-results ul.search li a')]"
            ".map(a => a.getAttribute('href'))"
        )
    finally:
        context.close()
    assert not log["external"] and not log["console"], log
    return links


@pytest.mark.parametrize(
    ("query", "expected_page"),
    [
        ("시퀀스", "book/intro.html"),  # a word as it stands in the text
        ("난수", "book/00_setup.html"),  # only ever written with particles: 난수가, 난수는
        ("기울기 클리핑", "book/glossary.html"),  # two words, both required
        ("softmax", "book/glossary.html"),
    ],
)
def test_search_finds_korean_words(browser, site: str, query: str, expected_page: str) -> None:
    links = search(browser, site, query)
    assert any(link.split("#")[0].endswith(expected_page) for link in links), (
        f"search for {query!r} did not find {expected_page}; results: {links}"
    )


def test_dark_mode_toggle(browser, site: str, screenshots: Path) -> None:
    log: dict[str, list[str]] = {"external": [], "console": []}
    context, page = open_page(browser, f"{site}/book/intro.html", log, color_scheme="light")
    try:
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        for _ in range(3):  # the theme button cycles through auto, light and dark
            page.locator(".theme-switch-button").first.click()
            if page.evaluate("document.documentElement.dataset.theme") == "dark":
                break
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        wait_for_mathjax(page)
        page.screenshot(path=str(screenshots / "dark__book__intro.png"))
    finally:
        context.close()
    channels = [int(c) for c in re.findall(r"\d+", background)[:3]]
    assert max(channels) < 80, f"dark mode background is not dark: {background}"
    assert not log["external"] and not log["console"], log
