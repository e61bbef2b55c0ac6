"""The approvals pages: /approvals (the queue), /approvals/ID (one draft: preview, recipients,
why, hash, diff; approve, reject or edit) and /approvals/ID/preview (an email's HTML as the
customer gets it, served under its own sandboxing policy so the page's strict CSP holds).

The logic is `playbooks.approval_review` (what is shown) and `playbooks.approvals` (the
decisions), the same functions as ``GET /api/drafts/ID`` and ``POST /api/drafts/ID/ACTION``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from faust.web import Request, Response, View

from monitor.shell import resources
from monitor.shell.access import Access, page, role_allows
from monitor.shell.auth import principal
from monitor.shell.playbook_resources import playbook_setup, reviewed
from monitor.shell.ui import page_html, render
from playbooks.approval_review import review_queue
from playbooks.approvals import approve, edit, reject
from playbooks.copy_diff import PARTS
from playbooks.service import DraftError, utcnow
from streams.cleaning import parse_id

DONE = {
    "approve": "Approved: the outbox sends it now, within consent and frequency caps.",
    "reject": "Rejected: nothing of it will be sent.",
    "edit": "Saved. The edited copy needs an approval before anything is sent.",
    "unchanged": "Nothing changed, so nothing was saved.",
}
# The HTML of an email, shown inside the page: no scripts, no forms, no requests anywhere;
# only the styles the email carries itself.
PREVIEW_POLICY = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'"
)


def _can_decide(request: Request) -> bool:
    who = principal(request)
    return who is not None and role_allows(who.role, Access.APPROVER)


@page("/approvals", Access.VIEWER)
class ApprovalQueue(View):
    """The drafts awaiting approval, each as its recipients would get it, and the latest
    decisions."""

    async def get(self, request: Request) -> Response:
        queue = await asyncio.to_thread(
            review_queue,
            resources.engine(),
            setup=playbook_setup(),
            pseudonymiser=resources.privacy().pseudonymiser,
            now=utcnow(),
        )
        return page_html(
            self,
            request,
            "approvals.html",
            active="approvals",
            queue=queue,
            can_decide=_can_decide(request),
            done=DONE.get(request.query.get("done", ""), ""),
        )


@page("/approvals/{draft_id}", {"GET": Access.VIEWER, "POST": Access.APPROVER})
class ApprovalPage(View):
    """One draft; POST ``action`` approve (``content_hash``), reject (``reason``) or edit
    (``subject``, ``text``, ``html``) from its forms."""

    async def get(self, request: Request, draft_id: str) -> Response:
        done = DONE.get(request.query.get("done", ""), "")
        return await self._show(request, draft_id, done=done)

    async def post(self, request: Request, draft_id: str) -> Response:
        number = parse_id(draft_id)
        if number is None:
            return await self._show(request, draft_id)
        form = await request.post()
        fields = {key: _field(form, key) for key in ("action", "content_hash", "reason")}
        who = principal(request)
        assert who is not None, "the middleware lets only approvers post"
        actor = f"web:{who.name}"
        engine, setup, now = resources.engine(), playbook_setup(), utcnow()
        action = fields["action"]
        try:
            if action == "approve":
                await asyncio.to_thread(
                    approve,
                    engine,
                    setup=setup,
                    draft_id=number,
                    actor=actor,
                    expected_hash=fields["content_hash"] or None,
                    now=now,
                )
            elif action == "reject":
                await asyncio.to_thread(
                    reject, engine, draft_id=number, actor=actor, reason=fields["reason"], now=now
                )
            elif action == "edit":
                copy = {part: _field(form, part).replace("\r\n", "\n") for part in PARTS}
                action = await self._edit(number, copy, actor=actor)
            else:
                return await self._show(
                    request, draft_id, error="Choose approve, reject or edit.", status=400
                )
        except DraftError as exc:
            kept = {part: _field(form, part) for part in PARTS} if action == "edit" else None
            return await self._show(
                request, draft_id, error=str(exc), status=exc.status, typed=kept
            )
        # Post/redirect/get: reloading the page does not decide twice.
        where = "/approvals" if action in ("approve", "reject") else f"/approvals/{number}"
        return self.text("", status=303, headers={"Location": f"{where}?done={action}"})

    async def _edit(self, number: int, copy: dict[str, str], *, actor: str) -> str:
        """Save the edited copy unless it is the same as now (an unchanged save would take
        back an approval for nothing); returns what was done."""
        review = await reviewed(number)
        draft = review.draft
        if (draft.subject, draft.body_text, draft.body_html) == (
            copy["subject"],
            copy["text"],
            copy["html"],
        ):
            return "unchanged"
        await asyncio.to_thread(
            edit,
            resources.engine(),
            setup=playbook_setup(),
            draft_id=number,
            actor=actor,
            subject=copy["subject"],
            text=copy["text"],
            html=copy["html"],
            now=utcnow(),
        )
        return "edit"

    async def _show(
        self,
        request: Request,
        draft_id: str,
        *,
        done: str = "",
        error: str = "",
        status: int = 200,
        typed: dict[str, str] | None = None,
    ) -> Response:
        number = parse_id(draft_id)
        try:
            if number is None:
                raise DraftError(f"no draft {draft_id[:40]}", 404)
            review = await reviewed(number)
        except DraftError as exc:
            page = render("error.html", request, status=exc.status, message=str(exc))
            return self.html(page, status=exc.status)
        draft = review.draft
        context: dict[str, Any] = {
            "active": "approvals",
            "review": review,
            "can_decide": _can_decide(request) and draft.status != "rejected",
            "done": done,
            "error": error,
            "copy": typed
            or {"subject": draft.subject, "text": draft.body_text, "html": draft.body_html},
        }
        return page_html(self, request, "approval.html", status=status, **context)


@page("/approvals/{draft_id}/preview", Access.VIEWER)
class ApprovalPreview(View):
    """An email draft's HTML as its first recipient would get it, sandboxed by its own CSP
    (the approval page shows it in an iframe)."""

    async def get(self, request: Request, draft_id: str) -> Response:
        number = parse_id(draft_id)
        if number is None:
            return self.text(f"no draft {draft_id[:40]}", status=404)
        try:
            review = await reviewed(number)
        except DraftError as exc:
            return self.text(str(exc), status=exc.status)
        body = review.preview.html or "<p>(this message has no HTML part)</p>"
        return self.html(
            body,
            headers={
                "Content-Security-Policy": PREVIEW_POLICY,
                "X-Frame-Options": "SAMEORIGIN",
                "Cache-Control": "no-store",
            },
        )


def _field(form: Any, key: str) -> str:
    value = form.get(key, "")
    return value if isinstance(value, str) else ""
