"""``/api/v1/imports``: upload a file as a queued import job, follow the job, read the import
ledger and one import's issues and quarantined rows.

The upload steps (checking the table, the mapping preset, the file type and size, saving the
file under ``.tmp/`` and queuing the job) live here and are shared with the ``/data`` page, so
the form and the API refuse the same files with the same sentences.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, UploadFile
from pydantic import BaseModel

import funnelboard
from funnelboard.auth import role_allows
from funnelboard.errors import FunnelboardError, UsageError
from funnelboard.ingest.mapping import Mapping, load_mapping
from funnelboard.ingest.result import ImportResult
from funnelboard.schema import TABLES, get_table
from funnelboard.store import ledger
from funnelboard.web.access import Identity, allow, identify
from funnelboard.web.api.metrics import ERRORS, ErrorOut
from funnelboard.web.jobs import Job
from funnelboard.web.state import ServerState
from funnelboard.workspace import TMP_DIR

router = APIRouter(tags=["imports"])

#: the file types an upload may have (what the importer reads, by extension)
UPLOAD_SUFFIXES = ("csv", "tsv", "txt", "xlsx", "parquet")
#: ids are BIGINT in the database; a larger number can name nothing
MAX_ID = 2**62
CHUNK = 1024 * 1024
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "There is no such import or job."}}
#: a body that is not JSON (or not multipart) at all
BAD_BODY: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The request body cannot be read."}}


# -- response models ---------------------------------------------------------------------------


class IssueOut(BaseModel):
    """One finding about an import (see docs/importing.md, "Issues")."""

    level: str
    code: str
    message: str
    file: str = ""
    row: int | None = None
    column: str | None = None
    value: str | None = None
    count: int = 1


class ImportResultOut(BaseModel):
    """What an import reports back (``funnelboard import --format json``)."""

    table: str
    file: str
    status: str
    import_id: int | None
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    rows_removed: int
    dialect: str
    content_hash: str
    message: str
    issues: list[IssueOut]
    preview: list[dict[str, Any]]


class JobOut(BaseModel):
    """A job of the server's one writer; poll it until ``status`` is done or failed."""

    id: int
    kind: str
    description: str
    status: Literal["queued", "running", "done", "failed"]
    queued_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None


class ImportJobOut(JobOut):
    result: ImportResultOut | None


class ImportEntryOut(BaseModel):
    """One row of the import ledger."""

    import_id: int
    table_name: str
    file_name: str | None
    status: str
    rows_read: int | None
    rows_accepted: int | None
    rows_quarantined: int | None
    rows_inserted: int | None
    rows_updated: int | None
    rows_unchanged: int | None
    rows_removed: int | None
    started_at: str | None
    content_hash: str | None
    dialect: str | None
    mapping: dict[str, Any] | None
    options: dict[str, Any] | None


class QuarantineRowOut(BaseModel):
    """One problem of one rejected source row (a row with three problems has three)."""

    source_row: int | None
    column_name: str | None
    raw_value: str | None
    rule: str | None
    message: str | None
    raw_row: dict[str, Any] | None


class ImportIssuesOut(BaseModel):
    import_id: int
    table_name: str
    file_name: str | None
    status: str
    issues: list[IssueOut]
    quarantine_total: int
    offset: int
    limit: int
    quarantine: list[QuarantineRowOut]


class PresetOut(BaseModel):
    """A mapping preset shipped with funnelboard (pass its ``key`` as ``mapping``)."""

    key: str
    name: str
    table: str | None


# -- helpers shared with the /data page ----------------------------------------------------------


def server(request: Request) -> ServerState:
    return request.app.state.server  # type: ignore[no-any-return]


def me(request: Request) -> Identity:
    identity = identify(request)
    assert identity is not None  # the route's permission already required a sign-in
    return identity


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    table: str | None
    path: FilePath


