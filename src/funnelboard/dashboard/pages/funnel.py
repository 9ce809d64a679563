"""Funnel: the cohort matrix (counts and step conversions), how each step's conversion moves
over time, the stages by channel, and what moved since a saved snapshot (S0-6).

The cumulative/strict and cohort/period switches are the page's ``rule`` and ``basis`` filters;
every number on the page follows them, and the first card says which view is shown.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

from funnelboard.dashboard.build import (
    Reader,
    breakdown_section,
    drill_params,
    metric_def,
    multi_trend_section,
)
from funnelboard.dashboard.filters import Filters
from funnelboard.dashboard.model import Column, Page, Section, Table
from funnelboard.errors import FunnelboardError, UsageError
from funnelboard.metrics import snapshots
from funnelboard.metrics.result import MetricResult

#: the most moved cells the diff card lists (biggest first)
DIFF_LIMIT = 50

RULE_TEXT = {
    "cumulative": "cumulative rule: a contact counts at a stage when it entered that stage or "
                  "any later one",
    "strict": "strict rule: a contact counts at a stage only when it entered every stage up "
              "to it",
}
BASIS_TEXT = {
    "cohort": "cohort basis: each contact is counted in the period it was created, so a row "
              "keeps growing while its contacts move down the funnel",
    "period": "period basis: each contact is counted in the period it reached the stage",
}


def build(reader: Reader, filters: Filters, *, snapshot: str | None = None) -> Page:
    notes: list[str] = []
    page = Page("funnel", "Funnel", notes=notes)
    page.sections.append(view_section(filters))
    matrix = cohort_section(reader, filters, notes)
    if matrix is not None:
        page.sections.append(matrix)
    trend = multi_trend_section(
        reader, filters, "stage_conversion", "Stage-to-stage conversion",
        step_rate_keys(reader), notes,
        note="Each step's conversion per period: contacts that reached the later stage ÷ "
             "contacts that reached the earlier one.")
    if trend is not None:
        page.sections.append(trend)
    stages = reader.settings.stages
    keys = [reader.settings.stage_plurals[s] for s in stages]
    if len(stages) > 1:
        keys.append(f"{stages[0]}_to_{stages[-1]}_rate")
    page.sections.append(breakdown_section(
        reader, filters, "channel_stages", "Stages by channel", keys, "channel", notes,
        note="Each channel's contacts at every stage over the whole range."))
    page.sections.append(snapshots_section(reader))
    if snapshot:
        page.sections.append(diff_section(reader, filters, snapshot, notes))
    return page


def view_section(filters: Filters) -> Section:
    """Which rule and basis every number on the page follows."""
    basis = filters.basis or "cohort"
    text = (f"Showing the {RULE_TEXT[filters.rule]}; {BASIS_TEXT[basis]}. Switch with the "
            "rule and basis filters.")
    return Section(id="view", title="What this page counts", kind="text", note=text)


def step_rate_keys(reader: Reader) -> list[str]:
    """``<a>_to_<b>_rate`` for each pair of consecutive stages the workspace defines."""
    stages = reader.settings.stages
    keys = []
    for a, b in itertools.pairwise(stages):
        try:
            keys.append(metric_def(reader, f"{a}_to_{b}_rate").key)
        except FunnelboardError:
            continue
    return keys


def cohort_section(reader: Reader, filters: Filters, notes: list[str]) -> Section | None:
    """The cohort matrix as a heat map, with its counts and step conversions as a table."""
    from funnelboard.charts import cohort_heatmap

    created = metric_def(reader, "contacts_created")
    options = filters.query(created, notes)
    try:
        result = reader.funnel(**options)
    except FunnelboardError as exc:
        notes.append(f"Funnel: {exc.message}")
        return None
    notes.extend(n for n in result.notes if n not in notes)
    basis = filters.basis or "cohort"
    table = cohort_table(reader, filters, result, notes)
    note = ("One row per creation cohort: how many of its contacts reached each stage by the "
            "as-of date, and the conversion from the stage before. Recent cohorts are still "
            "maturing." if basis == "cohort" else
            "One row per period: how many contacts reached each stage in it, and that count ÷ "
            "the previous stage's count of the same period.")
    return Section(id="cohort_matrix",
                   title="Cohort matrix" if basis == "cohort" else "Funnel by period",
                   kind="chart", table=table, note=note,
                   chart=cohort_heatmap(
                       result, fiscal_start=reader.settings.fiscal_year_start_month),
                   metrics=[c.metric for c in table.columns if c.metric])


def cohort_table(reader: Reader, filters: Filters, result: MetricResult,
                 notes: list[str]) -> Table:
    """One row per period; per stage its count and the conversion from the previous stage
    (the first stage from the contacts created). Count cells drill to their contacts."""
    settings = reader.settings
    stages = settings.stages
    first_label = "Cohort" if (filters.basis or "cohort") == "cohort" else "Period"
    columns = [Column("period", first_label, "date"),
               Column("contacts_created", "Contacts created", "count", "contacts_created")]
    previous_label = "contacts"
    for i, stage in enumerate(stages):
        plural = settings.stage_plurals[stage]
        label = metric_def(reader, plural).label
        rate = f"{stages[i - 1]}_to_{stage}_rate" if i else None
        columns.append(Column(plural, label, "count", plural))
        columns.append(Column(f"{plural}_conversion", f"{label} ÷ {previous_label}", "ratio",
                              rate))
        previous_label = label
    by_period: dict[dt.date, dict[str, Any]] = {}
    for row in result.rows:
        if row["stage"] not in stages:
            continue
        out = by_period.setdefault(row["period"], {
            "period": row["period"], "period_end": row["period_end"],
            "partial": row.get("partial")})
        plural = settings.stage_plurals[row["stage"]]
        out[plural] = row["value"]
        den = row.get("denominator")
        out[f"{plural}_conversion"] = row["numerator"] / den if den else None
        if row["stage"] == stages[0]:
            out["contacts_created"] = den
    rows = [by_period[p] for p in sorted(by_period)]
    table = Table(columns, [{c.key: r.get(c.key) for c in columns} | {"partial": r["partial"]}
                            for r in rows])
    drill_keys = ["contacts_created", *(settings.stage_plurals[s] for s in stages)]
    for key in drill_keys:
        metric = metric_def(reader, key)
        options = filters.query(metric, None)
        for i, row in enumerate(rows):
            cell = drill_params(metric, options, row)
            if cell:
                table.drill[(i, key)] = cell
    return table


# -- snapshots ---------------------------------------------------------------------------------


def snapshots_section(reader: Reader) -> Section:
    """The saved snapshots, newest first; one of them can be compared with the funnel now."""
    rows = reader.query("SELECT snapshot_id, taken_at, label, as_of FROM _snapshots "
                        "ORDER BY snapshot_id DESC")
    columns = [Column("snapshot_id", "Snapshot"), Column("taken_at", "Taken (UTC)", "datetime"),
               Column("label", "Label"), Column("as_of", "As of", "date")]
    table = Table(columns, [{"snapshot_id": int(r[0]), "taken_at": _utc(r[1]), "label": r[2],
                             "as_of": r[3]} for r in rows])
    note = ("Frozen cohort funnels. Pick one to see which cohort cells moved since it was taken."
            if rows else "No snapshot has been taken yet. 'funnelboard snapshot take' freezes "
                         "the cohort funnel so a later look can show what moved.")
    return Section(id="snapshots", title="Saved snapshots", kind="table", table=table,
                   note=note)


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A naive UTC time (spreadsheets cannot hold a time zone)."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def diff_section(reader: Reader, filters: Filters, snapshot: str,
                 notes: list[str]) -> Section:
    """Which cohort cells moved between a snapshot and the funnel as of the page's as-of date
    (what ``funnelboard snapshot diff ID now --as-of DATE`` prints)."""
    try:
        diff = snapshot_diff(reader, snapshot, filters.as_of)
    except FunnelboardError as exc:
        return Section(id="snapshot_diff", title="What moved since the snapshot", kind="text",
                       note=exc.message)
    notes.extend(n for n in diff["notes"] if n not in notes)
    channels = dict(filters.dims).get("channel")
    others = [d for d, _ in filters.dims if d != "channel"]
    if others:
        notes.append("The snapshot comparison shows all contacts: a snapshot freezes the funnel "
                     f"in total and by channel only, not by {', '.join(others)}.")
    columns = [Column("period", "Cohort", "date")]
    if channels:
        cells = [c for c in diff["channel_cells"]
                 if (c["channel"] if c["channel"] is not None else "(none)") in channels]
        columns.append(Column("channel", "Channel"))
    else:
        cells = diff["cells"]
    settings = reader.settings
    columns += [Column("stage", "Stage"),
                Column("old", f"Snapshot {diff['from_snapshot']['snapshot_id']}", "count"),
                Column("new", "Now", "count"), Column("delta", "Change", "count")]
    rows = [{"period": dt.date.fromisoformat(c["period"]),
             **({"channel": c["channel"]} if channels else {}),
             "stage": _stage_label(reader, c["stage"]),
             "old": c["old"], "new": c["new"], "delta": c["delta"]} for c in cells]
    note = diff["summary"]
    if len(rows) > DIFF_LIMIT:
        note += f" The {DIFF_LIMIT} biggest of {len(rows)} moves are listed."
        rows = rows[:DIFF_LIMIT]
    return Section(id="snapshot_diff", title=f"What moved since {diff['from']}", kind="table",
                   table=Table(columns, rows), note=note,
                   metrics=[settings.stage_plurals[s] for s in settings.stages])


def _stage_label(reader: Reader, stage: str) -> str:
    """``MQLs`` for ``mql``; a stage the settings no longer have keeps its own name."""
    plural = reader.settings.stage_plurals.get(stage)
    if plural is None:
        return stage
    try:
        return metric_def(reader, plural).label
    except FunnelboardError:
        return plural


def snapshot_diff(reader: Reader, snapshot: str, as_of: dt.date) -> dict[str, Any]:
    """The diff of snapshot ``snapshot`` against the funnel now, computed as
    :func:`funnelboard.services.diff_snapshots` does with ``now``, through the reader."""
    snapshot_id = snapshots.parse_id(snapshot, "snapshot")
    found = reader.query("SELECT snapshot_id, as_of, CAST(payload AS VARCHAR), taken_at, label, "
                         "settings_version FROM _snapshots WHERE snapshot_id = ?", [snapshot_id])
    if not found:
        raise UsageError(f"There is no snapshot {snapshot_id}; the saved snapshots are listed "
                         "on this page.")
    row = found[0]
    old_payload = json.loads(row[2])
    old_as_of = row[1]
    query = old_payload["funnel"]["total"]["query"]
    shape = {k: query[k] for k in snapshots.FUNNEL_QUERY if k in query}
    total = reader.funnel(as_of=as_of, **shape)
    split = reader.funnel(as_of=as_of, by=[snapshots.BREAKDOWN], **shape)
    new_payload = {"stages": list(reader.settings.stages),
                   "funnel": {"total": total.to_dict(), "by_channel": split.to_dict()}}
    result = snapshots.diff(
        old_payload, new_payload, settings=reader.settings,
        old_name=f"snapshot {snapshot_id} (as of {old_as_of.isoformat()})",
        new_name=f"now (as of {as_of.isoformat()})")
    header = {"snapshot_id": snapshot_id, "as_of": old_as_of.isoformat(),
              "taken_at": row[3].isoformat() if row[3] else None, "label": row[4],
              "settings_version": row[5]}
    return {"from_snapshot": header, **result}
