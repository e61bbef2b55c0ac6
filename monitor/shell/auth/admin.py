"""The admin screen (/admin) and its JSON API: users and API tokens, role admin only.

Every action is a plain function of ``monitor.accounts`` (the CLI calls the same) and lands in
the audit log with the admin's name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from faust.web import Request, Response, View
from pydantic import BaseModel, Field, ValidationError

from monitor.accounts import AccountError
from monitor.accounts.tokens import create_token, list_tokens, revoke_token
from monitor.accounts.users import add_user, list_users, remove_user, reset_password, set_role
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.auth.identity import principal
from monitor.shell.ui import page_html
from streams.cleaning import BadJson, parse_json

Model = TypeVar("Model", bound=BaseModel)


class NewUser(BaseModel):
    name: str = Field(max_length=64)
    role: str = Field(max_length=16)
    password: str = Field(max_length=1024)


class NewRole(BaseModel):
    role: str = Field(max_length=16)


class NewPassword(BaseModel):
    password: str = Field(max_length=1024)


class NewToken(BaseModel):
    name: str = Field(max_length=64)
    role: str = Field(max_length=16)


def _actor(request: Request) -> str:
    who = principal(request)
    assert who is not None  # the middleware let only an admin through
    return who.actor


def _user_json(name: str, role: str, created_at: datetime) -> dict[str, Any]:
    return {"name": name, "role": role, "created_at": created_at.isoformat()}


def _error(view: View, message: str, status: int = 400) -> Response:
    return view.json({"error": message}, status=status)


async def _parsed(request: Request, model: type[Model]) -> Model | str:
    """The JSON body as ``model``, or the reason it is not one."""
    try:
        return model.model_validate(parse_json(await request.read()))
    except BadJson as exc:
        return f"body is not valid JSON: {exc}"
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'body'}: {first['msg']}"


async def _run(view: View, change: Callable[[], Any], answer: dict[str, Any]) -> Response:
    try:
        await asyncio.to_thread(change)
    except AccountError as exc:
        return _error(view, str(exc), 409 if "already exists" in str(exc) else 400)
    return view.json(answer)


@page("/api/users", Access.ADMIN)
class Users(View):
    """The users (GET), or a new one (POST {name, role, password})."""

    body_models = {"POST": NewUser}

    async def get(self, request: Request) -> Response:
        users = await asyncio.to_thread(list_users, resources.engine())
        return self.json({"users": [_user_json(u.name, u.role, u.created_at) for u in users]})

    async def post(self, request: Request) -> Response:
        body = await _parsed(request, NewUser)
        if isinstance(body, str):
            return _error(self, body)
        engine, actor, now = resources.engine(), _actor(request), datetime.now(UTC)
        return await _run(
            self,
            lambda: add_user(
                engine, name=body.name, role=body.role, password=body.password, actor=actor, now=now
            ),
            {"added": body.name, "role": body.role},
        )


@page("/api/users/{name}/{action}", Access.ADMIN)
class UserChange(View):
    """POST .../role {role}, .../password {password} (ends their sessions) or .../remove."""

    async def post(self, request: Request, name: str, action: str) -> Response:
        engine, actor, now = resources.engine(), _actor(request), datetime.now(UTC)
        change: Callable[[], object]
        if action == "remove":
            change = lambda: remove_user(engine, name=name, actor=actor, now=now)  # noqa: E731
            return await _run(self, change, {"removed": name})
        if action == "role":
            role = await _parsed(request, NewRole)
            if isinstance(role, str):
                return _error(self, role)
            change = lambda: set_role(engine, name=name, role=role.role, actor=actor, now=now)  # noqa: E731
            return await _run(self, change, {"user": name, "role": role.role})
        if action == "password":
            new = await _parsed(request, NewPassword)
            if isinstance(new, str):
                return _error(self, new)
            change = lambda: reset_password(  # noqa: E731
                engine, name=name, password=new.password, actor=actor, now=now
            )
            return await _run(self, change, {"user": name, "password": "changed"})
        return _error(self, "use /api/users/NAME/role, /password or /remove", 404)


@page("/api/tokens", Access.ADMIN)
class Tokens(View):
    """The API tokens (GET; never the tokens themselves), or a new one (POST {name, role}):
    its only showing."""

    body_models = {"POST": NewToken}

    async def get(self, request: Request) -> Response:
        rows = await asyncio.to_thread(list_tokens, resources.engine())
        return self.json(
            {
                "tokens": [
                    {"name": t.name, "role": t.role, "created_at": t.created_at.isoformat(),
                     "created_by": t.created_by}
                    for t in rows
                ]
            }
        )  # fmt: skip

    async def post(self, request: Request) -> Response:
        body = await _parsed(request, NewToken)
        if isinstance(body, str):
            return _error(self, body)
        engine, actor, now = resources.engine(), _actor(request), datetime.now(UTC)
        try:
            _, token = await asyncio.to_thread(
                create_token, engine, name=body.name, role=body.role, actor=actor, now=now
            )
        except AccountError as exc:
            return _error(self, str(exc), 409 if "already exists" in str(exc) else 400)
        return self.json({"name": body.name, "role": body.role, "token": token}, status=201)


@page("/api/tokens/{name}/revoke", Access.ADMIN)
class TokenRevoke(View):
    """POST: the token stops working at once."""

    async def post(self, request: Request, name: str) -> Response:
        engine, actor, now = resources.engine(), _actor(request), datetime.now(UTC)
        change = lambda: revoke_token(engine, name=name, actor=actor, now=now)  # noqa: E731
        return await _run(self, change, {"revoked": name})


@page("/admin", Access.ADMIN)
class Admin(View):
    """The admin screen: users and tokens, with forms that post back here."""

    async def get(self, request: Request) -> Response:
        return await self._page(request)

    async def post(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        engine, actor, now = resources.engine(), _actor(request), datetime.now(UTC)
        name, role = form.get("name", "").strip(), form.get("role", "")
        action = form.get("action", "")
        try:
            if action == "add_user":
                await asyncio.to_thread(
                    add_user, engine, name=name, role=role, password=form.get("password", ""),
                    actor=actor, now=now,
                )  # fmt: skip
                return await self._page(request, f"User {name} added as {role}.")
            if action == "set_role":
                await asyncio.to_thread(
                    set_role, engine, name=name, role=role, actor=actor, now=now
                )
                return await self._page(request, f"{name} is now {role}.")
            if action == "reset_password":
                await asyncio.to_thread(
                    reset_password, engine, name=name, password=form.get("password", ""),
                    actor=actor, now=now,
                )  # fmt: skip
                return await self._page(
                    request, f"{name}'s password changed; signed out everywhere."
                )
            if action == "remove_user":
                await asyncio.to_thread(remove_user, engine, name=name, actor=actor, now=now)
                return await self._page(request, f"User {name} removed.")
            if action == "create_token":
                _, token = await asyncio.to_thread(
                    create_token, engine, name=name, role=role, actor=actor, now=now
                )
                return await self._page(request, f"Token {name} created as {role}.", token=token)
            if action == "revoke_token":
                await asyncio.to_thread(revoke_token, engine, name=name, actor=actor, now=now)
                return await self._page(request, f"Token {name} revoked.")
        except AccountError as exc:
            return await self._page(request, str(exc), error=True, status=400)
        return await self._page(request, "Unknown action.", error=True, status=400)

    async def _page(
        self, request: Request, message: str = "", *, error: bool = False, token: str = "",
        status: int = 200,
    ) -> Response:  # fmt: skip
        engine = resources.engine()
        users = await asyncio.to_thread(list_users, engine)
        tokens = await asyncio.to_thread(list_tokens, engine)
        return page_html(
            self, request, "admin.html", status=status, active="admin", users=users,
            tokens=tokens, message=message, error=error, new_token=token,
            roles=("viewer", "responder", "approver", "admin"),
        )  # fmt: skip
