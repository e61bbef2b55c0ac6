"""The web app's pages: server-rendered Jinja2 templates, htmx and Chart.js, served by the
same aiohttp server as the API.

Views render with ``page_html(view, request, "incidents.html", incidents=...)``. Templates
extend ``base.html`` (navigation, the signed-in user, the CSRF token for forms); the context
providers in ``CONTEXT_PROVIDERS`` add what every page needs (the auth package adds the user
and the CSRF token). Assets are under ``/static/``: ours in ``static/``, third-party ones in
``static/vendor/`` with their licences (htmx and its SSE extension: 0BSD; Chart.js: MIT).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from faust.web import Request, Response, View
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from monitor.app import app
from monitor.shell.access import Access, declare

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_PREFIX = "/static"

# Each returns names every template can use; called once per rendered page.
CONTEXT_PROVIDERS: list[Callable[[Request], Mapping[str, Any]]] = []

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(("html", "xml")),
    undefined=StrictUndefined,  # a misspelt name fails the page's test instead of rendering blank
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(template: str, request: Request | None = None, **context: Any) -> str:
    """The template rendered with the providers' names (when there is a request) and ``context``."""
    names: dict[str, Any] = {"static": STATIC_PREFIX}
    if request is not None:
        for provider in CONTEXT_PROVIDERS:
            names.update(provider(request))
    names.update(context)
    return environment.get_template(template).render(**names)


def page_html(
    view: View, request: Request, template: str, status: int = 200, **context: Any
) -> Response:
    """An HTML response of ``template``."""
    return view.html(render(template, request, **context), status=status)


app.web.add_static(STATIC_PREFIX, STATIC)
declare(STATIC_PREFIX, Access.PUBLIC)
