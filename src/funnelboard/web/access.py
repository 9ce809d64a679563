"""Who is asking, and may they: sessions, bearer tokens, roles and CSRF, declared per route.

Deny by default (reliability-plan.md G4): every route declares its permission with
``dependencies=[allow(LEVEL)]``; tests/test_web_permissions.py walks every route and fails
when one has no declaration. Levels: ``public`` (login page, static files), ``viewer``,
``analyst`` (imports, targets, snapshots), ``admin`` (users, tokens of others, settings).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from funnelboard.auth import role_allows

SESSION_COOKIE = "fb_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
LEVELS = ("public", "viewer", "analyst", "admin", "server")
#: header carrying the per-start token of ``.server.json`` (the CLI's own commands)
SERVER_TOKEN_HEADER = "x-funnelboard-server-token"
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Identity:
    user_id: int
    email: str
    role: str
    via: str  # session or token
    session_token: str | None = None
    csrf_token: str | None = None
    token_id: int | None = None


class LoginRequired(Exception):
    """No valid session or token: pages redirect to the login form, the API answers 401."""


class Forbidden(Exception):
    """Authenticated, but the role (or token scope) does not allow this."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfFailed(Exception):
    """A form or API call made with a session cookie came without the session's CSRF token."""


def identify(request: Request) -> Identity | None:
    """The caller from ``Authorization: Bearer`` or the session cookie (None: anonymous)."""
    cached = getattr(request.state, "identity", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    store = request.app.state.server.auth
    header = request.headers.get("authorization", "")
    identity: Identity | None = None
    if header.lower().startswith("bearer "):
        found = store.token_identity(header[7:].strip())
        if found is None:
            return None
        identity = Identity(found.user.id, found.user.email, found.role, "token",
                            token_id=found.token_id)
    else:
        token = request.cookies.get(SESSION_COOKIE)
        info = store.session(token) if token else None
        if info is None:
            return None
        identity = Identity(info.user.id, info.user.email, info.role, "session",
                            session_token=token, csrf_token=info.csrf_token)
    request.state.identity = identity
    return identity


class Require:
    """The permission of one route (see the module docstring)."""

    def __init__(self, level: str) -> None:
        if level not in LEVELS:
            raise ValueError(level)
        self.level = level

    async def __call__(self, request: Request) -> Identity | None:
        if self.level == "public":
            return identify(request)
        if self.level == "server":
            expected = getattr(request.app.state, "server_token", None)
            given = request.headers.get(SERVER_TOKEN_HEADER, "")
            if not expected or not hmac.compare_digest(given, expected):
                raise LoginRequired
            return None
        identity = identify(request)
        if identity is None:
            raise LoginRequired
        if not role_allows(identity.role, self.level):
            raise Forbidden(f"This needs the {self.level} role; you are signed in as "
                            f"{identity.role}. Ask an admin if you need more access.")
        if request.method in UNSAFE_METHODS and identity.via == "session":
            await check_csrf(request, identity.csrf_token)
        return identity

    def __repr__(self) -> str:
        return f"allow({self.level!r})"


async def check_csrf(request: Request, expected: str | None) -> None:
    """The session's CSRF token must come back in the header or the form (T18)."""
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form(max_files=1, max_fields=200)
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    if not expected or not submitted or not hmac.compare_digest(submitted, expected):
        raise CsrfFailed


def allow(level: str) -> Any:
    """``dependencies=[allow("viewer")]`` on a route."""
    return Depends(Require(level))


def route_level(dependencies: Any) -> str | None:
    """The declared level among a route's dependencies, or None when it has none."""
    for dep in dependencies or []:
        if isinstance(dep.dependency, Require):
            return dep.dependency.level
    return None