def _preset_folders() -> list[FilePath]:
    """The presets ship with the package in ``funnelboard/mappings`` (``mappings/`` at the top
    of a checkout is a link to that folder, for the paths the docs use)."""
    package = FilePath(funnelboard.__file__).parent
    return [p for p in (package / "mappings",) if p.is_dir()]


@lru_cache(maxsize=1)
def presets() -> dict[str, Preset]:
    """The mapping presets by key (the file name without ``.toml``)."""
    found: dict[str, Preset] = {}
    for folder in _preset_folders():
        for path in sorted(folder.glob("*.toml")):
            key = path.stem
            if key in found or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", key):
                continue
            try:
                mapping = load_mapping(path)
            except FunnelboardError:
                continue  # a broken preset is left out rather than breaking the page
            found[key] = Preset(key, mapping.name or key, mapping.table, path)
    return found


def preset_mapping(key: str | None, table: str) -> Mapping:
    """The mapping of preset ``key`` for an import into ``table`` (none: an empty mapping)."""
    if not key:
        return Mapping()
    known = presets()
    preset = known.get(key.strip())
    if preset is None:
        names = ", ".join(sorted(known)) or "none are installed"
        raise UsageError(f"There is no mapping preset '{key[:100]}'; the presets are: {names}.")
    if preset.table and preset.table != table:
        raise UsageError(f"The mapping preset '{preset.key}' is for the table {preset.table}, "
                         f"not {table}. Choose {preset.table} or another preset.")
    return load_mapping(preset.path)


def upload_suffix(filename: str | None) -> str:
    """The upload's extension, lower case; anything but the readable types is a 422."""
    name = (filename or "").strip()
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in UPLOAD_SUFFIXES:
        shown = f"'.{suffix[:20]}'" if suffix else "a file without an extension"
        raise HTTPException(422, f"funnelboard imports .csv, .tsv, .txt, .xlsx and .parquet "
                                 f"files; {shown} is not one of them. Save the file as CSV or "
                                 "XLSX and upload it again.")
    return suffix


def upload_name(filename: str | None, suffix: str) -> str:
    """The name the ledger shows: the uploaded file's own name, without any folder part and
    without control characters (a browser may send a full path)."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()[:200]
    return base or f"upload.{suffix}"


def save_upload(state: ServerState, upload: UploadFile, suffix: str) -> FilePath:
    """Copy the upload into the workspace's ``.tmp/`` under a random name keeping only the
    extension; a file over its type's size limit is removed and refused with 413."""
    limits = state.settings.server
    limit_mb = limits.upload_max_xlsx_mb if suffix == "xlsx" else limits.upload_max_mb
    limit = limit_mb * 1024 * 1024
    folder = state.workspace.path / TMP_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"upload-{secrets.token_hex(16)}.{suffix}"
    size = 0
    try:
        with open(path, "xb") as out:
            upload.file.seek(0)
            while chunk := upload.file.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    kind = "an XLSX workbook" if suffix == "xlsx" else "an upload"
                    setting = "upload_max_xlsx_mb" if suffix == "xlsx" else "upload_max_mb"
                    raise HTTPException(413, f"The file is larger than the limit for {kind} "
                                             f"({limit_mb} MB). Split it, save it as CSV, or ask "
                                             f"an admin to raise server.{setting}.")
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise HTTPException(422, "The uploaded file is empty; choose the file again.")
    return path


