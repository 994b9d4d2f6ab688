"""The documentation covers the package: every public module has an API page, every page is in
the navigation, and the pages cite no path outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _public_modules() -> set[str]:
    mods = set()
    for f in (ROOT / "jcevns").rglob("*.py"):
        rel = f.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts) or "data" in parts[1:2] and len(parts) > 2:
            continue  # private modules; maintainer scripts inside jcevns/data
        mods.add(".".join(parts))
    return mods


def test_every_public_module_has_an_api_page():
    documented = set()
    for page in (DOCS / "api").glob("*.md"):
        documented |= set(re.findall(r"^::: ([\w.]+)", page.read_text(), flags=re.M))
    missing = sorted(_public_modules() - documented)
    assert not missing, f"add a docs/api/<name>.md page with '::: <module>' and a nav entry for {missing}"


def test_every_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = [p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if "notebooks" not in p.parts]
    assert pages
    missing = [p for p in pages if p not in nav]
    assert not missing, f"pages missing from the nav of mkdocs.yml: {missing}"
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert f"notebooks/{nb.name}" in nav, nb.name


def test_pages_cite_no_path_outside_the_repository():
    for page in DOCS.rglob("*.md"):
        if "notebooks" in page.parts:
            continue
        text = page.read_text()
        assert "../shared" not in text and "/work/" not in text, page
