"""``/api/v1/targets``: list the stored targets and set one (``funnelboard targets``).

Setting a target writes through the importer (the ledger records it as ``targets set ...``),
so it runs on the server's one writer; the request waits for it and answers with the row.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from funnelboard import services
from funnelboard.errors import UsageError
from funnelboard.metrics import target_store
from funnelboard.web.access import allow
from funnelboard.web.api.imports import BAD_BODY, client_ip, me, server, write_now
from funnelboard.web.api.metrics import ERRORS, ErrorOut
from funnelboard.workspace import Workspace

router = APIRouter(tags=["targets"])


class _TargetFields(BaseModel):
    """A target's identity and value, shared by what is listed and what is written."""

    metric: str
    period: str
    period_start: str
    grain: str
    dimension: str
    dimension_value: str
    target: float
    kind: str


class TargetOut(_TargetFields):
    """One stored target: a metric's goal for a month, quarter or fiscal year, in total or
    for one dimension value."""

    import_id: int | None
    source: str | None


class TargetsOut(BaseModel):
    targets: list[TargetOut]
    #: targets no metric will show (a metric key this workspace does not know)
    notes: list[str]


class TargetIn(BaseModel):
    """A target to write; a row with the same metric, period and dimension value is
    replaced."""

    metric: str = Field(max_length=100, description="A metric key, e.g. leads.")
    period: str = Field(max_length=20, description="2026-07, 2026-Q3 or FY2026 (fiscal years "
                                                   "are named by the year they end in).")
    value: Annotated[str, Field(max_length=50)] | float = Field(
        description="A number in the metric's unit; ratios as 0.25 or 25%.")
    dimension: str | None = Field(default=None, max_length=200,
                                  description="DIMENSION=VALUE for a per-value target, e.g. "
                                              "channel=webinar.")
    kind: str | None = Field(default=None, max_length=20,
                             description="okr, quota or plan (default: okr, or the kind of "
                                         "the row replaced).")


class TargetSetOut(_TargetFields):
    """What was written (``action``: inserted, replaced or unchanged)."""

    action: str
    previous_target: float | None
    previous_kind: str | None
    import_id: int | None
    source: str


def reads(request: Request) -> Workspace:
    """The server's read view where a service expects a workspace: it answers the same reads
    (settings, connection, engine, metric, query) on its own snapshot cursor."""
    return server(request).reader  # type: ignore[return-value]


@router.get("/targets", dependencies=[allow("viewer")], response_model=TargetsOut,
            responses=ERRORS)
def list_targets(request: Request,
                 metric: Annotated[str | None, Query(max_length=100)] = None) -> TargetsOut:
    """The stored targets (of one metric key), as ``funnelboard targets list``; for a key
    this workspace does not know, none and a note saying so."""
    state = server(request)
    try:
        with state.reader.snapshot():
            rows, notes = services.list_targets(reads(request), metric or None)
    except UsageError as exc:  # a metric key this workspace does not know: no targets
        rows, notes = [], [exc.message]
    return TargetsOut(targets=[TargetOut.model_validate(r) for r in rows], notes=notes)


@router.put("/targets", dependencies=[allow("analyst")], response_model=TargetSetOut,
            responses={**ERRORS, **BAD_BODY, 503: {"model": ErrorOut, "description": "The "
                                                   "writer is busy; the change is queued."}})
def set_target(request: Request, body: TargetIn) -> TargetSetOut:
    """Write (or replace) one target, as ``funnelboard targets set``."""
    state = server(request)
    value = body.value if isinstance(body.value, str) else repr(body.value)
    dimension = body.dimension or None
    # every argument is checked here, so bad input is a 422 before anything is queued
    target_store.make_target(state.settings, body.metric, body.period, value, dimension,
                             body.kind or None)

    def work() -> dict[str, Any]:
        return services.set_target(state.workspace, body.metric, body.period, value,
                                   [dimension] if dimension else None, body.kind or None)

    result = write_now(request, "targets", f"set target {body.metric} {body.period}", work)
    state.auth.audit(me(request).email, "target_set", object=result["metric"],
                     ip=client_ip(request), detail=result["source"][:500])
    return TargetSetOut.model_validate(result)
