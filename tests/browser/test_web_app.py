"""The web app in a real browser (Debian's chromium through Playwright) against a real worker.

Every page is loaded at a desktop width and at 375 px: it fails on sideways scrolling on the
phone, on a console error and on a CSP violation; screenshots of both go to test-artefacts/.
The worker (tests/browser/conftest.py) has played three calm hours; the incident test plays the
outage while /incidents is open and watches the incident arrive without reloading (SSE).
"""

from __future__ import annotations

import feedparser
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.browser import DESKTOP, Watched, look_at
from tests.browser.conftest import WebService
from tests.integration.web_login import PASSWORD, add_user

# A canvas with fewer painted pixels than this has no chart on it (an axis alone has more).
PAINTED_PIXELS = 2_000
PAINTED = """(canvas) => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let alpha = 3; alpha < data.length; alpha += 4) if (data[alpha] > 0) painted++;
  return painted;
}"""


def signed_in(browser: Browser, service: WebService, name: str, role: str) -> BrowserContext:
    """A browser context signed in through the login form as a user with ``role``."""
    add_user(service.database_url, name, role)
    context = browser.new_context(viewport=DESKTOP)
    watched = Watched.open(context.new_page())
    look_at(watched, f"{service.url}/login", "login")
    page = watched.page
    page.get_by_label("Name", exact=False).first.fill(name)
    page.get_by_label("Password", exact=False).first.fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"still on the login page: {page.content()[:500]}"
    watched.assert_clean("signing in")
    page.close()
    return context


def test_public_status_page_and_its_feed(web_service: WebService, browser: Browser):
    context = browser.new_context()
    watched = Watched.open(context.new_page())
    look_at(watched, f"{web_service.url}/status", "status")
    page = watched.page
    expect(page.locator("h1").first).to_be_visible()
    feed_link = page.locator("a[href$='/status/feed.atom'], link[href$='/status/feed.atom']")
    assert feed_link.count() >= 1, "the status page links its Atom feed"
    answer = page.request.get(f"{web_service.url}/status/feed.atom")
    assert answer.ok, f"{answer.status} {answer.text()[:500]}"
    assert "atom" in answer.headers["content-type"]
    feed = feedparser.parse(answer.body())
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title
    context.close()

    # The page works without JavaScript: everything it says is in the HTML.
    no_js = browser.new_context(java_script_enabled=False)
    page = no_js.new_page()
    page.goto(f"{web_service.url}/status")
    expect(page.locator("h1").first).to_be_visible()
    no_js.close()
