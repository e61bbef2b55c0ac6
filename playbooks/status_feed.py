"""The status page as an Atom feed (RFC 4287): one entry per update, newest first.

Ids are tag URIs (RFC 4151) built from the page's host and the update's row id, so an entry
keeps its id when the page moves between http and https or the feed is read again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit
from xml.etree import ElementTree

from playbooks.status_page import LABEL, StatusPage

ATOM = "http://www.w3.org/2005/Atom"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # <updated> of a feed without entries


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(page: StatusPage, *, public_url: str, title: str) -> bytes:
    """The feed as UTF-8 XML; every text goes through the XML serialiser, so it is escaped."""
    base = public_url.rstrip("/")
    host = urlsplit(base).hostname or "localhost"
    ElementTree.register_namespace("", ATOM)
    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", f"tag:{host},2026:status")
    _text(feed, "title", title)
    _text(feed, "updated", _stamp(page.updates[0].posted_at if page.updates else EPOCH))
    ElementTree.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{base}/status/feed.atom")
    ElementTree.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=f"{base}/status")
    author = ElementTree.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", title)
    for update in page.updates:
        entry = ElementTree.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"tag:{host},2026:status-update:{update.id}")
        state = LABEL.get(update.status, update.status)
        _text(entry, "title", f"{state}: {update.title}")
        _text(entry, "updated", _stamp(update.posted_at))
        _text(entry, "published", _stamp(update.posted_at))
        anchor = f"{base}/status#incident-{update.incident_id}"
        ElementTree.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=anchor)
        ElementTree.SubElement(entry, f"{{{ATOM}}}category", term=update.status, label=state)
        _text(entry, "content", f"{update.component}: {state}\n\n{update.body}", type="text")
    body: bytes = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def _text(parent: ElementTree.Element, tag: str, text: str, **attributes: str) -> None:
    ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes).text = _xml_safe(text)


def _xml_safe(text: str) -> str:
    """XML 1.0 forbids most control characters even escaped: drop them."""
    return "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)
