"""The FastAPI application: middleware, error handling, and the routers of pages and API.

``create_app(state)`` builds it around a :class:`~funnelboard.web.state.ServerState`; the
``serve`` command (funnelboard.web.server) runs it with uvicorn and one worker.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from funnelboard.errors import FunnelboardError, UsageError, WorkspaceError
from funnelboard.web import render
from funnelboard.web.access import CsrfFailed, Forbidden, LoginRequired
from funnelboard.web.middleware import BodyLimit, SecurityHeaders
from funnelboard.web.state import ServerState

log = logging.getLogger("funnelboard.web")

#: paths whose request bodies may be uploads, and so get the upload size limit
UPLOAD_PATHS = ("/data/upload", "/api/v1/imports")


def wants_json(request: Request) -> bool:
    """API paths always answer JSON; pages answer HTML unless only JSON is accepted."""
    if request.url.path.startswith(("/api/v1/", "/internal/")):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _error(request: Request, status: int, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    return render.page(request, "error.html", status_code=status, status=status,
                       message=message)


def create_app(state: ServerState) -> FastAPI:
    from funnelboard.web import (
        admin_routes,
        api,
        auth_routes,
        cli_bridge,
        data_routes,
        pages,
        plan_routes,
        records,
    )

    app = FastAPI(title="funnelboard", version="1", docs_url=None, redoc_url=None,
                  openapi_url=None,
                  description="The funnelboard REST API: metrics, the funnel, drill-down "
                              "records, imports, targets, snapshots and the plan. Send "
                              "`Authorization: Bearer <token>` (create one with `funnelboard "
                              "tokens create`).")
    app.state.server = state
    app.state.nav = pages.nav()
    server = state.settings.server

    def upload_limit(path: str) -> int | None:
        if path.startswith(UPLOAD_PATHS):
            return max(server.upload_max_mb, server.upload_max_xlsx_mb) * 1024 * 1024
        return None

    app.add_middleware(BodyLimit, upload_limit=upload_limit)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": "Sign in first: send a valid API token or session."},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + render._query({"next": target}), status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return _error(request, 403, exc.message)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return _error(request, 403, "The form was out of date or came from another site. "
                                    "Reload the page and try again.")

    @app.exception_handler(UsageError)
    async def _usage(request: Request, exc: UsageError) -> Response:
        return _error(request, 422, exc.message)

    @app.exception_handler(WorkspaceError)
    async def _workspace(request: Request, exc: WorkspaceError) -> Response:
        return _error(request, 503, exc.message)

    @app.exception_handler(FunnelboardError)
    async def _funnelboard(request: Request, exc: FunnelboardError) -> Response:
        return _error(request, 422, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ())[1:]) or "request"
            parts.append(f"{where}: {err.get('msg', 'invalid value')}")
        return _error(request, 422, "The request is not valid: " + "; ".join(parts) + ".")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "The request failed."
        if exc.status_code == 404 and message == "Not Found":
            message = "There is no such page."
        return _error(request, exc.status_code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return _error(request, 500, "Something went wrong on the server; nothing was changed. "
                                    "The server log has the details.")

    for module in (auth_routes, admin_routes, pages, records, data_routes, plan_routes, api,
                   cli_bridge):
        app.include_router(module.router)
    _bearer_security(app)
    return app


def _bearer_security(app: FastAPI) -> None:
    """Describe the bearer-token scheme in the OpenAPI document (every operation needs it)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "An API token from `funnelboard tokens create` or "
                                          "the account page."}}
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def route_table(app: FastAPI) -> list[dict[str, Any]]:
    """Every route with its methods and declared level (for the permission matrix).

    FastAPI includes routers lazily, so the routes are collected from the routers with the
    prefixes and dependencies they were included with."""
    from funnelboard.web.access import route_level

    return [{"path": path, "methods": sorted(methods), "level": route_level(deps),
             "name": name} for path, methods, deps, name in _walk(app.routes, "", [])]


def _walk(routes: Any, prefix: str, deps: list[Any]) -> Any:
    from fastapi.routing import APIRoute

    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route.methods or set(), [*deps, *route.dependencies], \
                route.name
            continue
        router = getattr(route, "original_router", None)
        context = getattr(route, "include_context", None)
        if router is not None and context is not None:
            yield from _walk(router.routes, prefix + context.prefix,
                             [*deps, *context.dependencies])
