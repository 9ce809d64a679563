"""``/api/v1/snapshots``: the frozen funnels (``funnelboard snapshot``): list, show, take one
(a queued job) and diff one against another or against now."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from funnelboard import services
from funnelboard.metrics import snapshots
from funnelboard.web.access import allow
from funnelboard.web.api.imports import (
    BAD_BODY,
    MAX_ID,
    NOT_FOUND,
    JobOut,
    client_ip,
    job_fields,
    me,
    server,
    visible_job,
)
from funnelboard.web.api.metrics import ERRORS
from funnelboard.web.api.targets import reads
from funnelboard.web.jobs import Job

router = APIRouter(tags=["snapshots"])
SnapshotId = Annotated[int, Path(ge=1, le=MAX_ID)]


class SnapshotHeaderOut(BaseModel):
    snapshot_id: int
    taken_at: str
    label: str | None
    as_of: str
    settings_version: str | None
    #: result rows frozen in the payload
    rows: int


class SnapshotOut(SnapshotHeaderOut):
    """A snapshot with its payload: the cohort funnel in total and by channel, and the
    ``snapshots.metrics`` results, each as ``GET /api/v1/metrics/{key}`` returns them."""

    payload: dict[str, Any]


class SnapshotIn(BaseModel):
    label: str | None = Field(default=None, max_length=200)
    as_of: dt.date | None = Field(default=None, description="Freeze the funnel as of this "
                                                            "day (default: today).")


class SnapshotJobOut(JobOut):
    result: SnapshotHeaderOut | None


class CellOut(BaseModel):
    """One funnel cell that moved: the cohort ``period``, the ``stage``, old and new counts."""

    period: str
    stage: str
    old: int
    new: int
    delta: int


class ChannelCellOut(CellOut):
    channel: str | None


class DiffOut(BaseModel):
    """Which cohort cells moved between a snapshot and another one (or now)."""

    model_config = ConfigDict(populate_by_name=True)

    from_snapshot: SnapshotHeaderOut
    from_: str = Field(alias="from")
    to: str
    from_as_of: str
    to_as_of: str
    summary: str
    cells: list[CellOut]
    channel_cells: list[ChannelCellOut]
    new_periods: list[str]
    notes: list[str]


def _exists(request: Request, snapshot_id: int) -> None:
    state = server(request)
    with state.reader.snapshot():
        known = snapshots.ids(state.reader.connection())
    if snapshot_id not in known:
        raise HTTPException(404, f"There is no snapshot {snapshot_id}.")


def snapshot_job_out(job: Job) -> SnapshotJobOut:
    result = job.result if isinstance(job.result, dict) else None
    return SnapshotJobOut.model_validate({**job_fields(job), "result": result})


@router.get("/snapshots", dependencies=[allow("viewer")],
            response_model=list[SnapshotHeaderOut], responses=ERRORS)
def list_snapshots(request: Request) -> list[SnapshotHeaderOut]:
    """Every snapshot's header, oldest first."""
    state = server(request)
    with state.reader.snapshot():
        rows = services.list_snapshots(reads(request))
    return [SnapshotHeaderOut.model_validate(r) for r in rows]


@router.post("/snapshots", dependencies=[allow("analyst")], status_code=202,
             response_model=SnapshotJobOut, responses={**ERRORS, **BAD_BODY})
def take_snapshot(request: Request, body: SnapshotIn) -> SnapshotJobOut:
    """Queue a snapshot (``funnelboard snapshot take``); poll
    ``GET /api/v1/snapshots/jobs/{id}`` for its id."""
    state = server(request)
    label = (body.label or "").strip() or None

    def work() -> dict[str, Any]:
        return services.take_snapshot(state.workspace, label, body.as_of).header()

    job = state.jobs.submit("snapshot", f"snapshot {label or ''}".strip(), work,
                            owner=me(request).user_id)
    state.auth.audit(me(request).email, "snapshot", object=label, ip=client_ip(request),
                     detail=f"job {job.id}")
    return snapshot_job_out(job)


@router.get("/snapshots/jobs/{job_id}", dependencies=[allow("viewer")],
            response_model=SnapshotJobOut, responses={**ERRORS, **NOT_FOUND})
def snapshot_job(request: Request, job_id: Annotated[int, Path(ge=1, le=MAX_ID)]
                 ) -> SnapshotJobOut:
    """A snapshot job's status and, once done, the snapshot's header."""
    return snapshot_job_out(visible_job(request, job_id, "snapshot"))


@router.get("/snapshots/{snapshot_id}", dependencies=[allow("viewer")],
            response_model=SnapshotOut, responses={**ERRORS, **NOT_FOUND})
def show_snapshot(request: Request, snapshot_id: SnapshotId) -> SnapshotOut:
    """One snapshot with its payload."""
    _exists(request, snapshot_id)
    state = server(request)
    with state.reader.snapshot():
        snap = services.show_snapshot(reads(request), snapshot_id)
    return SnapshotOut.model_validate(snap.to_dict())


@router.get("/snapshots/{snapshot_id}/diff", dependencies=[allow("viewer")],
            response_model=DiffOut, responses={**ERRORS, **NOT_FOUND})
def diff_snapshot(request: Request, snapshot_id: SnapshotId,
                  against: Annotated[str, Query(
                      max_length=20, pattern=r"^\s*([Nn][Oo][Ww]|[1-9][0-9]{0,17})\s*$",
                      description="Another snapshot id, or now.")] = "now",
                  as_of: Annotated[dt.date | None, Query(description="With against=now: the "
                                                         "day 'now' means (default: today)."
                                                         )] = None) -> DiffOut:
    """What moved between this snapshot and ``against`` (as ``funnelboard snapshot diff``)."""
    _exists(request, snapshot_id)
    other = against.strip().lower()
    if other != "now":
        _exists(request, snapshots.parse_id(other, "against"))
    state = server(request)
    with state.reader.snapshot():
        data = services.diff_snapshots(reads(request), snapshot_id, other, as_of)
    return DiffOut.model_validate(data)
