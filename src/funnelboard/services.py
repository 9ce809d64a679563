"""One function per use case: the only thing the CLI (and later the API and web) calls."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from funnelboard.errors import UsageError, WorkspaceError
from funnelboard.ingest.mapping import Mapping, add_rename, load_mapping, parse_map_option
from funnelboard.ingest.result import ImportResult
from funnelboard.metrics import snapshots
from funnelboard.metrics.result import MetricResult
from funnelboard.metrics.snapshots import Snapshot
from funnelboard.settings import Settings
from funnelboard.store import ledger
from funnelboard.workspace import DB_FILE, RAW_DIR, REBUILD_MARKER, Workspace, resolve_path

Progress = Callable[[str, int, int], None]


def build_mapping(mapping_file: Path | None, maps: list[str]) -> Mapping:
    """A mapping from ``--mapping FILE`` and ``--map 'Header=column'`` options (maps win)."""
    mapping = load_mapping(mapping_file) if mapping_file else Mapping()
    for item in maps:
        source, target = parse_map_option(item)
        add_rename(mapping, source, [target])
    return mapping


def import_files(ws: Workspace, table: str, files: list[Path], *, mapping: Mapping,
                 **options: Any) -> list[ImportResult]:
    """Import each file in its own transaction (each is all-or-nothing)."""
    return [ws.import_file(table, f, mapping=mapping, **options) for f in files]


def list_imports(ws: Workspace, table: str | None = None) -> list[dict[str, Any]]:
    return ledger.entries(ws.connection(), table=table)


def quarantine_rows(ws: Workspace, import_id: int | None) -> list[dict[str, Any]]:
    """Rejected rows with their source row, column, raw value, rule and message."""
    sql = ("SELECT import_id, table_name, source_row, column_name, raw_value, rule, message, "
           "CAST(raw_row AS VARCHAR) AS raw_row FROM _quarantine "
           "WHERE ? IS NULL OR import_id = ? ORDER BY import_id, source_row, column_name")
    cur = ws.connection().execute(sql, [import_id, import_id])
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in exported text (reliability case T16)."""
    if isinstance(value, str) and value and (
        value[0] in "=+-@\t\r" or value.lstrip()[:1] in ("=", "+", "-", "@")
    ):
        return "'" + value
    return value


def export_quarantine(ws: Workspace, import_id: int | None, out: Path) -> int:
    """One CSV row per rejected source row: its original cells plus the problems found."""
    rows = quarantine_csv_rows(quarantine_rows(ws, import_id))
    with open(out, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return len(rows) - 1


def export_table(ws: Workspace, table: str, out: Path) -> int:
    from funnelboard.ingest.export import export_table as _export

    return _export(ws.connection(), ws.settings, table, out)


def rebuild(path: Path | None, progress: Progress | None = None) -> list[ImportResult]:
    """Rebuild the database from ``raw/`` and the ledger, replaying imports in order.

    The old database is kept as ``funnelboard.duckdb.bak`` until the replay succeeds; a marker
    file makes an interrupted rebuild visible, and running ``rebuild`` again restores the backup
    before starting over.
    """
    folder = resolve_path(path)
    marker = folder / REBUILD_MARKER
    db, backup = folder / DB_FILE, folder / (DB_FILE + ".bak")
    if marker.exists() and backup.exists():
        _move_db(backup, db)  # an earlier rebuild was cut off: start again from its backup
    marker.unlink(missing_ok=True)
    ws = Workspace.open(folder)
    try:
        entries = [e for e in ledger.entries(ws.connection())
                   if e["status"] in ("imported", "no_changes") and e["raw_file"]]
    finally:
        ws.close()
    missing = [e["raw_file"] for e in entries if not (folder / RAW_DIR / e["raw_file"]).exists()]
    if missing:
        raise WorkspaceError(f"Cannot rebuild: {len(missing)} raw file(s) are missing from raw/, "
                             f"e.g. {missing[0]}.")
    marker.write_text("rebuild in progress\n", encoding="utf-8")
    _move_db(db, backup)
    results: list[ImportResult] = []
    try:
        with Workspace.open(folder, allow_rebuild=True) as fresh:
            for i, e in enumerate(entries):
                if progress:
                    progress("rebuilding", i, len(entries))
                opts = e["options"] or {}
                results.append(fresh.import_file(
                    e["table_name"], folder / RAW_DIR / e["raw_file"],
                    mapping=Mapping.from_dict(e["mapping"] or {}), timezone=opts.get("timezone"),
                    max_bad_rows=opts.get("max_bad_rows"), append=bool(opts.get("append")),
                    display_name=e["file_name"]))
            _carry_snapshots(fresh, backup)
    except BaseException:
        _move_db(backup, db)
        marker.unlink(missing_ok=True)
        raise
    marker.unlink()
    return results


def _carry_snapshots(ws: Workspace, old_db: Path) -> None:
    """Snapshots cannot be recomputed from raw/: copy them from the database being replaced."""
    from funnelboard.ingest.sqltext import lit

    if not old_db.exists():
        return
    con = ws.connection()
    con.execute(f"ATTACH {lit(str(old_db))} AS fb_previous (READ_ONLY)")
    try:
        found = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                            "'fb_previous' AND table_name = '_snapshots'").fetchone()
        if found and found[0]:
            con.execute("INSERT INTO _snapshots SELECT snapshot_id, taken_at, label, as_of, "
                        "settings_version, payload FROM fb_previous._snapshots")
    finally:
        con.execute("DETACH fb_previous")


