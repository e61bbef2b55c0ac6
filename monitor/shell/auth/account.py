"""/account: a signed-in user changes their own password (the current one first)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiohttp import web
from faust.web import Request, Response, View
from pydantic import BaseModel, Field

from monitor.accounts import AccountError
from monitor.accounts.users import authenticate, reset_password
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.auth.identity import principal
from monitor.shell.ui import page_html
from streams.cleaning import BadJson, parse_json


class PasswordChange(BaseModel):
    current: str = Field(max_length=1024)
    new: str = Field(max_length=1024)


async def change_own_password(request: Request, current: str, new: str) -> str | None:
    """Why the change is refused, or None once made (every session of the user ends)."""
    who = principal(request)
    if who is None or who.kind != "user":
        return "only a signed-in user has a password to change (tokens have none)"
    engine = resources.engine()
    if await asyncio.to_thread(authenticate, engine, who.name, current) is None:
        return "the current password is wrong"
    try:
        await asyncio.to_thread(
            reset_password, engine, name=who.name, password=new, actor=who.actor,
            now=datetime.now(UTC),
        )  # fmt: skip
    except AccountError as exc:
        return str(exc)
    return None


@page("/account", Access.VIEWER)
class Account(View):
    """Your account: change your password (then sign in again)."""

    async def get(self, request: Request) -> Response:
        return page_html(self, request, "account.html", active="account", message="")

    async def post(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        if form.get("new", "") != form.get("again", ""):
            problem: str | None = "the two new passwords differ"
        else:
            problem = await change_own_password(
                request, form.get("current", ""), form.get("new", "")
            )
        if problem:
            return page_html(
                self, request, "account.html", status=400, active="account", message=problem
            )
        raise web.HTTPSeeOther("/login")


@page("/api/session/password", Access.VIEWER)
class OwnPassword(View):
    """Change the signed-in user's password (POST {current, new}); their sessions end."""

    body_models = {"POST": PasswordChange}

    async def post(self, request: Request) -> Response:
        try:
            body = PasswordChange.model_validate(parse_json(await request.read()))
        except (BadJson, ValueError) as exc:
            return self.json({"error": f'send {{"current": …, "new": …}}: {exc}'[:300]}, status=400)
        problem = await change_own_password(request, body.current, body.new)
        if problem:
            return self.json({"error": problem}, status=400)
        return self.json({"password": "changed", "signed_out": True})
