"""Templates users edit, rendered in Jinja2's immutable sandbox; HTML is autoescaped.

StrictUndefined makes a misspelt or forbidden attribute an error, which ``crisismon playbooks
check`` reports by rendering every template with a sample context before anything is sent.

>>> render_text("Hello {{ customer.region }}", {"customer": {"region": "eu"}})
'Hello eu'
>>> render_html("<p>{{ x }}</p>", {"x": "<b>"})
'<p>&lt;b&gt;</p>'
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_TEXT = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_HTML = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=True)

__all__ = ["Rendered", "TemplateError", "content_hash", "render_html", "render_text"]


def render_text(source: str, context: dict[str, Any]) -> str:
    return _TEXT.from_string(source).render(context).strip()


def render_html(source: str, context: dict[str, Any]) -> str:
    return _HTML.from_string(source).render(context).strip()


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_copy(*, subject: str, text: str, html: str, context: dict[str, Any]) -> Rendered:
    """Render the three parts of one message; raises jinja2's TemplateError."""
    return Rendered(
        subject=render_text(subject, context) if subject else "",
        text=render_text(text, context),
        html=render_html(html, context) if html else "",
    )


def content_hash(*, subject: str, text: str, html: str) -> str:
    """What an approval binds to: the exact template source of the three parts."""
    blob = json.dumps([subject, text, html], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def sample_context(*, locale: str, segment: str, variables: dict[str, str]) -> dict[str, Any]:
    """The context every template gets, with sample values, for checks."""
    return {
        "customer": {
            "external_id": "sample-1",
            "locale": locale,
            "timezone": "UTC",
            "region": "eu",
            "plan": "pro",
            "lifecycle": "active",
            "segment": segment,
        },
        "incident": {
            "id": 1,
            "title": "Negative mentions spike",
            "severity": "critical",
            "series": "global",
            "opened_at": "2026-01-05 10:00 UTC",
        },
        "vars": variables,
        "unsubscribe_url": "https://example.com/unsubscribe",
    }