def _move_db(src: Path, dst: Path) -> None:
    """Move a DuckDB file and its write-ahead log, replacing what is at ``dst``."""
    for suffix in ("", ".wal"):
        target = Path(str(dst) + suffix)
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        source = Path(str(src) + suffix)
        if source.exists():
            shutil.move(source, target)


def parse_as_of(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of '{text}' is not a date; write it as YYYY-MM-DD.") from None


def _rules(path: Path | None) -> Any:
    from funnelboard.channels import parse_channel_settings
    from funnelboard.settings import Settings

    settings = Workspace.open(path).settings if path or _is_workspace() else Settings()
    raw = settings.channels
    if not raw:
        from funnelboard.channels import default_channel_settings

        raw = default_channel_settings()
    return parse_channel_settings(raw)


def _is_workspace() -> bool:
    from funnelboard.settings import SETTINGS_FILE

    return (resolve_path(None) / SETTINGS_FILE).exists()


def channel_test(path: Path | None, source: str | None, medium: str | None,
                 campaign: str | None) -> dict[str, Any]:
    """Which rule turns these raw values into a channel (workspace rules, else defaults)."""
    match = _rules(path).classify(source, medium, campaign)
    return {"source": source, "medium": medium, "campaign": campaign, "channel": match.channel,
            "motion": match.motion, "rule": match.rule}


def channel_audit(path: Path | None) -> list[dict[str, Any]]:
    from funnelboard.channels import audit_unassigned

    rules = _rules(path)
    with Workspace.open(path, read_only=True) as ws:
        return list(audit_unassigned(ws.connection(), rules))


def build_demo(folder: Path, *, contacts: int, seed: int, end: dt.date | None,
               progress: Progress | None = None) -> list[ImportResult]:
    """Generate the demo company and import it through the normal import path."""
    import tempfile

    from funnelboard.demo import generate, import_order

    results = []
    Workspace.init(folder).close()
    _demo_settings(folder)
    with Workspace.open(folder) as ws, tempfile.TemporaryDirectory() as tmp:
        files = generate(Path(tmp), contacts=contacts, seed=seed, end=end, progress=progress)
        order = [t for t in import_order() if t in files]
        for i, table in enumerate(order):
            if progress:
                progress(f"importing {table}", i, len(order))
            result = ws.import_file(table, files[table], as_of=end)
            if result.status == "rejected":
                raise WorkspaceError(f"The demo's {table} file was rejected: "
                                     + "; ".join(x.message for x in result.issues.errors))
            results.append(result)
    return results


def _demo_settings(folder: Path) -> None:
    """The demo company records "No decision" losses; its settings say they are no decision,
    so win rates show the setting at work."""
    from funnelboard.settings import SETTINGS_FILE

    path = folder / SETTINGS_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("no_decision_loss_reasons = []",
                                 'no_decision_loss_reasons = ["No decision"]'), encoding="utf-8")


# -- metrics -------------------------------------------------------------------------------------


def _settings(path: Path | None) -> Settings:
    """The workspace's settings; the defaults outside a workspace (when no path is given)."""
    return Workspace.open(path).settings if path or _is_workspace() else Settings()