def queue_import(request: Request, table: str, upload: UploadFile, preset: str | None,
                 dry_run: bool) -> Job:
    """Check everything about an upload, save it and queue its import (audited either way)."""
    state = server(request)
    identity = me(request)
    name = upload_name(upload.filename, "file")
    try:
        table = get_table(table.strip()).name
        mapping = preset_mapping(preset, table)
        suffix = upload_suffix(upload.filename)
        name = upload_name(upload.filename, suffix)
        path = save_upload(state, upload, suffix)
    except (HTTPException, FunnelboardError) as exc:
        message = exc.detail if isinstance(exc, HTTPException) else exc.message
        state.auth.audit(identity.email, "import", object=table[:64], outcome="refused",
                         ip=client_ip(request), detail=f"{name}: {message}"[:500])
        raise

    def work() -> ImportResult:
        try:
            return state.workspace.import_file(table, path, mapping=mapping, display_name=name,
                                               dry_run=dry_run)
        finally:
            path.unlink(missing_ok=True)

    description = f"import {name} into {table}" + (" (dry run)" if dry_run else "")
    job = state.jobs.submit("import", description, work, owner=identity.user_id)
    state.auth.audit(identity.email, "import", object=table, ip=client_ip(request),
                     detail=f"{name}; job {job.id}" + ("; dry run" if dry_run else "")
                     + (f"; mapping {preset}" if preset else ""))
    return job


def visible_job(request: Request, job_id: int, kind: str | None = None) -> Job:
    """The job, when the caller may see it: analysts and admins see every job, others only
    their own; any other id is a 404 that does not tell whether it exists (T09)."""
    identity = me(request)
    job = server(request).jobs.get(job_id)
    if job is None or (kind is not None and job.kind != kind) or not (
            role_allows(identity.role, "analyst") or job.owner == identity.user_id):
        raise HTTPException(404, "There is no such job.")
    return job


#: how long a request waits for a write it queued before answering 503 (the job still runs)
WRITE_WAIT_SECONDS = 300


def write_now(request: Request, kind: str, description: str, work: Any) -> Any:
    """Run ``work`` on the writer and wait for it: its result, a 422 with the job's sentence
    when it failed, or a 503 when the queue is too busy to finish it in time."""
    state = server(request)
    job = state.jobs.run(kind, description, work, owner=me(request).user_id,
                         timeout=WRITE_WAIT_SECONDS)
    if job.status == "done":
        return job.result
    if job.status == "failed":
        raise HTTPException(422, job.error or "The change could not be made.")
    raise HTTPException(503, f"The server is busy with other imports; this change is queued as "
                             f"job {job.id} and will be made when its turn comes.")


def job_fields(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "description": job.description,
            "status": job.status, "queued_at": job.queued_at, "finished_at": job.finished_at,
            "error": job.error}


def import_job_out(job: Job) -> ImportJobOut:
    result = job.result.to_dict() if isinstance(job.result, ImportResult) else None
    return ImportJobOut.model_validate({**job_fields(job), "result": result})


def ledger_entries(state: ServerState, table: str | None = None) -> list[dict[str, Any]]:
    with state.reader.snapshot():
        return ledger.entries(state.reader.connection(), table=table)


def import_entry(state: ServerState, import_id: int) -> dict[str, Any]:
    """One ledger row with its issues; 404 when there is none."""
    with state.reader.snapshot():
        entry = next((e for e in ledger.entries(state.reader.connection())
                      if e["import_id"] == import_id), None)
        issues = state.reader.query("SELECT CAST(issues AS VARCHAR) FROM _imports "
                                    "WHERE import_id = ?", [import_id])
    if entry is None:
        raise HTTPException(404, f"There is no import {import_id}.")
    raw = json.loads(issues[0][0]) if issues and issues[0][0] else []
    entry["issues"] = [IssueOut.model_validate(i).model_dump()
                       for i in (raw if isinstance(raw, list) else []) if isinstance(i, dict)]
    return entry


