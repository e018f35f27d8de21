"""mkdocs hooks: the site's home page is the README, and the nav tolerates pages to come.

- The README is the home page (``index.md``), so the front page is written once; its links
  into ``docs/`` are made relative to the site.
- ``nav`` in mkdocs.yml may list pages that do not exist yet (a branch adds them): they are
  left out instead of failing ``mkdocs build --strict``. A page that exists but is not listed
  is added under "More", so no page is ever left out of the navigation.
- A link to ``../README.md`` goes to the home page.
- A link to a file of the repository outside ``docs/`` (``../deploy/compose.yaml``) becomes
  its path in code font: it works on GitHub, and the site does not pretend to host it.
- A line ``--8<-- "PATH"`` (PATH from the repository root), alone in a fenced block, is
  replaced by that file, so a page shows e.g. the compose file as it is, never a copy.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")
INCLUDE = re.compile(r'^--8<-- "([^"]+)"\s*$', re.MULTILINE)


def _root(config: Any) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def _docs(config: Any) -> Path:
    return Path(config["docs_dir"]).resolve()


def _entries(nav: list[Any], docs: Path) -> tuple[list[Any], set[str]]:
    """``nav`` without the pages that are missing, and the pages it lists."""
    kept: list[Any] = []
    listed: set[str] = set()
    for entry in nav:
        title, target = next(iter(entry.items())) if isinstance(entry, dict) else (None, entry)
        if isinstance(target, list):
            children, seen = _entries(target, docs)
            listed |= seen
            if children:
                kept.append({title: children})
            continue
        if "://" not in target and not (docs / target).is_file() and target != "index.md":
            continue
        listed.add(target)
        kept.append(entry)
    return kept, listed


def on_config(config: Any) -> Any:
    docs = _docs(config)
    nav, listed = _entries(config["nav"] or [], docs)
    excluded = {"gen_reference.py", "hooks.py"}
    extra = sorted(
        p.relative_to(docs).as_posix()
        for p in docs.rglob("*.md")
        if p.relative_to(docs).as_posix() not in listed | excluded
    )
    if extra:
        nav.append({"More": extra})
    config["nav"] = nav
    return config


def on_files(files: Files, config: Any) -> Files:
    if files.get_file_from_path("index.md") is None:
        readme = (_root(config) / "README.md").read_text()
        files.append(File.generated(config, "index.md", content=readme))
    return files


def _include(markdown: str, root: Path) -> str:
    return INCLUDE.sub(lambda m: (root / m[1]).read_text().rstrip("\n"), markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    root, docs = _root(config), _docs(config)
    markdown = _include(markdown, root)
    # where the page's source sits in the repository (the README at its root)
    src = page.file.src_uri
    here = root if page.file.generated_by else (docs / src).parent

    def fix(match: re.Match[str]) -> str:
        bang, text, target = match.groups()
        path, _, anchor = target.partition("#")
        if not path or "://" in path or path.startswith(("/", "mailto:")):
            return match[0]
        resolved = (here / path).resolve()
        if resolved == root / "README.md":  # the home page
            resolved = docs / "index.md"
        if resolved.is_relative_to(docs):
            rel = posixpath.relpath(resolved.relative_to(docs).as_posix(), posixpath.dirname(src))
            return f"{bang}[{text}]({rel}{'#' + anchor if anchor else ''})"
        shown = resolved.relative_to(root).as_posix()
        same = text.strip("`").rstrip("/") == shown.rstrip("/")
        return f"`{shown}`" if same else f"{text} (`{shown}`)"

    return LINK.sub(fix, markdown)