def list_metrics(path: Path | None, group: str | None = None) -> list[dict[str, Any]]:
    """Every metric key this workspace defines (funnel keys follow its stages)."""
    from funnelboard.errors import did_you_mean
    from funnelboard.metrics.registry import all_metrics

    metrics = all_metrics(_settings(path))
    if group is not None:
        groups = sorted({m.group for m in metrics})
        if group not in groups:
            raise UsageError(f"--group '{group}' is not a metric group; the groups are: "
                             f"{', '.join(groups)}." + did_you_mean(group, groups))
        metrics = [m for m in metrics if m.group == group]
    return [{"key": m.key, "label": m.label, "group": m.group, "indicator": m.leading_label,
             "unit": m.unit, "direction": m.direction, "aggregation": m.aggregation,
             "time_basis": m.time_basis, "dimensions": list(m.dimensions),
             "definition": m.definition} for m in metrics]


def metric(ws: Workspace, key: str, **query: Any) -> MetricResult:
    """One metric (the options of ``funnelboard metrics show``)."""
    return ws.metric(key, **query)


def funnel(ws: Workspace, **query: Any) -> MetricResult:
    """The funnel view (the options of ``funnelboard funnel``)."""
    return ws.funnel(**query)


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return safe_cell(value)


def csv_rows(header: list[str], rows: list[dict[str, Any]]) -> list[list[object]]:
    """A header row and one row per dict, text neutralised against formula injection."""
    return [list(header), *[[_csv_value(r.get(c)) for c in header] for r in rows]]


def metric_csv(result: MetricResult) -> list[list[object]]:
    """The result's rows as CSV cells: ``result.columns()`` plus ``extra`` as JSON."""
    data = result.to_dict()["rows"]
    rows = [{**r, "extra": r.get("extra") or {}} for r in data]
    return csv_rows([*result.columns(), "extra"], rows)


def metrics_list_csv(rows: list[dict[str, Any]]) -> list[list[object]]:
    header = list(rows[0]) if rows else ["key", "label", "group", "indicator", "unit",
                                         "direction", "aggregation", "time_basis",
                                         "dimensions", "definition"]
    flat = [{**r, "dimensions": " ".join(r["dimensions"])} for r in rows]
    return csv_rows(header, flat)


# -- snapshots -----------------------------------------------------------------------------------


def take_snapshot(ws: Workspace, label: str | None, as_of: dt.date | None) -> Snapshot:
    """Freeze the cohort funnel (total and by channel) and the snapshot metrics."""
    day = as_of or dt.date.today()
    payload = snapshots.build_payload(ws.engine(), day)
    return snapshots.save(ws.connection(), payload, label=label or None, as_of=day,
                          settings_version=ws.settings.version)


def list_snapshots(ws: Workspace) -> list[dict[str, Any]]:
    return snapshots.list_all(ws.connection())


def show_snapshot(ws: Workspace, snapshot_id: str | int) -> Snapshot:
    return snapshots.load(ws.connection(), snapshots.parse_id(snapshot_id))


def diff_snapshots(ws: Workspace, first: str | int, second: str | None,
                   as_of: dt.date | None) -> dict[str, Any]:
    """What moved between snapshot ``first`` and ``second`` (another id, or ``now``: the
    current funnel as of ``as_of``, default today, with the snapshot's query shape)."""
    con = ws.connection()
    old = snapshots.load(con, snapshots.parse_id(first, "ID"))
    old_name = f"snapshot {old.snapshot_id} (as of {old.as_of.isoformat()})"
    if second is None or second.strip().lower() == "now":
        day = as_of or dt.date.today()
        q = old.payload["funnel"]["total"]["query"]
        shape = {k: q[k] for k in snapshots.FUNNEL_QUERY if k in q}
        new_payload = {"stages": list(ws.settings.stages),
                       "funnel": snapshots.funnels(ws.engine(), day, shape)}
        new_name = f"now (as of {day.isoformat()})"
    else:
        new = snapshots.load(con, snapshots.parse_id(second, "ID2"))
        new_payload = new.payload
        new_name = f"snapshot {new.snapshot_id} (as of {new.as_of.isoformat()})"
    result = snapshots.diff(old.payload, new_payload, settings=ws.settings, old_name=old_name,
                            new_name=new_name)
    return {"from_snapshot": old.header(), **result}


