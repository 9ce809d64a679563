"""Admin pages: users and roles, and the audit log (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from funnelboard.auth import ROLES
from funnelboard.errors import FunnelboardError
from funnelboard.web import render
from funnelboard.web.access import Identity, allow, identify
from funnelboard.web.state import ServerState

router = APIRouter(include_in_schema=False)


def server(request: Request) -> ServerState:
    return request.app.state.server  # type: ignore[no-any-return]


def _me(request: Request) -> Identity:
    identity = identify(request)
    assert identity is not None
    return identity


def _users_page(request: Request, message: str | None = None, error: str | None = None,
                status: int = 200) -> Response:
    state = server(request)
    return render.page(request, "admin_users.html", status_code=status,
                       users=state.auth.list_users(), tokens=state.auth.list_tokens(),
                       roles=ROLES, message=message, error=error)


@router.get("/admin/users", dependencies=[allow("admin")])
def users(request: Request, message: Annotated[str | None, Query(max_length=200)] = None
          ) -> Response:
    return _users_page(request, message=message)


@router.post("/admin/users", dependencies=[allow("admin")])
def add_user(request: Request, email: Annotated[str, Form(max_length=320)] = "",
             role: Annotated[str, Form(max_length=20)] = "viewer",
             password: Annotated[str, Form(max_length=4096)] = "") -> Response:
    state = server(request)
    try:
        state.auth.add_user(email, password or None, role, actor=_me(request).email)
    except FunnelboardError as exc:
        return _users_page(request, error=exc.message, status=422)
    return RedirectResponse("/admin/users?message=User+added.", status_code=303)


@router.post("/admin/users/{user_id}/role", dependencies=[allow("admin")])
def set_role(request: Request, user_id: int,
             role: Annotated[str, Form(max_length=20)] = "") -> Response:
    state = server(request)
    try:
        state.auth.set_role(user_id, role, actor=_me(request).email)
    except FunnelboardError as exc:
        return _users_page(request, error=exc.message, status=422)
    return RedirectResponse("/admin/users?message=Role+changed.", status_code=303)


@router.post("/admin/users/{user_id}/disable", dependencies=[allow("admin")])
def disable(request: Request, user_id: int) -> Response:
    return _set_disabled(request, user_id, True)


@router.post("/admin/users/{user_id}/enable", dependencies=[allow("admin")])
def enable(request: Request, user_id: int) -> Response:
    return _set_disabled(request, user_id, False)


def _set_disabled(request: Request, user_id: int, disabled: bool) -> Response:
    state = server(request)
    try:
        state.auth.set_disabled(user_id, disabled, actor=_me(request).email)
    except FunnelboardError as exc:
        return _users_page(request, error=exc.message, status=422)
    word = "disabled" if disabled else "enabled"
    return RedirectResponse(f"/admin/users?message=User+{word}.", status_code=303)


@router.post("/admin/tokens/{token_id}/revoke", dependencies=[allow("admin")])
def revoke(request: Request, token_id: int) -> Response:
    state = server(request)
    try:
        state.auth.revoke_token(token_id, actor=_me(request).email)
    except FunnelboardError as exc:
        return _users_page(request, error=exc.message, status=404)
    return RedirectResponse("/admin/users?message=Token+revoked.", status_code=303)


@router.get("/admin/audit", dependencies=[allow("admin")])
def audit(request: Request, action: Annotated[str | None, Query(max_length=50)] = None,
          limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> Response:
    rows = server(request).auth.audit_rows(limit=limit, action=action or None)
    return render.page(request, "admin_audit.html", rows=rows, action=action)


@router.get("/api/docs", dependencies=[allow("viewer")])
def api_docs(request: Request) -> Response:
    """The API reference, rendered from the OpenAPI document (no external scripts)."""
    schema = request.app.openapi()
    operations = []
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            operations.append({"id": op.get("operationId", ""), "method": method.upper(),
                               "path": path, "summary": op.get("summary", ""),
                               "description": op.get("description", ""),
                               "params": op.get("parameters", [])})
    return render.page(request, "api_docs.html", operations=operations)
