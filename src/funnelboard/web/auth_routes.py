"""Signing in and out, the one-time admin link, and the signed-in user's own account."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from funnelboard.auth import LoginRefused
from funnelboard.errors import FunnelboardError
from funnelboard.web import render
from funnelboard.web.access import SESSION_COOKIE, Identity, allow, identify
from funnelboard.web.state import ServerState

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "fb_login_csrf"


def server(request: Request) -> ServerState:
    return request.app.state.server  # type: ignore[no-any-return]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def safe_next(target: str | None) -> str:
    """Only a path on this site (T20): ``/funnel?x=1`` yes; ``//evil``, ``https://…`` no."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ch in target for ch in ("\r", "\n", "\\")):
        return "/"
    return target


def start_session(request: Request, user_id: int, target: str) -> Response:
    """A new session (rotated: the old one, if any, ends) and its cookie."""
    state = server(request)
    old = request.cookies.get(SESSION_COOKIE)
    new = state.auth.create_session(user_id, replaces=old)
    response = RedirectResponse(safe_next(target), status_code=303)
    response.set_cookie(SESSION_COOKIE, new.token, max_age=new.max_age_seconds, httponly=True,
                        samesite="lax", secure=state.secure_cookies, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.get("/login", dependencies=[allow("public")])
def login_form(request: Request, next: str = "/", token: str | None = None) -> Response:
    state = server(request)
    if token:
        user = state.auth.redeem_login_link(token, ip=client_ip(request))
        if user is None:
            return render.page(request, "login.html", status_code=401, next=safe_next(next),
                               csrf="", error="This sign-in link was already used or has "
                               "expired. Ask for a new one (restart 'funnelboard serve' or "
                               "run 'funnelboard users link').")
        return start_session(request, user.id, next)
    csrf = secrets.token_urlsafe(24)
    response = render.page(request, "login.html", next=safe_next(next), csrf=csrf, error=None)
    response.set_cookie(LOGIN_CSRF_COOKIE, csrf, max_age=3600, httponly=True, samesite="strict",
                        secure=state.secure_cookies, path="/login")
    return response


@router.post("/login", dependencies=[allow("public")])
def login(request: Request, email: Annotated[str, Form(max_length=320)] = "",
          password: Annotated[str, Form(max_length=4096)] = "",
          csrf_token: Annotated[str, Form(max_length=200)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    state = server(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return render.page(request, "login.html", status_code=403, next=safe_next(next),
                           csrf="", error="The sign-in form was out of date. Reload the page "
                           "and try again.")
    try:
        user = state.auth.authenticate(email, password, client_ip(request))
    except LoginRefused as exc:
        status = 429 if exc.retry_after else 401
        response = render.page(request, "login.html", status_code=status, next=safe_next(next),
                               csrf=csrf_token, error=exc.message)
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return start_session(request, user.id, next)


@router.post("/logout", dependencies=[allow("viewer")])
def logout(request: Request) -> Response:
    state = server(request)
    identity = identify(request)
    if identity and identity.session_token:
        state.auth.end_session(identity.session_token)
        state.auth.audit(identity.email, "logout", ip=client_ip(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _me(request: Request) -> Identity:
    identity = identify(request)
    assert identity is not None  # the route's permission already required a sign-in
    return identity


@router.get("/account", dependencies=[allow("viewer")])
def account(request: Request, created: str | None = None, message: str | None = None) -> Response:
    state = server(request)
    me = _me(request)
    tokens = state.auth.list_tokens(me.user_id)
    return render.page(request, "account.html", me=me, tokens=tokens, message=message,
                       new_token=None, token_days=state.settings.server.token_default_days)


@router.post("/account/password", dependencies=[allow("viewer")])
def change_password(request: Request, current: Annotated[str, Form(max_length=4096)] = "",
                    new: Annotated[str, Form(max_length=4096)] = "") -> Response:
    state = server(request)
    me = _me(request)
    user = state.auth.get_user(me.user_id)
    try:
        if user is not None and user.has_password:
            state.auth.authenticate(me.email, current, client_ip(request))
        state.auth.set_password(me.user_id, new, actor=me.email)
    except LoginRefused as exc:
        return _account_error(request, me, exc.message)
    except FunnelboardError as exc:
        return _account_error(request, me, exc.message)
    # every session ended with the change; sign this browser in again with a fresh one
    return start_session(request, me.user_id, "/account?message=Password+changed.")


def _account_error(request: Request, me: Identity, message: str) -> Response:
    state = server(request)
    return render.page(request, "account.html", status_code=422, me=me,
                       tokens=state.auth.list_tokens(me.user_id), message=message,
                       new_token=None, token_days=state.settings.server.token_default_days)


@router.post("/account/tokens", dependencies=[allow("viewer")])
def create_token(request: Request, name: Annotated[str, Form(max_length=100)] = "",
                 scope: Annotated[str, Form(max_length=10)] = "read",
                 days: Annotated[int | None, Form(ge=1, le=3650)] = None) -> Response:
    state = server(request)
    me = _me(request)
    from funnelboard.auth import SCOPE_ROLE, role_allows

    try:
        if scope not in SCOPE_ROLE:
            raise FunnelboardError(f"The scope '{scope[:20]}' is not one of read, write, admin.")
        if not role_allows(me.role, SCOPE_ROLE[scope]):
            raise FunnelboardError(f"Your role ({me.role}) cannot create a {scope} token.")
        plaintext, _info = state.auth.create_token(me.user_id, name or "web", scope, days,
                                                   actor=me.email)
    except FunnelboardError as exc:
        return _account_error(request, me, exc.message)
    return render.page(request, "account.html", me=me, tokens=state.auth.list_tokens(me.user_id),
                       message=None, new_token=plaintext,
                       token_days=state.settings.server.token_default_days)


@router.post("/account/tokens/{token_id}/revoke", dependencies=[allow("viewer")])
def revoke_token(request: Request, token_id: int) -> Response:
    state = server(request)
    me = _me(request)
    mine = {t.id for t in state.auth.list_tokens(me.user_id)}
    if token_id not in mine:
        return render.page(request, "error.html", status_code=404, status=404,
                           message="There is no such token.")
    state.auth.revoke_token(token_id, actor=me.email)
    return RedirectResponse("/account?message=Token+revoked.", status_code=303)