# -- targets -------------------------------------------------------------------------------------


def set_target(ws: Workspace, metric: str, period: str, value: str,
               dimension: list[str] | None = None, kind: str | None = None,
               as_of: dt.date | None = None) -> dict[str, Any]:
    """Write (or replace) the one target row of ``metric`` × ``period`` (× dimension value)
    through the importer, so the import ledger records it as ``targets set ...``.

    Without ``kind`` a replaced row keeps its kind and a new one is ``okr``.
    """
    from dataclasses import replace

    from funnelboard.metrics import target_store
    from funnelboard.metrics.periods import fiscal_label

    row, kind_given = target_store.make_target(ws.settings, metric, period, value, dimension,
                                               kind)
    before = target_store.existing(ws.connection(), row)
    if before and not kind_given and before["kind"]:
        row = replace(row, kind=before["kind"])
    label = fiscal_label(row.period_start, row.grain, ws.settings.fiscal_year_start_month)
    source = f"targets set {row.metric} --period {label} --value {str(value).strip()}"
    if row.dimension:
        source += f" --dimension {row.dimension}={row.dimension_value}"
    source += f" --kind {row.kind}"
    result = target_store.save(ws, [row], source=source, as_of=as_of)
    if result.rows_inserted:
        action = "inserted"
    elif result.rows_updated:
        action = "replaced"
    else:
        action = "unchanged"
    return {"metric": row.metric, "period": label, "period_start": row.period_start.isoformat(),
            "grain": row.grain, "dimension": row.dimension,
            "dimension_value": row.dimension_value, "target": row.target, "kind": row.kind,
            "action": action, "previous_target": before["target"] if before else None,
            "previous_kind": before["kind"] if before else None,
            "import_id": result.import_id, "source": source}


def list_targets(ws: Workspace, metric: str | None = None) -> tuple[list[dict[str, Any]],
                                                                     list[str]]:
    """The stored targets (of one metric key) and notes on rows no metric will ever show
    (a metric key this workspace does not know)."""
    from funnelboard.errors import FunnelboardError
    from funnelboard.metrics import target_store
    from funnelboard.metrics.registry import resolve

    rows = target_store.stored(ws.connection(), ws.settings, metric)
    if metric and not rows:
        resolve(metric, ws.settings)  # an unknown key is an error listing close matches
    notes = []
    for key in sorted({r["metric"] for r in rows}):
        try:
            if resolve(key, ws.settings).key != key.strip():
                raise UsageError(f"There is no metric '{key}' as written.")
        except FunnelboardError as exc:
            notes.append(f"Targets of '{key}' match no metric, so no result shows them: "
                         f"{exc.message}")
    for r in rows:
        r["period_start"] = r["period_start"].isoformat()
    return rows, notes


def metric_unit(ws: Workspace, key: str) -> str:
    """The unit of metric ``key`` (how its targets print)."""
    from funnelboard.metrics.registry import resolve

    return resolve(key, ws.settings).unit


def targets_csv(rows: list[dict[str, Any]]) -> list[list[object]]:
    header = ["metric", "period", "period_start", "grain", "dimension", "dimension_value",
              "target", "kind", "import_id", "source"]
    return csv_rows(header, rows)


# -- planning ------------------------------------------------------------------------------------


def plan(path: Path | None, request: Any, *, save_as_targets: bool = False) -> dict[str, Any]:
    """The reverse-funnel plan (docs/planning.md) for a
    :class:`~funnelboard.plan.inputs.PlanRequest`: the workspace's settings and history when
    there is a workspace, the default settings outside one (every input must then be given).
    ``save_as_targets`` writes the plan into ``targets`` (kind plan) and records
    ``saved_targets`` in the answer."""
    from funnelboard.metrics.query import today_in
    from funnelboard.plan.inputs import assemble
    from funnelboard.plan.model import build

    if path is None and not _is_workspace():
        if save_as_targets:
            raise WorkspaceError("--save-as-targets writes into a workspace; run it inside one "
                                 "or pass -w DIR.")
        settings = Settings()
        return build(assemble(request, None, settings, today_in(settings.timezone)))
    with Workspace.open(path, read_only=not save_as_targets) as ws:
        return plan_on(ws, request, save_as_targets=save_as_targets)


