"""Timestamped snapshots of the cohort funnel (S0-6) and what moved since.

The cohort view is dynamic: a creation month's SQLs keep growing while its contacts move down
the funnel. A snapshot freezes the answer as it stood, so a later look can say what moved:

* the cohort funnel (monthly grain, cohort basis, cumulative rule, contact level) in total and
  by ``channel``, as two :class:`MetricResult` dictionaries;
* the metric results named by the ``snapshot_metrics`` setting, or :data:`DEFAULT_SNAPSHOT_METRICS`
  while the settings have no such list, each with the same query shape.

A snapshot is one row of ``_snapshots`` (``snapshot_id``, ``taken_at``, ``label``, ``as_of``,
``settings_version``, ``payload`` JSON); the payload holds each result exactly as
``MetricResult.to_dict()`` wrote it. :func:`diff` compares the funnel cells of two payloads
(or a payload and the current funnel): only changed cells, biggest moves first, with a
one-line summary.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import duckdb

from funnelboard.errors import UsageError
from funnelboard.metrics import periods
from funnelboard.metrics.engine import Engine, compute
from funnelboard.metrics.funnel_view import funnel
from funnelboard.metrics.query import MetricQuery, make_query, parse_date
from funnelboard.metrics.result import MetricResult
from funnelboard.settings import DEFAULT_SNAPSHOT_METRICS, Settings

#: The query shape of every frozen result (metrics.md §1: the cohort matrix).
FUNNEL_QUERY: dict[str, Any] = {"grain": "month", "basis": "cohort", "rule": "cumulative",
                                "level": "contact"}
#: The breakdown frozen next to the total funnel.
BREAKDOWN = "channel"
PAYLOAD_VERSION = 1


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: int
    taken_at: dt.datetime
    label: str | None
    as_of: dt.date
    settings_version: str
    payload: dict[str, Any]

    @property
    def row_count(self) -> int:
        return int(self.payload.get("row_count") or 0)

    def header(self) -> dict[str, Any]:
        """Everything but the payload, JSON-ready."""
        return {"snapshot_id": self.snapshot_id, "taken_at": self.taken_at.isoformat(),
                "label": self.label, "as_of": self.as_of.isoformat(),
                "settings_version": self.settings_version, "rows": self.row_count}

    def to_dict(self) -> dict[str, Any]:
        return {**self.header(), "payload": self.payload}

    def funnel(self, which: str = "total") -> MetricResult:
        """The frozen funnel (``total`` or ``by_channel``) as a :class:`MetricResult`."""
        return result_from_dict(self.payload["funnel"][which])

    def metrics(self) -> list[MetricResult]:
        return [result_from_dict(d) for d in self.payload.get("metrics", {}).values()]


def snapshot_metrics(settings: Settings) -> tuple[str, ...]:
    """The metric keys a snapshot freezes: the ``snapshots.metrics`` setting (default
    :data:`~funnelboard.settings.DEFAULT_SNAPSHOT_METRICS`)."""
    return tuple(settings.snapshot_metrics) or DEFAULT_SNAPSHOT_METRICS


# -- computing ---------------------------------------------------------------------------------


def funnels(engine: Engine, as_of: dt.date, shape: dict[str, Any] | None = None
            ) -> dict[str, dict[str, Any]]:
    """The cohort funnel in total and by channel, as ``MetricResult.to_dict()`` documents."""
    opts = {**FUNNEL_QUERY, **(shape or {})}
    total = funnel(engine, make_query("funnel", as_of=as_of, **opts))
    split = funnel(engine, make_query("funnel", as_of=as_of, by=[BREAKDOWN], **opts))
    return {"total": total.to_dict(), "by_channel": split.to_dict()}


def build_payload(engine: Engine, as_of: dt.date) -> dict[str, Any]:
    """Everything a snapshot freezes, computed as of ``as_of``."""
    settings = engine.settings
    notes: list[str] = []
    configured = getattr(settings, "snapshot_metrics", None)
    results: dict[str, dict[str, Any]] = {}
    for key in snapshot_metrics(settings):
        try:
            result = compute(engine, make_query(key, as_of=as_of, **FUNNEL_QUERY))
        except UsageError:
            if configured:
                raise
            # a default key the workspace's custom stages do not define
            notes.append(f"'{key}' is not a metric of this workspace's funnel; not frozen.")
            continue
        results[result.metric] = result.to_dict()
    frozen = funnels(engine, as_of)
    count = sum(len(r["rows"]) for r in (*frozen.values(), *results.values()))
    return {"version": PAYLOAD_VERSION, "stages": list(settings.stages), "funnel": frozen,
            "metrics": results, "notes": notes, "row_count": count}


# -- storage (parameterised SQL only) ------------------------------------------------------------


def save(con: duckdb.DuckDBPyConnection, payload: dict[str, Any], *, label: str | None,
         as_of: dt.date, settings_version: str, taken_at: dt.datetime | None = None
         ) -> Snapshot:
    """Store a snapshot under the next id and return it."""
    taken = taken_at or dt.datetime.now(dt.UTC)
    text = json.dumps(payload, ensure_ascii=False, allow_nan=False)
    con.execute("BEGIN TRANSACTION")
    try:
        row = con.execute("SELECT COALESCE(MAX(snapshot_id), 0) + 1 FROM _snapshots").fetchone()
        snapshot_id = int(row[0]) if row else 1
        con.execute("INSERT INTO _snapshots (snapshot_id, taken_at, label, as_of, "
                    "settings_version, payload) VALUES (?, ?, ?, ?, ?, CAST(? AS JSON))",
                    [snapshot_id, taken, label, as_of, settings_version, text])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return Snapshot(snapshot_id, taken, label, as_of, settings_version, payload)


def list_all(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every snapshot's header (id, taken, label, as_of, settings version, rows), oldest first."""
    cur = con.execute(
        "SELECT snapshot_id, taken_at, label, as_of, settings_version, "
        "COALESCE(TRY_CAST(json_extract_string(payload, '$.row_count') AS BIGINT), 0) "
        "FROM _snapshots ORDER BY snapshot_id")
    return [{"snapshot_id": int(r[0]), "taken_at": r[1].isoformat() if r[1] else None,
             "label": r[2], "as_of": r[3].isoformat() if r[3] else None,
             "settings_version": r[4], "rows": int(r[5])} for r in cur.fetchall()]


