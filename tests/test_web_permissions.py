"""Deny by default: every route declares who may call it, and every role gets exactly that
(reliability-plan.md G4, T08).

``LEVELS`` below is the declared table. A route added without ``allow(...)``, or with a level
that differs from this table, fails the suite; then every route is called as anonymous, each
role with a session, and each token scope, and must answer 401 (API) or a redirect to the
sign-in page (pages) below its level, 403 for a role or scope too low, and neither above it.
Requests carry an invalid ``as_of`` so allowed calls fail fast with 422 instead of computing
pages; authorisation runs before parameters are read, so the status still says who got in.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from funnelboard.web.app import route_table
from web_support import Web, csrf_of

LEVELS: dict[tuple[str, str], str] = {
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("GET", "/static/{name}"): "public",
    ("POST", "/logout"): "viewer",
    ("GET", "/account"): "viewer",
    ("POST", "/account/password"): "viewer",
    ("POST", "/account/tokens"): "viewer",
    ("POST", "/account/tokens/{token_id}/revoke"): "viewer",
    ("GET", "/admin/users"): "admin",
    ("POST", "/admin/users"): "admin",
    ("POST", "/admin/users/{user_id}/role"): "admin",
    ("POST", "/admin/users/{user_id}/disable"): "admin",
    ("POST", "/admin/users/{user_id}/enable"): "admin",
    ("POST", "/admin/tokens/{token_id}/revoke"): "admin",
    ("GET", "/admin/audit"): "admin",
    ("GET", "/api/docs"): "viewer",
    ("GET", "/"): "viewer",
    ("GET", "/funnel"): "viewer",
    ("GET", "/channels"): "viewer",
    ("GET", "/web"): "viewer",
    ("GET", "/pipeline"): "viewer",
    ("GET", "/revenue"): "viewer",
    ("GET", "/community"): "viewer",
    ("GET", "/pages/{page_key}/sections/{section_id}.{fmt}"): "viewer",
    ("GET", "/records/{key}"): "viewer",
    ("GET", "/api/v1/metrics"): "viewer",
    ("GET", "/api/v1/metrics/{key}"): "viewer",
    ("GET", "/api/v1/funnel"): "viewer",
    ("GET", "/api/v1/records/{key}"): "viewer",
    ("GET", "/api/v1/openapi.json"): "viewer",
}
#: the data, plan, imports, targets, snapshots and plan API routes
MORE_LEVELS: dict[tuple[str, str], str] = {
    ("GET", "/data"): "viewer",
    ("POST", "/data/upload"): "analyst",
    ("GET", "/data/jobs/{job_id}"): "viewer",
    ("GET", "/data/imports/{import_id}"): "viewer",
    ("GET", "/data/imports/{import_id}/quarantine.csv"): "viewer",
    ("GET", "/plan"): "viewer",
    ("POST", "/plan/targets"): "analyst",
    ("POST", "/api/v1/imports"): "analyst",
    ("GET", "/api/v1/imports"): "viewer",
    ("GET", "/api/v1/imports/presets"): "viewer",
    ("GET", "/api/v1/imports/jobs/{job_id}"): "viewer",
    ("GET", "/api/v1/imports/{import_id}/issues"): "viewer",
    ("GET", "/api/v1/targets"): "viewer",
    ("PUT", "/api/v1/targets"): "analyst",
    ("GET", "/api/v1/snapshots"): "viewer",
    ("POST", "/api/v1/snapshots"): "analyst",
    ("GET", "/api/v1/snapshots/jobs/{job_id}"): "viewer",
    ("GET", "/api/v1/snapshots/{snapshot_id}"): "viewer",
    ("GET", "/api/v1/snapshots/{snapshot_id}/diff"): "viewer",
    ("GET", "/api/v1/plan"): "viewer",
    ("POST", "/api/v1/plan/targets"): "analyst",
    ("GET", "/api/v1/plan/report"): "viewer",
    ("POST", "/internal/cli"): "server",
}
#: "server" is the per-start token of .server.json, which no user or API token holds
RANK = {"public": 0, "viewer": 1, "analyst": 2, "admin": 3, "server": 99}
CALLERS = {"anonymous": 0, "viewer": 1, "analyst": 2, "admin": 3, "token:read": 1,
           "token:write": 2, "token:admin": 3}
PATH_VALUES = {"key": "mqls", "page_key": "funnel", "section_id": "cohorts", "fmt": "csv",
               "name": "app.css", "user_id": "999999", "token_id": "999999",
               "import_id": "999999", "job_id": "999999", "snapshot_id": "999999",
               "id": "999999"}


def declared(web: Web) -> dict[tuple[str, str], str | None]:
    return {(m, r["path"]): r["level"] for r in route_table(web.app)  # type: ignore[arg-type]
            for m in r["methods"] if m != "HEAD"}


def test_T08_every_route_declares_its_level_and_matches_the_table(web_module: Web) -> None:
    routes = declared(web_module)
    assert len(routes) >= 50  # the walk found the routers' routes
    missing = sorted(k for k, v in routes.items() if v is None)
    assert not missing, f"routes without allow(...): {missing}"
    expected = {**LEVELS, **MORE_LEVELS}
    assert routes == expected


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "1"), path)


def _client(web: Web, caller: str) -> tuple[Any, dict[str, str]]:
    if caller == "anonymous":
        return web.anonymous(), {}
    if caller.startswith("token:"):
        scope = caller.split(":")[1]
        role = {"read": "viewer", "write": "analyst", "admin": "admin"}[scope]
        return web.bearer(role, scope), {}
    client = web.login(caller)
    return client, {"x-csrf-token": csrf_of(client)}


@pytest.mark.parametrize("caller", list(CALLERS))
def test_T08_role_matrix(web: Web, caller: str) -> None:
    """Each route as ``caller``: below the level refused, at or above it let in."""
    failures = []
    for (method, path), level in sorted(declared(web).items()):
        client, headers = _client(web, caller)
        url = _url(path)
        kwargs: dict[str, Any] = {"params": {"as_of": "not-a-date", "grain": "never"},
                                  "headers": headers}
        if method != "GET":
            kwargs["data"] = {} if not path.startswith("/api/") else None
        response = client.request(method, url, **kwargs)
        status = response.status_code
        allowed = CALLERS[caller] >= RANK[str(level)]
        if level == "public":
            ok = status < 500
        elif allowed:
            ok = status not in (401, 403) and status < 500 and not (
                status == 303 and response.headers.get("location", "").startswith("/login?"))
        elif caller == "anonymous":
            ok = status == 401 if path.startswith(("/api/v1/", "/internal/")) \
                else (status == 303 and response.headers["location"].startswith("/login?"))
        elif level == "server":
            ok = status == 401
        else:
            ok = status == 403
        if not ok:
            failures.append(f"{method} {path} as {caller}: {status}")
    assert not failures, "\n".join(failures)
