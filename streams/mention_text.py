"""A mention's text made plain: HTML to text, control characters out, NFC, PII redacted."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

from monitor.privacy import Redactor
from streams.cleaning import strip_controls, valid_unicode

MAX_TEXT_CHARS = 5000
_SPACE_RE = re.compile(r"\s+")
_HIDDEN_TAGS = {"script", "style", "head", "title"}
_BREAK_TAGS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}


_REDACTOR = Redactor()


def normalise_text(
    text: str, max_chars: int = MAX_TEXT_CHARS, redactor: Redactor = _REDACTOR
) -> tuple[str, bool]:
    """HTML to plain text, control characters dropped, NFC, whitespace collapsed, PII redacted,
    length capped (after redaction, so a cut never leaves half a card number behind).

    Returns the text and whether it was truncated.

    >>> normalise_text("Cafe\\u0301\\n\\n  is   closed\\x00")
    ('Café is closed', False)
    >>> normalise_text("<p>Checkout is <b>broken</b> &amp; slow</p>")
    ('Checkout is broken & slow', False)
    >>> normalise_text("abcdef", max_chars=4)
    ('abc…', True)
    """
    text = valid_unicode(text)
    if "<" in text or "&" in text:
        text = html_to_text(text)
    text = unicodedata.normalize("NFC", strip_controls(text))
    text = redactor.redact(_SPACE_RE.sub(" ", text).strip())
    if len(text) > max_chars:
        return text[: max_chars - 1] + "…", True
    return text, False


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment, dropping scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden += 1
        elif tag in _BREAK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS and self._hidden:
            self._hidden -= 1
        elif tag in _BREAK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(text: str) -> str:
    """Plain text of an HTML fragment; text that merely contains ``<`` or ``&`` survives.

    >>> html_to_text("I <3 this &amp; 2 < 5")
    'I <3 this & 2 < 5'
    """
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)