def ids(con: duckdb.DuckDBPyConnection) -> list[int]:
    return [int(r[0]) for r in
            con.execute("SELECT snapshot_id FROM _snapshots ORDER BY snapshot_id").fetchall()]


def load(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> Snapshot:
    """One snapshot; an unknown id is an error naming the ids that exist."""
    row = con.execute("SELECT snapshot_id, taken_at, label, as_of, settings_version, "
                      "CAST(payload AS VARCHAR) FROM _snapshots WHERE snapshot_id = ?",
                      [snapshot_id]).fetchone()
    if row is None:
        known = ids(con)
        if not known:
            raise UsageError(f"There is no snapshot {snapshot_id}: none has been taken yet. "
                             "Take one with 'funnelboard snapshot take'.")
        raise UsageError(f"There is no snapshot {snapshot_id}. The snapshots are: "
                         f"{', '.join(str(i) for i in known)} ('funnelboard snapshot list' "
                         "shows them).")
    return Snapshot(int(row[0]), row[1], row[2], row[3], row[4] or "", json.loads(row[5]))


def parse_id(text: str | int, option: str = "ID") -> int:
    """A snapshot id from user text."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise UsageError(f"{option} '{text}' is not a snapshot id; give a number from "
                         "'funnelboard snapshot list'.") from None
    if value < 1:
        raise UsageError(f"{option} '{text}' is not a snapshot id; ids start at 1.")
    return value


# -- reading results back ------------------------------------------------------------------------


def query_from_dict(data: dict[str, Any]) -> MetricQuery:
    """The inverse of ``MetricQuery.to_dict()`` (extra keys such as settings_version ignored)."""
    filters = data.get("filters") or {}
    return MetricQuery(
        metric=data["metric"], start=parse_date(data.get("start"), "start"),
        end=parse_date(data.get("end"), "end"),
        as_of=parse_date(data.get("as_of"), "as_of") or dt.date.today(),
        grain=data.get("grain") or "month", by=tuple(data.get("by") or ()),
        filters=tuple((k, tuple(v)) for k, v in filters.items()),
        basis=data.get("basis") or "cohort", rule=data.get("rule") or "cumulative",
        level=data.get("level") or "contact", compare=data.get("compare"),
        transition=data.get("transition"))


def result_from_dict(data: dict[str, Any]) -> MetricResult:
    """A :class:`MetricResult` from its ``to_dict()`` form (dates parsed back)."""
    query = query_from_dict(data["query"])
    rows = []
    for row in data.get("rows", []):
        out = dict(row)
        for key in ("period", "period_end"):
            if isinstance(out.get(key), str):
                out[key] = dt.date.fromisoformat(out[key])
        rows.append(out)
    dims = tuple(query.by) + (("stage",) if rows and "stage" in rows[0] else ())
    if data.get("metric") == "funnel" and "stage" not in dims:
        dims = (*dims, "stage")
    return MetricResult(
        metric=data["metric"], label=data.get("label", ""), unit=data.get("unit", ""),
        direction=data.get("direction", ""), definition=data.get("definition", ""),
        query=query, rows=rows, notes=list(data.get("notes") or []),
        aggregation=data.get("aggregation", ""),
        settings_version=data["query"].get("settings_version", ""), dims=dims)


# -- diff ----------------------------------------------------------------------------------------


def _cells(result: dict[str, Any], dim: str | None) -> dict[tuple[Any, ...], int]:
    out: dict[tuple[Any, ...], int] = {}
    for row in result.get("rows", []):
        key = (row["period"], row.get(dim) if dim else None, row["stage"])
        out[key] = int(row.get("value") or 0)
    return out


def _moves(old: dict[str, Any], new: dict[str, Any], dim: str | None,
           stages: list[str], periods_compared: set[str]) -> list[dict[str, Any]]:
    before, after = _cells(old, dim), _cells(new, dim)
    moved = []
    for key in set(before) | set(after):
        if key[0] not in periods_compared:
            continue
        a, b = before.get(key, 0), after.get(key, 0)
        if a != b:
            cell = {"period": key[0], **({dim: key[1]} if dim else {}), "stage": key[2],
                    "old": a, "new": b, "delta": b - a}
            moved.append(cell)
    order = {s: i for i, s in enumerate(stages)}
    moved.sort(key=lambda c: (-abs(c["delta"]), c["period"], order.get(c["stage"], 99),
                              "" if not dim else (c[dim] is None, str(c[dim]))))
    return moved


def _periods(result: dict[str, Any]) -> set[str]:
    return {r["period"] for r in result.get("rows", [])}


def diff(old: dict[str, Any], new: dict[str, Any], *, settings: Settings,
         old_name: str, new_name: str) -> dict[str, Any]:
    """Which funnel cells moved between two payloads' funnels (``old`` then ``new``).

    Cells of the periods the older funnel holds are compared (a cell one side lacks counts 0);
    periods only the newer one holds are reported as new cohorts, not as moves.
    """
    stages = list(new.get("stages") or old.get("stages") or settings.stages)
    old_f, new_f = old["funnel"], new["funnel"]
    compared = _periods(old_f["total"])
    cells = _moves(old_f["total"], new_f["total"], None, stages, compared)
    channel_cells = _moves(old_f["by_channel"], new_f["by_channel"], BREAKDOWN, stages,
                           compared)
    new_periods = sorted(_periods(new_f["total"]) - compared)
    notes = []
    old_version = old_f["total"]["query"].get("settings_version")
    new_version = new_f["total"]["query"].get("settings_version")
    if old_version != new_version:
        notes.append(f"The settings changed between the two (version {old_version} → "
                     f"{new_version}); some moves may come from changed stages or channel rules "
                     "rather than from contacts moving down the funnel.")
    return {"from": old_name, "to": new_name,
            "from_as_of": old_f["total"]["query"]["as_of"],
            "to_as_of": new_f["total"]["query"]["as_of"],
            "summary": summary(cells, channel_cells, new_periods, settings, stages, old_name,
                               new_name),
            "cells": cells, "channel_cells": channel_cells, "new_periods": new_periods,
            "notes": notes}


def _month(period: str, settings: Settings) -> str:
    return periods.fiscal_label(dt.date.fromisoformat(period), "month",
                                settings.fiscal_year_start_month)


def stage_words(stage: str, settings: Settings, n: int) -> str:
    """``1 SQL``, ``4 SQLs``, ``2 opportunities``."""
    if len(stage) == 3:
        word = stage.upper() + ("" if n == 1 else "s")
    elif n == 1:
        word = stage.replace("_", " ")
    else:
        word = settings.stage_plurals.get(stage, stage + "s").replace("_", " ")
    return f"{n:,} {word}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def summary(cells: list[dict[str, Any]], channel_cells: list[dict[str, Any]],
            new_periods: list[str], settings: Settings, stages: list[str], old_name: str,
            new_name: str, *, limit: int = 3) -> str:
    """One line: how many cells moved, the biggest cohorts' moves, and any new cohorts."""
    new_part = ""
    if new_periods:
        shown = ", ".join(_month(p, settings) for p in new_periods[:limit])
        more = ", …" if len(new_periods) > limit else ""
        new_part = (f"{len(new_periods)} new cohort{'s' if len(new_periods) > 1 else ''} "
                    f"since: {shown}{more}")
    if not cells and not channel_cells:
        text = f"No cohort cell changed between {old_name} and {new_name}"
        return text + (f"; {new_part}." if new_part else ".")
    head = (f"{len(cells)} cohort cell{'' if len(cells) == 1 else 's'} changed "
            f"({len(channel_cells)} period × channel cell"
            f"{'' if len(channel_cells) == 1 else 's'})")
    by_period: dict[str, list[dict[str, Any]]] = {}
    for c in cells:
        by_period.setdefault(c["period"], []).append(c)
    ranked = sorted(by_period, key=lambda p: (-sum(abs(c["delta"]) for c in by_period[p]), p))
    order = {s: i for i, s in enumerate(stages)}
    phrases = []
    for p in ranked[:limit]:
        moves = sorted(by_period[p], key=lambda c: order.get(c["stage"], 99))
        gained = [stage_words(c["stage"], settings, c["delta"]) for c in moves if c["delta"] > 0]
        lost = [stage_words(c["stage"], settings, -c["delta"]) for c in moves if c["delta"] < 0]
        verbs = ([f"gained {_join(gained)}"] if gained else []) + \
                ([f"lost {_join(lost)}"] if lost else [])
        phrases.append(f"the {_month(p, settings)} cohort {' and '.join(verbs)}")
    if len(ranked) > limit:
        rest = len(ranked) - limit
        phrases.append(f"{rest} more cohort{'s' if rest > 1 else ''} moved")
    parts = [head, *phrases] + ([new_part] if new_part else [])
    return "; ".join(parts) + "."
