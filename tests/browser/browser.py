"""Debian's chromium driven by Playwright, and the checks every page of the web app passes.

Playwright launches /usr/bin/chromium (``make test`` installs it) through ``executable_path``;
``playwright install`` and its browser download are never used. Each page is looked at twice,
at a desktop width and at 375 px (a phone): it must not scroll sideways on the phone, it must
log no console error and no Content-Security-Policy violation (chromium reports those on the
console too), and it is saved as a screenshot under test-artefacts/ for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = REPO / "test-artefacts"
PHONE_WIDTH = 375
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": PHONE_WIDTH, "height": 812}
# As root in CI chromium needs --no-sandbox. The machine reaches no network but loopback:
# without the background-networking flags chromium keeps trying Google's hosts.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Whether the page's first <canvas> has a chart on it: enough painted pixels (an empty canvas
# has none; axes alone have fewer).
PAINTED_PIXELS = 2_000
PAINTED = """(canvas) => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let alpha = 3; alpha < data.length; alpha += 4) if (data[alpha] > 0) painted++;
  return painted;
}"""
CHART_DRAWN = (
    f"() => {{ const c = document.querySelector('canvas'); "
    f"return !!c && ({PAINTED})(c) > {PAINTED_PIXELS}; }}"
)


@contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"the browser tests need Debian's chromium at {CHROMIUM}: run `make browsers` "
            "(as root) or `sudo apt-get install --no-install-recommends chromium`",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    """A page whose console errors, uncaught exceptions and CSP violations are kept."""

    page: Page
    problems: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, page: Page) -> Watched:
        watched = cls(page)
        page.on("console", watched._console)
        page.on("pageerror", lambda error: watched.problems.append(f"uncaught: {error}"))
        return watched

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text} ({message.location})")

    def assert_clean(self, what: str) -> None:
        assert not self.problems, f"{what}:\n" + "\n".join(self.problems)


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0 when it does not scroll sideways)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    return max(0, int(width) - int(page.viewport_size["width"] if page.viewport_size else 0))


def widest_elements(page: Page) -> list[str]:
    """The elements that stick out past the right edge, to say which one breaks the layout."""
    found = page.evaluate(
        """() => {
          const edge = document.documentElement.clientWidth + 1;
          return [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > edge)
            .slice(0, 5)
            .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                 + ' right=' + Math.round(e.getBoundingClientRect().right));
        }"""
    )
    return [str(item) for item in found]


def screenshot(page: Page, name: str) -> Path:
    ARTEFACTS.mkdir(exist_ok=True)
    path = ARTEFACTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def look_at(watched: Watched, url: str, name: str) -> None:
    """Load ``url`` at desktop width and at 375 px: screenshots of both, no sideways scroll on
    the phone, no console error or CSP violation. Leaves the page at desktop width."""
    page = watched.page
    for label, size in (("desktop", DESKTOP), ("375px", PHONE)):
        page.set_viewport_size(size)
        response = page.goto(url, wait_until="load")  # not networkidle: SSE stays open
        assert response is not None and response.ok, f"{url}: {response and response.status}"
        screenshot(page, f"{name}-{label}")
        if label == "375px":
            overflow = horizontal_overflow(page)
            assert overflow <= 1, (
                f"{url} scrolls sideways by {overflow} px at {PHONE_WIDTH} px: "
                f"{widest_elements(page)}"
            )
    page.set_viewport_size(DESKTOP)
    watched.assert_clean(url)
