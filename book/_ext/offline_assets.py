"""Keep every page of the built book free of assets that would need the network.

Jupyter Book 1 always loads ``sphinx_thebe``. This book does not offer live code (``thebe:
false``), yet sphinx-thebe still writes its configuration script, which names a CDN URL and
is emitted twice (a redeclared ``const``: a console error on every page), plus its script
and stylesheet. This extension removes those assets from every page.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _is_thebe(asset: Any) -> bool:
    filename = getattr(asset, "filename", None) or str(asset)
    body = (getattr(asset, "attributes", None) or {}).get("body", "")
    return "sphinx-thebe" in filename or "THEBE_JS_URL" in body


def drop_thebe_assets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if app.config.thebe_config and app.config.thebe_config.get("always_load"):
        return  # live code was asked for: leave thebe alone
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not _is_thebe(asset)]


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("html-page-context", drop_thebe_assets, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
