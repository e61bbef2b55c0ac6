"""The docs site: it builds with --strict, every command has its page, README's links resolve."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from pymdownx.slugs import slugify
from typer._click.core import Command, Context
from typer.core import TyperGroup

from monitor.shell.cli import cli

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# The id GitHub (and the site, see mkdocs.yml) gives a heading.
github_slug = slugify(case="lower")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    return out


def commands() -> list[tuple[tuple[str, ...], Command]]:
    """Every visible command and subcommand of `crisismon`, with its words after `crisismon`."""
    found: list[tuple[tuple[str, ...], Command]] = []

    def walk(command: Command, ctx: Context, words: tuple[str, ...]) -> None:
        found.append((words, command))
        if isinstance(command, TyperGroup):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    walk(sub, sub.context_class(sub, info_name=name, parent=ctx), (*words, name))

    root = typer.main.get_command(cli)
    walk(root, root.context_class(root, info_name="crisismon"), ())
    return found


def visible_text(page: Path) -> str:
    """What a reader sees on a built page: tags dropped, entities decoded, spaces collapsed."""
    text = re.sub(r"</?(code|a|em|strong|span)\b[^>]*>", "", page.read_text(encoding="utf-8"))
    text = re.sub(r"<[^>]+>", " ", text)
    return " ".join(html.unescape(text).split())


def test_the_site_builds_strictly_with_every_section(site: Path) -> None:
    home = (site / "index.html").read_text(encoding="utf-8")
    for section in ("sources", "detectors", "sentiment", "playbooks", "web-api", "operations"):
        assert (site / section / "index.html").is_file(), section
        assert f'href="{section}/"' in home, section
    for section in ("guarantees", "evaluation", "architecture", "configuration", "cli"):
        assert (site / section / "index.html").is_file(), section


def test_every_command_has_a_page_with_its_help_usage_and_options(site: Path) -> None:
    listed = commands()
    assert len(listed) > 30  # the whole tree was walked, not only the top level
    for words, command in listed:
        title = " ".join(("crisismon", *words))
        summary = command.get_short_help_str(limit=1000).replace("`", "")
        assert summary.strip(), f"`{title}` has no help text"
        page = site / "cli" / Path(*words) / "index.html"
        assert page.is_file(), f"no page for `{title}`"
        text = visible_text(page)
        assert f"Usage: {title}" in text
        assert " ".join(summary.split()) in text
        for param in command.params:
            if param.name != "help" and not getattr(param, "hidden", False):
                assert param.opts[0] in text, f"`{title}` page lacks {param.opts[0]}"


def test_cli_reference_lists_every_top_level_command(site: Path) -> None:
    index = visible_text(site / "cli" / "index.html")
    for words, _ in commands():
        if len(words) == 1:
            assert f"crisismon {words[0]}" in index


def readme_links() -> list[str]:
    text = README.read_text(encoding="utf-8")
    return [t for t in LINK.findall(text) if not t.startswith(("http://", "https://", "mailto:"))]


def headings_of(markdown: Path) -> set[str]:
    """GitHub's ids of a Markdown file's headings (code blocks skipped)."""
    ids: set[str] = set()
    in_code = False
    for line in markdown.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (match := re.match(r"#{1,6} (.+)", line)):
            ids.add(github_slug(match.group(1).strip(), "-"))
    return ids


def test_readme_links_point_at_files_and_headings_that_exist() -> None:
    links = readme_links()
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        path, _, anchor = link.partition("#")
        target = ROOT / path if path else README
        assert target.exists(), f"README links to {link}, which does not exist"
        if anchor and target.suffix == ".md":
            assert anchor in headings_of(target), f"README links to {link}: no such heading"


def test_readme_stays_short_and_says_how_to_build_the_docs() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.encode()) < 10 * 1024
    assert "make docs" in text
    for command in ("backtest", "simulate", "feedback"):
        assert f"`crisismon {command}" in text