def plan_report(ws: Workspace, period: str | None, as_of: dt.date | None) -> dict[str, Any]:
    """The year-to-date report card: actual vs plan per stage and channel, marketing ROI."""
    from funnelboard.metrics.query import today_in
    from funnelboard.plan.model import parse_year
    from funnelboard.plan.report import report_card

    return report_card(ws, parse_year(period), as_of or today_in(ws.settings.timezone))


def plan_csv(plan_data: dict[str, Any]) -> list[list[object]]:
    """The plan as CSV cells: year, quarters, months, whole deals, each segment's months."""
    from funnelboard.plan.io import plan_rows

    return plan_rows(plan_data)


def plan_report_csv(card: dict[str, Any]) -> list[list[object]]:
    """The report card's stage and channel lines as CSV cells."""
    header = ["section", "dimension", "value", "metric", "plan_ytd", "actual_ytd", "gap",
              "attainment", "status", "plan_year", "grain"]
    lines = [{"section": "stage", **r} for r in card["stages"]]
    lines += [{"section": "channel", **r} for r in card["channels"]]
    return csv_rows(header, lines)


def write_plan(plan_data: dict[str, Any], fmt: str, out: Path) -> None:
    """Write the plan to ``out`` as csv, json or xlsx."""
    from funnelboard.plan.io import write_csv, write_plan_xlsx

    if fmt == "xlsx":
        write_plan_xlsx(plan_data, out)
    elif fmt == "csv":
        write_csv(plan_csv(plan_data), out)
    else:
        out.write_text(json.dumps(plan_data, indent=2, default=str) + "\n", encoding="utf-8")


# -- over an open workspace (the web server holds one; it must not reopen it by path) ----------


def plan_on(ws: Workspace, request: Any, *, save_as_targets: bool = False) -> dict[str, Any]:
    """:func:`plan` over an already open workspace: the server's writer when saving, or any
    object answering the same reads (settings, metric, engine, query) for a plan alone."""
    from funnelboard.metrics.query import today_in
    from funnelboard.plan.inputs import assemble
    from funnelboard.plan.io import save_targets
    from funnelboard.plan.model import build

    result = build(assemble(request, ws, ws.settings, today_in(ws.settings.timezone)))
    if save_as_targets:
        imported, rows = save_targets(ws, result, request.as_of)
        result["saved_targets"] = {"rows": rows, "import_id": imported.import_id,
                                   "status": imported.status,
                                   "inserted": imported.rows_inserted,
                                   "updated": imported.rows_updated,
                                   "unchanged": imported.rows_unchanged}
    return result


def channel_audit_on(con: Any, settings: Settings) -> list[dict[str, Any]]:
    """:func:`channel_audit` on an open connection with the workspace's settings (its channel
    rules, else the default ones)."""
    from funnelboard.channels import (
        audit_unassigned,
        default_channel_settings,
        parse_channel_settings,
    )

    rules = parse_channel_settings(settings.channels or default_channel_settings())
    return list(audit_unassigned(con, rules))


def quarantine_csv_rows(rows: list[dict[str, Any]]) -> list[list[object]]:
    """The cells :func:`export_quarantine` writes (header first) for the rows of
    :func:`quarantine_rows`, so a download needs no file: one row per rejected source row,
    text neutralised against formula injection."""
    grouped: dict[tuple[int, int], dict[str, Any]] = {}
    headers: list[str] = []
    for r in rows:
        key = (r["import_id"], r["source_row"])
        item = grouped.setdefault(key, {"import_id": r["import_id"], "table": r["table_name"],
                                        "source_row": r["source_row"], "problems": [],
                                        "cells": json.loads(r["raw_row"] or "{}")})
        where = f"{r['column_name']}: " if r["column_name"] else ""
        item["problems"].append(f"{where}{r['message']} [{r['rule']}]")
        for h in item["cells"]:
            if h not in headers:
                headers.append(h)
    out: list[list[object]] = [["import_id", "table", "source_row", "problems", *headers]]
    for item in grouped.values():
        cells = [item["cells"].get(h) for h in headers]
        out.append([item["import_id"], item["table"], item["source_row"],
                    safe_cell("; ".join(item["problems"])), *(safe_cell(c) for c in cells)])
    return out
