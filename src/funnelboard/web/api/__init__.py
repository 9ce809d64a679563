"""The REST API under /api/v1 (OpenAPI at /api/v1/openapi.json)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from funnelboard.web.access import allow
from funnelboard.web.api import metrics

router = APIRouter(prefix="/api/v1")
router.include_router(metrics.router)
for _name in ("imports", "targets", "snapshots", "plan"):
    try:
        _module = __import__(f"funnelboard.web.api.{_name}", fromlist=["router"])
    except ModuleNotFoundError:  # pragma: no cover - while a part is being written
        continue
    router.include_router(_module.router)


@router.get("/openapi.json", include_in_schema=False, dependencies=[allow("viewer")])
def openapi(request: Request) -> Response:
    """The OpenAPI 3 description of this API."""
    return JSONResponse(request.app.openapi())
