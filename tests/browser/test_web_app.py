"""The web app in a real browser (Debian's chromium through Playwright) against a real worker.

Every page is loaded at a desktop width and at 375 px: it fails on sideways scrolling on the
phone, on a console error and on a CSP violation; screenshots of both go to test-artefacts/.
The incident test replays the demo's outage scenario (tests/browser/service.py) while /incidents
is open and watches the incident arrive without reloading (SSE).
"""

from __future__ import annotations

import feedparser
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session, col, select

from playbooks.models import Draft
from tests.browser.browser import (
    CHART_DRAWN,
    DESKTOP,
    PAINTED,
    PAINTED_PIXELS,
    Watched,
    look_at,
)
from tests.browser.service import WebService
from tests.conftest import wait_until
from tests.integration.web_login import PASSWORD, add_user

# A test may also wait for its module's worker (up to 90 s, see service.py) before its own
# bounded waits (the incident, the drafts: up to 120 s each): more than pytest's default 240 s
# on a loaded machine.
pytestmark = pytest.mark.timeout(420)


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


def painted_pixels(page: Page, selector: str = "canvas") -> int:
    """Pixels with any paint on the first canvas matching ``selector``."""
    return int(page.locator(selector).first.evaluate(PAINTED))


def test_the_outage_arrives_live_is_charted_and_acknowledged(
    web_service: WebService, browser: Browser
):
    context = signed_in(browser, web_service, "rita", "responder")
    watched = Watched.open(context.new_page())
    look_at(watched, f"{web_service.url}/incidents", "incidents-empty")
    page = watched.page
    expect(page.locator("main")).to_contain_text("No incidents yet")

    # The outage plays while the page is open: its incident appears without a reload (SSE).
    page.evaluate("window.notReloaded = true")
    web_service.play_the_outage()
    incident_link = page.locator("main h2 a[href^='/incidents/']").first
    try:
        expect(incident_link).to_be_visible(timeout=120_000)
    except AssertionError as exc:
        raise AssertionError(f"no incident appeared: {exc}{web_service.log_tail()}") from exc
    assert page.evaluate("window.notReloaded === true"), "the page was reloaded"
    href = incident_link.get_attribute("href") or ""
    watched.assert_clean("the incident arriving")
    look_at(watched, f"{web_service.url}/incidents", "incidents")

    look_at(watched, f"{web_service.url}{href}", "incident")
    expect(page.locator("canvas").first).to_be_visible()
    page.wait_for_function(CHART_DRAWN, timeout=15_000)
    assert painted_pixels(page) > PAINTED_PIXELS
    page.get_by_role("button", name="Acknowledge", exact=True).click()
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("cknowledged", timeout=15_000)
    expect(timeline).to_contain_text("rita")
    page.screenshot(path=str(web_service.artefact("incident-acknowledged")), full_page=True)
    watched.assert_clean("acknowledging")
    context.close()


def test_a_draft_approved_in_the_queue_is_sent(web_service: WebService, browser: Browser):
    web_service.play_the_outage()  # once for the module; drafts follow the incident
    context = signed_in(browser, web_service, "ana", "approver")
    watched = Watched.open(context.new_page())
    page = watched.page
    page.goto(f"{web_service.url}/approvals")
    approve = page.get_by_role("button", name="Approve", exact=True)
    for _ in range(60):  # the playbook drafts once the incident stops growing (up to ~15 s)
        if approve.count():
            break
        page.wait_for_timeout(2_000)
        page.reload()
    assert approve.count(), "no draft to approve reached /approvals" + web_service.log_tail()
    look_at(watched, f"{web_service.url}/approvals", "approvals")

    email_draft = page.locator("section.draft", has_text="email").first
    title = email_draft.locator("h2").inner_text()
    email_draft.get_by_role("button", name="Approve", exact=True).click()
    page.wait_for_load_state()
    decisions = page.locator("h2:has-text('Latest decisions') + .table-wrap table")
    expect(decisions).to_contain_text("approved")
    expect(decisions).to_contain_text("ana")
    receivers = web_service.demo.receivers
    wait_until(lambda: bool(receivers.received), 60, "the outbox to send the approved email")
    assert any(item.subject == title for item in receivers.received.values()), (
        title,
        [item.subject for item in receivers.received.values()],
    )
    watched.assert_clean("approving")
    context.close()


def test_every_other_page_reads_on_a_phone(web_service: WebService, browser: Browser):
    web_service.play_the_outage()  # once for the module: pages with an incident and drafts

    def first_draft() -> Draft | None:
        with Session(web_service.engine) as session:  # a new read each time
            return session.exec(select(Draft).order_by(col(Draft.id))).first()

    try:
        wait_until(lambda: first_draft() is not None, 120, "the outage's drafts")
    except AssertionError as exc:
        raise AssertionError(f"{exc}{web_service.log_tail()}") from exc
    draft = first_draft()
    assert draft is not None
    context = signed_in(browser, web_service, "adam", "admin")
    watched = Watched.open(context.new_page())
    for name, path in (
        ("overview", "/overview"),
        ("sources", "/sources"),
        ("search", "/search?q=outage"),
        ("admin", "/admin"),
        ("account", "/account"),
        ("labels", "/labels"),
        ("fairness", "/reports/fairness"),
        ("approval", f"/approvals/{draft.id}"),
        ("effect", f"/incidents/{draft.incident_id}/effect"),
    ):
        look_at(watched, f"{web_service.url}{path}", name)
        expect(watched.page.locator("h1").first).to_be_visible()
    watched.page.goto(f"{web_service.url}/overview")
    watched.page.wait_for_function(CHART_DRAWN, timeout=15_000)
    watched.assert_clean("the overview's chart")
    context.close()
