"""Revenue & customers: recurring revenue and what moved it, churn and where churned accounts
came from, retention, unit economics (LTV, CAC, payback) and NPS with its uncertainty."""

from __future__ import annotations

import datetime as dt
from typing import Any

from funnelboard.dashboard.build import (
    Reader,
    breakdown_section,
    has_targets,
    metric_def,
    result_table,
    tiles_section,
    trend_section,
)
from funnelboard.dashboard.filters import Filters
from funnelboard.dashboard.model import Column, Page, Section, Table
from funnelboard.errors import FunnelboardError
from funnelboard.metrics import periods
from funnelboard.metrics.result import MetricResult
from funnelboard.metrics.revenue import nps_parts

TILE_NOTE = "Last complete period of the range, against the period before."
#: grains the MRR metrics accept (they are built on monthly MRR rows)
MONTHLY_GRAINS = ("month", "quarter", "year")
CUSTOMER_TILES = ("mrr", "arr", "paying_customers", "nrr", "grr", "logo_churn_rate",
                  "gross_mrr_churn_rate", "nps")
ECONOMICS_TILES = ("arpa", "ltv", "cac", "ltv_to_cac", "cac_payback_months")
CHURN_METRICS = ("churn_by_source", "churned_mrr", "logo_churn_rate")
#: paid CAC has only a channel breakdown, so the segment table leaves it out
VALUE_METRICS = ("ltv", "arpa", "paying_customers", "paid_cac")
MOVEMENTS_NOTE = (
    "The month-over-month MRR movements of each period: new, expansion and reactivation MRR "
    "add to MRR; contraction and churned MRR (shown as negative amounts) take it away, so "
    "each period's bars add up to its net change in MRR. A quarter or year sums its months.")


def build(reader: Reader, filters: Filters) -> Page:
    notes: list[str] = []
    page = Page("revenue", "Revenue", notes=notes)
    filters = monthly(filters, notes)
    page.sections.append(tiles_section(reader, filters, "customers", "Revenue and customers",
                                       CUSTOMER_TILES, notes, note=TILE_NOTE))
    page.sections.append(tiles_section(reader, filters, "unit_economics", "Unit economics",
                                       ECONOMICS_TILES, notes, note=TILE_NOTE))
    trend = trend_section(reader, filters, "mrr_trend", "mrr", notes, title="MRR",
                          with_target=has_targets(reader, "mrr"))
    if trend is not None:
        page.sections.append(trend)
    page.sections.extend(mrr_movement_sections(reader, filters, notes))
    page.sections.append(breakdown_section(
        reader, filters, "churn_by_channel", "Churn by original channel", CHURN_METRICS,
        "channel", notes,
        note="Accounts that churned in the range and their MRR, by the channel of their first "
             "won new-business deal (else their earliest contact); rates are monthly "
             "averages over the range."))
    page.sections.append(breakdown_section(
        reader, filters, "churn_by_source", "Churn by original source", CHURN_METRICS,
        "source", notes,
        note="As churn by channel, by the account's original source."))
    page.sections.append(breakdown_section(
        reader, filters, "value_by_channel", "LTV by channel", VALUE_METRICS, "channel", notes,
        note="LTV, ARPA and paying customers at the range's last month; paid CAC over the "
             "whole range (channels with ad spend only)."))
    page.sections.append(breakdown_section(
        reader, filters, "value_by_segment", "LTV by segment", VALUE_METRICS, "segment",
        notes, note="LTV, ARPA and paying customers at the range's last month."))
    nps = nps_section(reader, filters, notes)
    if nps is not None:
        page.sections.append(nps)
    return page


def monthly(filters: Filters, notes: list[str]) -> Filters:
    """``filters`` with a grain the MRR metrics accept: a day or week grain becomes month (MRR
    is recorded once a month, so a weekly MRR would only repeat the month's value)."""
    if filters.grain in MONTHLY_GRAINS:
        return filters
    notes.append(f"Recurring revenue is measured by month, so this page shows months rather "
                 f"than {filters.grain}s.")
    return filters.with_(grain="month")


