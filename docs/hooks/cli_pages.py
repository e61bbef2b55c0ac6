"""MkDocs hook: one page per `crisismon` command, generated from the Typer app at build time.

Walking the Click tree (rather than listing commands here) means a command added to
`monitor/shell/cli/__init__.py` gets its page, and its nav entry, on the next build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import typer
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

# Typer ships its own copy of Click; the tree it builds is made of these classes.
from typer._click.core import Command, Context
from typer.core import TyperGroup

from monitor.shell.cli import cli

CLI_DIR = "cli"
NAV_PLACEHOLDER = f"{CLI_DIR}/index.md"
ROOT_NAME = "crisismon"


@dataclass(frozen=True)
class CommandPage:
    """A command's generated page: its words after `crisismon`, where it goes, what it says."""

    words: tuple[str, ...]
    src_uri: str
    help_text: str
    summary: str
    markdown: str
    children: tuple[CommandPage, ...]

    @property
    def title(self) -> str:
        return " ".join((ROOT_NAME, *self.words))


def click_tree() -> Command:
    """The Click command that `crisismon` runs."""
    return typer.main.get_command(cli)


def visible_subcommands(command: Command, ctx: Context) -> list[tuple[str, Command]]:
    """A group's subcommands as --help lists them (hidden ones left out), in name order."""
    if not isinstance(command, TyperGroup):
        return []
    found = (command.get_command(ctx, name) for name in command.list_commands(ctx))
    shown = [(c.name or "", c) for c in found if c is not None and not c.hidden]
    return sorted(shown, key=lambda pair: pair[0])


def help_text(command: Command) -> str:
    """What `--help` says about the command, before its usage and options."""
    return (command.help or command.short_help or "").strip()


def src_uri_for(words: tuple[str, ...], is_group: bool) -> str:
    """cli/index.md for crisismon, cli/drill/index.md for a group, cli/drill/start.md for a leaf."""
    if is_group:
        return "/".join((CLI_DIR, *words, "index.md"))
    return "/".join((CLI_DIR, *words[:-1], f"{words[-1]}.md"))


def command_pages() -> CommandPage:
    """The root command's page, with every visible command below it."""
    root = click_tree()
    return _page(root, root.context_class(root, info_name=ROOT_NAME), ())


def all_pages(page: CommandPage) -> list[CommandPage]:
    """The page and every page below it, depth first."""
    return [page, *(p for child in page.children for p in all_pages(child))]


def _page(command: Command, ctx: Context, words: tuple[str, ...]) -> CommandPage:
    subcommands = visible_subcommands(command, ctx)
    src_uri = src_uri_for(words, isinstance(command, TyperGroup))
    children = tuple(
        _page(sub, sub.context_class(sub, info_name=name, parent=ctx), (*words, name))
        for name, sub in subcommands
    )
    return CommandPage(
        words=words,
        src_uri=src_uri,
        help_text=help_text(command),
        summary=command.get_short_help_str(limit=200),
        markdown=_markdown(command, ctx, src_uri, children),
        children=children,
    )


def _markdown(
    command: Command, ctx: Context, src_uri: str, children: tuple[CommandPage, ...]
) -> str:
    lines = [f"# {ctx.command_path}", "", _prose(help_text(command)), ""]
    lines += ["```text", command.get_usage(ctx), "```", ""]
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    records = [
        (p.param_type_name, record)
        for p in params
        if p.name != "help" and (record := p.get_help_record(ctx)) is not None
    ]
    for kind, heading in (("argument", "Arguments"), ("option", "Options")):
        rows = [record for k, record in records if k == kind]
        if rows:
            lines += [f"## {heading}", "", f"| {kind} | meaning |", "|---|---|"]
            lines += [f"| `{name}` | {_cell(meaning)} |" for name, meaning in rows]
            lines.append("")
    if children:
        here = src_uri.rsplit("/", 1)[0]
        lines += ["## Commands", "", "| command | what it does |", "|---|---|"]
        for child in children:
            link = child.src_uri.removeprefix(f"{here}/")
            lines.append(f"| [`{child.title}`]({link}) | {_cell(child.summary)} |")
        lines.append("")
    lines.append("Every command also takes `--help`: this page's text, in the terminal.")
    return "\n".join(lines) + "\n"


# Markdown that would change the meaning of plain help text, outside `code spans`.
_SPECIAL = re.compile(r"([\\*_\[\]])")
_CODE_SPAN = re.compile(r"(`[^`]*`)")


def _prose(text: str) -> str:
    """Help text as Markdown paragraphs: Click's \\b markers dropped, HTML and emphasis escaped."""
    text = "\n".join(line for line in text.splitlines() if line.strip() != "\b")
    parts = _CODE_SPAN.split(text)
    for i in range(0, len(parts), 2):  # even parts lie outside code spans
        escaped = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts[i] = _SPECIAL.sub(r"\\\1", escaped)
    return "".join(parts).strip()


def _cell(text: str) -> str:
    """Prose fit for one table cell: one line, pipes escaped."""
    return " ".join(_prose(text).split()).replace("|", "\\|")


def _nav_entries(page: CommandPage) -> list[Any]:
    """The nav below a page: its own page first, then a section per group or a leaf page."""
    entries: list[Any] = [page.src_uri]
    for child in page.children:
        if child.children:
            entries.append({child.title: _nav_entries(child)})
        else:
            entries.append({child.title: child.src_uri})
    return entries


def _expand(nav: list[Any], entries: list[Any]) -> bool:
    """Replace the placeholder entry in the nav with the command pages; True if found."""
    for item in nav:
        if isinstance(item, dict):
            for title, value in item.items():
                if value == NAV_PLACEHOLDER:
                    item[title] = entries
                    return True
                if isinstance(value, list) and _expand(value, entries):
                    return True
    return False


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    if config.nav is not None and not _expand(config.nav, _nav_entries(command_pages())):
        raise ValueError(f"mkdocs.yml: the nav has no entry for {NAV_PLACEHOLDER}")
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for page in all_pages(command_pages()):
        files.append(File.generated(config, page.src_uri, content=page.markdown))
    return files
