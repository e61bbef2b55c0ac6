"""MkDocs hook: CONTRIBUTING.md and BENCHMARKS.md, which live at the repository root, as pages.

The files stay where GitHub shows them, so their links are written for the root (docs/x.md)
and the docs' links to them for docs/ (../CONTRIBUTING.md). This hook rewrites both kinds for
the site; a link to any other file outside docs/ is shown as its path in code, since the site
does not carry it.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

# Repository file -> its page on the site.
ROOT_PAGES = {"CONTRIBUTING.md": "contributing.md", "BENCHMARKS.md": "benchmarks.md"}
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")


def _is_external(target: str) -> bool:
    return target.startswith(("http://", "https://", "mailto:", "#"))


def _for_root_page(text: str) -> str:
    """A root file's links as the site needs them: docs/x.md -> x.md, the others as code."""

    def fix(match: re.Match[str]) -> str:
        label, target = match.groups()
        path, _, anchor = target.partition("#")
        if _is_external(target):
            return match.group(0)
        if path.startswith("docs/"):
            return f"[{label}]({path.removeprefix('docs/')}{'#' + anchor if anchor else ''})"
        if path in ROOT_PAGES:
            return f"[{label}]({ROOT_PAGES[path]}{'#' + anchor if anchor else ''})"
        return f"{label} (`{path}`)" if label.strip("`") != path else f"`{path}`"

    return _LINK.sub(fix, text)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    root = Path(config.config_file_path).parent
    for name, page in ROOT_PAGES.items():
        text = (root / name).read_text(encoding="utf-8")
        files.append(File.generated(config, page, content=_for_root_page(text)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """In docs/*.md, ../CONTRIBUTING.md#x becomes contributing.md#x."""
    if "/" in page.file.src_uri:
        return markdown  # only pages at the top of docs/ link up to the root
    for name, target in ROOT_PAGES.items():
        markdown = markdown.replace(f"](../{name}", f"]({target}")
    return markdown
