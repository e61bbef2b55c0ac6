"""The checks every page of the browser tests passes do catch what they are for: a CSP
violation, an uncaught exception and a page wider than a phone (no worker needed)."""

from __future__ import annotations

from playwright.sync_api import Browser

from tests.browser.browser import PHONE, Watched, chromium, horizontal_overflow, widest_elements

STRICT = "script-src 'self'; style-src 'self'"


def watched_page(browser: Browser, html: str) -> Watched:
    """A new phone-sized page showing ``html`` (a page of its own: a CSP stays with its page)."""
    watched = Watched.open(browser.new_page(viewport=PHONE))
    watched.page.set_content(html)
    watched.page.wait_for_timeout(300)
    return watched


def test_csp_violations_errors_and_sideways_scrolling_are_caught():
    with chromium() as browser:
        fine = watched_page(browser, "<html><body><p>fits on a phone</p></body></html>")
        assert horizontal_overflow(fine.page) == 0
        assert fine.problems == []

        # What the app's CSP refuses is reported on the console, and the checks keep it.
        refused = watched_page(
            browser,
            f'<html><head><meta http-equiv="Content-Security-Policy" content="{STRICT}">'
            '</head><body><p style="color: red">styled</p>'
            "<script>console.log('inline')</script></body></html>",
        )
        problems = "\n".join(refused.problems)
        assert "Executing inline script violates" in problems
        assert "Applying inline style violates" in problems

        # Wider than 375 px: measured, and the element that sticks out is named.
        wide = watched_page(browser, '<html><body><div class="wide" style="width: 600px">x</div>')
        assert horizontal_overflow(wide.page) > 200
        assert any(item.startswith("div.wide") for item in widest_elements(wide.page))

        fine.page.evaluate("setTimeout(() => { throw new Error('boom') }, 0)")
        fine.page.wait_for_timeout(300)
        assert any(p.startswith("uncaught: ") and "boom" in p for p in fine.problems)