def quarantine_page(state: ServerState, import_id: int, offset: int,
                    limit: int) -> tuple[int, list[dict[str, Any]]]:
    """The import's quarantined problems from ``offset``: (how many in all, this page)."""
    with state.reader.snapshot():
        total = state.reader.query("SELECT count(*) FROM _quarantine WHERE import_id = ?",
                                   [import_id])[0][0]
        rows = state.reader.query_dicts(
            "SELECT source_row, column_name, raw_value, rule, message, "
            "CAST(raw_row AS VARCHAR) AS raw_row FROM _quarantine WHERE import_id = ? "
            "ORDER BY source_row, column_name NULLS FIRST LIMIT ? OFFSET ?",
            [import_id, limit, offset])
    for row in rows:
        try:
            parsed = json.loads(row["raw_row"]) if row["raw_row"] else None
        except ValueError:
            parsed = {"line": row["raw_row"]}
        row["raw_row"] = parsed if isinstance(parsed, dict) else None
    return int(total), rows


# -- routes --------------------------------------------------------------------------------------


@router.post("/imports", dependencies=[allow("analyst")], status_code=202,
             response_model=ImportJobOut, responses={
                 **ERRORS, **BAD_BODY,
                 413: {"model": ErrorOut, "description": "The file is too large."}})
def create_import(
        request: Request,
        file: Annotated[UploadFile, File(description="A .csv, .tsv, .txt, .xlsx or .parquet "
                                                     "file.")],
        table: Annotated[str, Form(max_length=64, description="The canonical table, e.g. "
                                   "contacts.", json_schema_extra={"enum": sorted(TABLES)})],
        mapping: Annotated[str | None, Form(
            max_length=100, description="A mapping preset key from GET "
            "/api/v1/imports/presets.",
            json_schema_extra={"enum": sorted(presets())} if presets() else None)] = None,
        dry_run: Annotated[bool, Form(description="Check the file and preview its first rows; "
                                                  "write nothing.")] = False) -> ImportJobOut:
    """Queue an import of the uploaded file (all-or-nothing, idempotent, as ``funnelboard
    import``). Answers 202 with the job; poll ``GET /api/v1/imports/jobs/{id}`` for the
    result."""
    job = queue_import(request, table, file, mapping or None, dry_run)
    return import_job_out(job)


@router.get("/imports", dependencies=[allow("viewer")], response_model=list[ImportEntryOut],
            responses=ERRORS)
def list_imports(request: Request, table: Annotated[str | None, Query(max_length=64)] = None
                 ) -> list[ImportEntryOut]:
    """The import ledger, oldest first (optionally of one table)."""
    return [ImportEntryOut.model_validate(e) for e in ledger_entries(server(request), table)]


@router.get("/imports/presets", dependencies=[allow("viewer")], response_model=list[PresetOut],
            responses=ERRORS)
def list_presets() -> list[PresetOut]:
    """The mapping presets shipped with funnelboard."""
    return [PresetOut(key=p.key, name=p.name, table=p.table) for p in presets().values()]


@router.get("/imports/jobs/{job_id}", dependencies=[allow("viewer")],
            response_model=ImportJobOut, responses={**ERRORS, **NOT_FOUND})
def import_job(request: Request, job_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> ImportJobOut:
    """An import job's status and, once done, its result. Viewers see only their own jobs."""
    return import_job_out(visible_job(request, job_id, "import"))


@router.get("/imports/{import_id}/issues", dependencies=[allow("viewer")],
            response_model=ImportIssuesOut, responses={**ERRORS, **NOT_FOUND})
def import_issues(request: Request, import_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                  offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                  limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100) -> ImportIssuesOut:
    """One import's issues (from the ledger) and its quarantined rows, paged: ``limit`` is
    cut to the server's ``max_rows_per_response`` (the answer's ``limit`` is the one used)."""
    state = server(request)
    limit = min(limit, state.settings.server.max_rows_per_response)
    entry = import_entry(state, import_id)
    total, rows = quarantine_page(state, import_id, offset, limit)
    return ImportIssuesOut.model_validate({
        "import_id": import_id, "table_name": entry["table_name"],
        "file_name": entry["file_name"], "status": entry["status"], "issues": entry["issues"],
        "quarantine_total": total, "offset": offset, "limit": limit, "quarantine": rows})
