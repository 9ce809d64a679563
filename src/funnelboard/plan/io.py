"""A plan (or report card) as CSV and XLSX, and a plan as ``targets`` rows.

Text cells that a spreadsheet would run as a formula get a leading ``'`` (the same rule as
``funnelboard export``); numbers are written as numbers, unrounded.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from funnelboard.ingest.export import FORMULA_START
from funnelboard.ingest.result import ImportResult
from funnelboard.metrics.query import NONE_LABEL
from funnelboard.plan.model import REFERRAL_CHANNEL, ROW_KEYS, STAGES
from funnelboard.settings import Settings
from funnelboard.workspace import Workspace

_FORMULA = re.compile(FORMULA_START)
TARGET_COLUMNS = ("metric", "period_start", "grain", "target", "dimension", "dimension_value",
                  "kind")
PLAN_COLUMNS = ("section", "segment", "period", "period_end", "label", *ROW_KEYS)


def safe(value: Any) -> Any:
    """A cell value with spreadsheet formulas neutralised; None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return value


# -- plan rows --------------------------------------------------------------------------------

def plan_rows(plan: dict[str, Any]) -> list[list[Any]]:
    """A header and one row per plan line: the year, each quarter, each month (segment
    ``total``), whole deals, then each segment's months."""
    out: list[list[Any]] = [list(PLAN_COLUMNS)]

    def add(section: str, segment: str, row: dict[str, Any]) -> None:
        out.append([section, segment, row.get("period"), row.get("period_end"), row.get("label"),
                    *[row.get(k) for k in ROW_KEYS]])

    add("year", "total", plan["annual"])
    for row in plan["quarterly"]:
        add("quarter", "total", row)
    for row in plan["monthly"]:
        add("month", "total", row)
    whole = plan["whole_deals"]
    add("whole_deals", "total", {**plan["annual"], **{k: whole.get(k) for k in
                                                      (*STAGES, "revenue")},
                                 "referral_leads": None})
    for seg in plan.get("segments") or []:
        for row in seg["monthly"]:
            add("month", seg["name"], row)
    return [[safe(c) for c in row] for row in out]


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def write_csv(rows: Iterable[Sequence[Any]], out: Path) -> None:
    out.write_text(csv_text(rows), encoding="utf-8")


def write_plan_xlsx(plan: dict[str, Any], out: Path) -> None:
    """Sheets: Summary (inputs, gap, whole deals), Plan (year, quarters, months), Segments."""
    inputs = plan["inputs"]
    summary: list[list[Any]] = [["item", "value"], ["mode", plan["mode"]],
                                ["period", inputs["period"]["label"]],
                                ["revenue goal", inputs.get("revenue")],
                                ["deal size", inputs.get("deal_size")]]
    summary += [[f"rate {k}", v] for k, v in inputs["rates"].items()]
    if inputs.get("visits_per_month") is not None:
        summary.append(["visits per month", inputs["visits_per_month"]])
    if inputs.get("leads_per_month") is not None:
        summary.append(["leads per month", inputs["leads_per_month"]])
    summary += [["gap (revenue)", plan["gap"].get("revenue")], ["gap", plan["gap"]["text"]]]
    summary += [[f"whole deals: {k}", plan["whole_deals"].get(k)] for k in (*STAGES, "revenue")]
    summary += [["note", n] for n in plan.get("notes") or []]
    rows = plan_rows(plan)
    sheets = {"Summary": [[safe(c) for c in r] for r in summary],
              "Plan": [rows[0], *[r for r in rows[1:] if r[1] == "total"]]}
    segment_rows = [r for r in rows[1:] if r[1] != "total"]
    if segment_rows:
        sheets["Segments"] = [rows[0], *segment_rows]
    write_xlsx(sheets, out)


def write_xlsx(sheets: dict[str, list[list[Any]]], out: Path) -> None:
    """One sheet per entry, the first row bold (a header)."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(out), {"strings_to_numbers": False,
                                              "strings_to_formulas": False,
                                              "strings_to_urls": False})
    try:
        bold = workbook.add_format({"bold": True})
        for name, rows in sheets.items():
            sheet = workbook.add_worksheet(name[:31])
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    if r == 0:
                        sheet.write_string(r, c, str(value), bold)
                    elif isinstance(value, int | float) and not isinstance(value, bool):
                        sheet.write_number(r, c, value)
                    elif value is None or value == "":
                        continue
                    else:
                        sheet.write_string(r, c, str(value))
    finally:
        workbook.close()


# -- the plan as targets ----------------------------------------------------------------------

def target_rows(plan: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Monthly ``kind = plan`` targets: one per stage metric (sessions, leads, mqls, sqls,
    opportunities, customers, bookings) and month, in total and, with ``--by``, per value
    (the flywheel is the ``customer_referral`` channel, or part of the ``inbound`` motion)."""
    plurals = settings.stage_plurals
    keys = {"visits": "sessions", "leads": plurals.get("lead", "leads"),
            "mqls": plurals.get("mql", "mqls"), "sqls": plurals.get("sql", "sqls"),
            "opportunities": plurals.get("opportunity", "opportunities"),
            "customers": plurals.get("customer", "customers"), "revenue": "bookings"}
    cells: dict[tuple[str, str, str, str], float] = {}

    def add(rows: list[dict[str, Any]], dimension: str, value: str) -> None:
        for row in rows:
            for stage, metric in keys.items():
                number = row.get(stage)
                if number is None:
                    continue
                key = (metric, row["period"], dimension, value)
                cells[key] = cells.get(key, 0.0) + float(number)

    add(plan["monthly"], "", "")
    dimension = plan["inputs"].get("by")
    if dimension:
        for seg in plan.get("segments") or []:
            name = seg["name"]
            if seg["kind"] == "flywheel":
                name = REFERRAL_CHANNEL if dimension == "channel" else "inbound"
            # an empty channel is stored as an empty value (how the targets reader matches it)
            add(seg["monthly"], dimension, "" if name == NONE_LABEL else name)
    return [{"metric": m, "period_start": p, "grain": "month", "target": v, "dimension": d,
             "dimension_value": dv, "kind": "plan"} for (m, p, d, dv), v in cells.items()]


def save_targets(ws: Workspace, plan: dict[str, Any],
                 as_of: dt.date | None = None) -> tuple[ImportResult, int]:
    """Write the plan into ``targets`` with the targets writer (one import through the
    importer, named ``plan <year> --save-as-targets`` in the ledger and replayed by
    ``rebuild``): a stored target with the same metric, month and dimension value is
    replaced, whatever its kind; other targets are kept."""
    from funnelboard.metrics.target_store import TargetRow, save

    rows = [TargetRow(r["metric"], dt.date.fromisoformat(r["period_start"]), r["grain"],
                      float(r["target"]), r["dimension"], r["dimension_value"], r["kind"])
            for r in target_rows(plan, ws.settings)]
    label = plan["inputs"]["period"]["label"]
    result = save(ws, rows, source=f"plan {label} --save-as-targets", as_of=as_of)
    return result, len(rows)