def mrr_movement_sections(reader: Reader, filters: Filters,
                          notes: list[str]) -> list[Section]:
    """The movements as a stacked bar, and the bridge from each period's starting MRR to its
    ending MRR (start + movements = end)."""
    from funnelboard.charts import MRR_LOSSES, MRR_MOVEMENTS, combine, stacked_bar

    results: list[MetricResult] = []
    for key in MRR_MOVEMENTS:
        metric = metric_def(reader, key)
        try:
            results.append(reader.metric(key, **filters.query(metric, notes)))
        except FunnelboardError as exc:
            notes.append(f"{metric.label}: {exc.message}")
            return []
    for result in results:
        notes.extend(n for n in result.notes if n not in notes)
    combined = combine(results, dim="movement", negative=MRR_LOSSES, label="MRR movements")
    settings = reader.settings
    chart = stacked_bar(combined, dim="movement", currency=settings.reporting_currency,
                        fiscal_start=settings.fiscal_year_start_month)
    table = result_table(combined, value_label="Amount")
    for column in table.columns:
        if column.key == "value":
            column.metric = None  # the parts' definitions are listed with the section
    sections = [Section(id="mrr_movements", title="MRR movements", kind="chart", chart=chart,
                        table=table, metrics=list(MRR_MOVEMENTS), note=MOVEMENTS_NOTE)]
    bridge = mrr_bridge_section(reader, filters, combined, notes)
    if bridge is not None:
        sections.append(bridge)
    return sections


def mrr_bridge_section(reader: Reader, filters: Filters, combined: MetricResult,
                       notes: list[str]) -> Section | None:
    """One row per period: MRR at its start (the end of the month before), each movement
    (from ``combined``, the movements with losses negative) and MRR at its end."""
    metric = metric_def(reader, "mrr")
    first_month = filters.start.replace(day=1)
    before = periods.shift_period(first_month, "month", -1)
    try:
        ending = reader.metric("mrr", **filters.query(metric, notes))
        opening = reader.metric("mrr", **filters.query(
            metric, notes, start=before, end=first_month - dt.timedelta(days=1),
            grain="month"))
    except FunnelboardError as exc:
        notes.append(f"{metric.label}: {exc.message}")
        return None
    movement = {(r["period"], r["metric"]): r["value"] or 0.0 for r in combined.rows}
    labels = {r["metric"]: r["movement"] for r in combined.rows}
    start_value = opening.rows[-1]["value"] if opening.rows else None
    if start_value is None:
        notes.append("The range starts with the first month of MRR data: that month is the "
                     "opening balance and has no movements.")
    rows: list[dict[str, Any]] = []
    for r in ending.rows:
        moves = {key: movement.get((r["period"], key), 0.0) for key in labels}
        rows.append({"period": r["period"], "start": start_value, **moves,
                     "net_change": sum(moves.values()), "end": r["value"],
                     "partial": r.get("partial")})
        start_value = r["value"]
    columns = [Column("period", "Period", "date"),
               Column("start", "Starting MRR", "currency", "mrr")]
    columns += [Column(key, label, "currency", key) for key, label in labels.items()]
    columns += [Column("net_change", "Net change", "currency"),
                Column("end", "Ending MRR", "currency", "mrr")]
    return Section(id="mrr_bridge", title="MRR bridge", kind="table",
                   table=Table(columns, rows), metrics=["mrr", *labels],
                   note="Starting MRR plus the movements gives ending MRR; contraction and "
                        "churn are negative.")


def nps_section(reader: Reader, filters: Filters, notes: list[str]) -> Section | None:
    """NPS per period and over the whole range, with the responses behind it and its 95 %
    margin of error (a score from few responses moves a lot by chance)."""
    metric = metric_def(reader, "nps")
    try:
        result = reader.metric("nps", **filters.query(metric, notes))
    except FunnelboardError as exc:
        notes.append(f"{metric.label}: {exc.message}")
        return None
    notes.extend(n for n in result.notes if n not in notes)
    fiscal_start = reader.settings.fiscal_year_start_month
    rows: list[dict[str, Any]] = []
    totals = {"promoters": 0, "passives": 0, "detractors": 0}
    for r in result.rows:
        extra = r.get("extra") or {}
        counts = {k: int(extra.get(k) or 0) for k in totals}
        for k, v in counts.items():
            totals[k] += v
        rows.append({"period": periods.fiscal_label(r["period"], filters.grain, fiscal_start),
                     "value": r["value"], "n": r.get("n") or 0, **counts,
                     "margin_of_error": extra.get("margin_of_error")})
    whole = nps_parts(totals["promoters"], totals["passives"], totals["detractors"])
    rows.append({"period": "Whole range", "value": whole["value"], "n": sum(totals.values()),
                 **totals, "margin_of_error": whole["margin_of_error"]})
    columns = [Column("period", "Period"), Column("value", "NPS", "score", "nps"),
               Column("n", "Responses", "count"), Column("promoters", "Promoters", "count"),
               Column("passives", "Passives", "count"),
               Column("detractors", "Detractors", "count"),
               Column("margin_of_error", "Margin of error (±, 95 %)", "score")]
    return Section(id="nps", title="NPS", kind="table", table=Table(columns, rows),
                   metrics=["nps"],
                   note="Promoters score 9–10, detractors 0–6. The margin of error is the "
                        "95 % interval around the score; with few responses it is wide.")
