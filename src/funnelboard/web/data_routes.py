"""The Data page: the import ledger, one import's issues and quarantined rows (with a CSV to
fix and re-import), the upload form, the writer's jobs, the channel-mapping audit and the
workspace's effective settings.

Uploads are checked, saved and queued by :mod:`funnelboard.web.api.imports` (the API shares
every step); the page only turns its answers into HTML.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from funnelboard import services
from funnelboard.auth import role_allows
from funnelboard.errors import FunnelboardError
from funnelboard.ingest.result import ImportResult
from funnelboard.schema import TABLES
from funnelboard.settings import Settings
from funnelboard.web import render
from funnelboard.web.access import allow, identify
from funnelboard.web.api.imports import (
    MAX_ID,
    UPLOAD_SUFFIXES,
    client_ip,
    import_entry,
    ledger_entries,
    me,
    presets,
    quarantine_page,
    queue_import,
    server,
    visible_job,
)
from funnelboard.web.exports import CSV_TYPE
from funnelboard.web.jobs import Job

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
#: unassigned raw-value combinations shown on the page (most rows first)
AUDIT_ROWS = 50


def settings_rows(settings: Settings) -> list[tuple[str, str]]:
    """The effective settings as (dotted key, value) pairs; the channel rules are summed up
    by name, since each rule is a small table of its own."""
    rows: list[tuple[str, str]] = []

    def text(value: Any) -> str:
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value) if value else "(none)"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            rows.append((prefix, text(value) if value != {} else "(none)"))

    data = dataclasses.asdict(settings)
    channels = data.pop("channels", {}) or {}
    for key, value in data.items():
        walk(key, value)
    rules = channels.get("rules") or []
    if rules:
        names = ", ".join(f"{r.get('name', '?')} → {r.get('channel', '?')}" for r in rules
                          if isinstance(r, dict))
        rows.append(("channels.rules", f"{len(rules)} rules: {names}"))
    else:
        rows.append(("channels.rules", "the default rules"))
    for key, value in channels.items():
        if key != "rules":
            rows.append((f"channels.{key}", json.dumps(value, default=str)
                         if isinstance(value, dict | list) else text(value)))
    return rows


def _visible_jobs(request: Request, limit: int = 20) -> list[Job]:
    identity = me(request)
    everyone = role_allows(identity.role, "analyst")
    jobs = [j for j in server(request).jobs.jobs()
            if everyone or j.owner == identity.user_id]
    return jobs[:limit]


def _audit_rows(request: Request) -> list[dict[str, Any]]:
    state = server(request)

    def compute() -> list[dict[str, Any]]:
        with state.reader.snapshot():
            return services.channel_audit_on(state.reader.connection(), state.settings)

    rows: list[dict[str, Any]] = state.cache.get_or_compute(
        state.cache.key(identify(request), "channel-audit"), compute)
    return rows


def _data_page(request: Request, status_code: int = 200, error: str | None = None,
               form: dict[str, Any] | None = None) -> Response:
    state = server(request)
    identity = me(request)
    entries = list(reversed(ledger_entries(state)))
    audit = _audit_rows(request)
    limits = state.settings.server
    return render.page(
        request, "data.html", status_code=status_code, error=error, form=form or {},
        entries=entries, jobs=_visible_jobs(request), audit=audit[:AUDIT_ROWS],
        audit_total=len(audit), tables=sorted(TABLES), presets=list(presets().values()),
        can_upload=role_allows(identity.role, "analyst"), suffixes=UPLOAD_SUFFIXES,
        upload_max_mb=limits.upload_max_mb, upload_max_xlsx_mb=limits.upload_max_xlsx_mb,
        settings_rows=settings_rows(state.settings))


@router.get("/data", dependencies=[allow("viewer")])
def data(request: Request) -> Response:
    return _data_page(request)


@router.post("/data/upload", dependencies=[allow("analyst")])
def upload(request: Request,
           file: Annotated[UploadFile | None, File()] = None,
           table: Annotated[str, Form(max_length=64)] = "",
           mapping: Annotated[str, Form(max_length=100)] = "",
           dry_run: Annotated[bool, Form()] = False) -> Response:
    """Save the upload and queue its import, then show the job (303)."""
    form = {"table": table, "mapping": mapping, "dry_run": dry_run}
    if file is None or not file.filename:
        return _data_page(request, 422, "Choose a file to upload.", form)
    if not table:
        return _data_page(request, 422, "Choose the table the file goes into.", form)
    try:
        job = queue_import(request, table, file, mapping or None, dry_run)
    except HTTPException as exc:
        return _data_page(request, exc.status_code, str(exc.detail), form)
    except FunnelboardError as exc:
        return _data_page(request, 422, exc.message, form)
    return RedirectResponse(f"/data/jobs/{job.id}", status_code=303)


def _job_id(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise HTTPException(404, "There is no such job.")
    return int(text)


def _import_id(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise HTTPException(404, f"There is no import {text[:20]}.")
    return int(text)


@router.get("/data/jobs/{job_id}", dependencies=[allow("viewer")])
def job(request: Request, job_id: str) -> Response:
    """A job's status (the page reloads itself every 2 s until it ends) and its result."""
    found = visible_job(request, _job_id(job_id))
    result = found.result
    summary = result.to_dict() if isinstance(result, ImportResult) else None
    extra = result if isinstance(result, dict) else None
    return render.page(request, "_data_job.html", job=found, summary=summary, extra=extra,
                       running=found.status in ("queued", "running"))


@router.get("/data/imports/{import_id}", dependencies=[allow("viewer")])
def import_detail(request: Request, import_id: str,
                  offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    """One import: its ledger entry, its issues and its quarantined rows, paged."""
    state = server(request)
    number = _import_id(import_id)
    entry = import_entry(state, number)
    total, rows = quarantine_page(state, number, offset, PAGE_SIZE)
    columns: list[str] = []
    for row in rows:
        for key in row["raw_row"] or {}:
            if key not in columns:
                columns.append(key)
    return render.page(request, "_data_import.html", entry=entry, rows=rows, total=total,
                       offset=offset, page_size=PAGE_SIZE, columns=columns)


@router.get("/data/imports/{import_id}/quarantine.csv", dependencies=[allow("viewer")])
def quarantine_csv(request: Request, import_id: str) -> Response:
    """The import's rejected rows as one CSV row each (the original cells plus the problems,
    formulas neutralised): fix them and import the file again."""
    state = server(request)
    number = _import_id(import_id)
    import_entry(state, number)  # 404 for an unknown import
    with state.reader.snapshot():
        rows = services.quarantine_rows(state.reader, number)  # type: ignore[arg-type]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(services.quarantine_csv_rows(rows))
    identity = identify(request)
    state.auth.audit(identity.email if identity else None, "export",
                     object=f"quarantine/{number}.csv", ip=client_ip(request),
                     detail=f"{len(rows)} problems")
    return Response(buffer.getvalue().encode("utf-8"), media_type=CSV_TYPE, headers={
        "content-disposition": f'attachment; filename="quarantine-{number}.csv"'})
