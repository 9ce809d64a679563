"""ABM & pipeline: who the ads reach, the demos and pipeline marketing creates, how much of the
pipeline marketing sources, whether it covers the next target, and how deals are won and lost
(by segment, competitor, rep and loss reason), with the deals whose close date has passed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from funnelboard.dashboard.build import (
    Reader,
    breakdown_section,
    has_targets,
    metric_def,
    tile,
    tiles_section,
    trend_section,
)
from funnelboard.dashboard.filters import Filters, api_params
from funnelboard.dashboard.model import Column, Page, Section, Table, Tile
from funnelboard.errors import FunnelboardError
from funnelboard.metrics import periods

TILE_NOTE = "Last complete period of the range, against the period before."
ABM_TILES = ("engaged_accounts", "target_account_reach", "target_account_engagement")
PIPELINE_TILES = ("pipeline_created", "marketing_sourced_pipeline", "marketing_pipeline_share",
                  "open_pipeline")
OUTCOME_TILES = ("win_rate", "acv", "sales_velocity")
AD_METRICS = ("impressions", "clicks", "ad_engagements", "ctr", "cpc", "ad_spend")
SOURCED_METRICS = ("marketing_sourced_pipeline", "marketing_sourced_opportunities",
                   "marketing_pipeline_share")
#: average deal size and ACV are left out: a range without won deals in some period cannot
#: combine them (range_total needs every period's numerator and denominator)
WIN_METRICS = ("win_rate", "bookings", "loss_reasons")
#: (section id, dimension, title) of the win-rate breakdowns
WIN_BREAKDOWNS = (
    ("win_by_segment", "segment", "Win rate by segment"),
    ("win_by_competitor", "competitor", "Win rate by competitor"),
    ("win_by_owner", "owner", "Win rate by rep"),
)
RANGE_NOTE = ("Over the whole range: win rate is deals won ÷ deals closed, summed over its "
              "periods; lost deals are counted by their close date.")


def build(reader: Reader, filters: Filters) -> Page:
    notes: list[str] = []
    page = Page("pipeline", "ABM & pipeline", notes=notes)
    page.sections.append(abm_tiles(reader, filters, notes))
    page.sections.append(pipeline_tiles(reader, filters, notes))
    page.sections.append(tiles_section(reader, filters, "outcomes", "Win rate, ACV and velocity",
                                       OUTCOME_TILES, notes, note=TILE_NOTE))
    charts = (
        trend_section(reader, filters, "ad_engagement", "ad_engagements", notes, by="platform",
                      kind="bar", title="Ad engagements by platform"),
        trend_section(reader, filters, "ad_ctr", "ctr", notes, by="platform",
                      title="Click-through rate by platform"),
        trend_section(reader, filters, "engaged_accounts_trend", "engaged_accounts", notes,
                      by="is_target_account", kind="bar",
                      title="Engaged accounts, target and other"),
        trend_section(reader, filters, "demos", "demos_booked", notes, kind="bar",
                      with_target=has_targets(reader, "demos_booked"),
                      title="Demos booked"),
        trend_section(reader, filters, "sourced_pipeline_trend", "marketing_sourced_pipeline",
                      notes, kind="bar", title="Marketing-sourced pipeline"),
    )
    page.sections.extend(s for s in charts if s is not None)
    page.sections.append(breakdown_section(
        reader, filters, "ads_by_platform", "Ads by platform", AD_METRICS, "platform", notes,
        note="Over the whole range; CTR and CPC are sums of clicks ÷ sums of impressions or "
             "spend."))
    page.sections.append(breakdown_section(
        reader, filters, "sourced_by_channel", "Marketing-sourced pipeline by channel",
        SOURCED_METRICS, "channel", notes, note="Over the whole range."))
    page.sections.extend(win_sections(reader, filters, notes))
    stale = stale_deals_section(reader, filters, notes)
    if stale is not None:
        page.sections.append(stale)
    return page


def pipeline_tiles(reader: Reader, filters: Filters, notes: list[str]) -> Section:
    """Pipeline created and sourced by marketing, open pipeline, and the coverage of the
    quarter still to close."""
    section = tiles_section(reader, filters, "pipeline", "Pipeline", PIPELINE_TILES, notes,
                            note=TILE_NOTE)
    coverage = coverage_tile(reader, filters, notes)
    if coverage is not None:
        section.tiles.append(coverage)
        section.metrics.append(coverage.metric)
        section.note = (f"{TILE_NOTE} Coverage is measured on the as-of date for the quarter "
                        "still to close.")
    return section


def win_sections(reader: Reader, filters: Filters, notes: list[str]) -> list[Section]:
    """Win rates by segment, competitor and rep over the range, then lost deals by reason."""
    sections = [breakdown_section(reader, filters, section_id, title, WIN_METRICS, dim, notes,
                                  note=RANGE_NOTE)
                for section_id, dim, title in WIN_BREAKDOWNS]
    sections.append(breakdown_section(
        reader, filters, "loss_reasons", "Lost deals by reason", ("loss_reasons",),
        "loss_reason", notes, note="Deals lost with a close date in the range."))
    return sections


def abm_tiles(reader: Reader, filters: Filters, notes: list[str]) -> Section:
    """Reach and engagement of the ads, then demos booked (against their target when the
    workspace has demo targets)."""
    section = tiles_section(reader, filters, "abm", "Account-based marketing", ABM_TILES, notes,
                            note=TILE_NOTE)
    try:
        demos = tile(reader, filters, "demos_booked", notes,
                     with_target=has_targets(reader, "demos_booked"))
    except FunnelboardError as exc:
        notes.append(f"demos_booked: {exc.message}")
    else:
        section.tiles.append(demos)
        section.metrics.append(demos.metric)
    return section


def coverage_quarter(filters: Filters, fiscal_start: int) -> tuple[dt.date, dt.date]:
    """The quarter still to close on the as-of date: the one holding it, or the next one when
    the as-of date is its last day (a finished quarter has no coverage)."""
    start = periods.period_start(filters.as_of, "quarter", fiscal_start=fiscal_start)
    end = periods.period_end(start, "quarter")
    if end <= filters.as_of:
        start = periods.next_start(start, "quarter")
        end = periods.period_end(start, "quarter")
    return start, end


def coverage_tile(reader: Reader, filters: Filters, notes: list[str]) -> Tile | None:
    """Open pipeline closing in the quarter still to close ÷ its bookings target."""
    key = "pipeline_coverage"
    try:
        metric = metric_def(reader, key)
    except FunnelboardError:
        return None
    fiscal_start = reader.settings.fiscal_year_start_month
    start, end = coverage_quarter(filters, fiscal_start)
    options = filters.query(metric, notes, start=start, end=end, grain="quarter")
    try:
        result = reader.metric(key, **options)
    except FunnelboardError as exc:
        notes.append(f"{metric.label}: {exc.message}")
        return None
    notes.extend(n for n in result.notes if n not in notes)
    row = result.rows[-1] if result.rows else {}
    extra = row.get("extra") or {}
    label = periods.fiscal_label(start, "quarter", fiscal_start)
    return Tile(
        metric=key, label=f"{result.label}, {label}", unit=result.unit, value=row.get("value"),
        definition=result.definition, direction=result.direction, leading=metric.leading,
        n=row.get("n"), numerator=row.get("numerator"), denominator=row.get("denominator"),
        params=api_params(options), target=extra.get("target"))


def stale_deals_section(reader: Reader, filters: Filters, notes: list[str]) -> Section | None:
    """Deals still open whose close date has passed, on the range's last day (or the as-of
    date when the range runs past it): the pipeline a rep should update or close."""
    key = "open_pipeline"
    try:
        metric = metric_def(reader, key)
    except FunnelboardError:
        return None
    day = min(filters.end, filters.as_of)
    start = max(filters.start, day.replace(day=1))
    options = filters.query(metric, notes, start=start, end=day, grain="month")
    try:
        result = reader.metric(key, **options)
    except FunnelboardError as exc:
        notes.append(f"{metric.label}: {exc.message}")
        return None
    row = result.rows[-1] if result.rows else {}
    extra = row.get("extra") or {}
    measured_on = extra.get("measured_on") or day
    listed: list[dict[str, Any]] = list(extra.get("stale_deals") or [])
    details = _deal_details(reader, [str(d["opportunity_id"]) for d in listed])
    rows = []
    for deal in listed:
        oid = str(deal["opportunity_id"])
        name, owner, stage = details.get(oid, (None, None, None))
        close = deal.get("close_date")
        rows.append({"opportunity_id": oid, "name": name, "owner": owner, "stage": stage,
                     "close_date": close, "amount": deal.get("amount"),
                     "days_overdue": (measured_on - close).days if close else None})
    columns = [Column("opportunity_id", "Opportunity"), Column("name", "Name"),
               Column("owner", "Owner"), Column("stage", "Stage"),
               Column("close_date", "Close date", "date"),
               Column("amount", "Amount", "currency", key),
               Column("days_overdue", "Days past close date", "days")]
    total = int(extra.get("stale") or 0)
    note = (f"Open on {measured_on.isoformat()} with a close date before that day: "
            f"{total} deal{'s' if total != 1 else ''}"
            + (f", the first {len(rows)} listed." if total > len(rows) else ".")
            + " Update the close date or close them; they still count in open pipeline.")
    return Section(id="stale_deals", title="Stale deals", kind="table",
                   table=Table(columns, rows), note=note, metrics=[key])


def _deal_details(reader: Reader, ids: list[str]) -> dict[str, tuple[Any, Any, Any]]:
    """Name, owner and current stage of the listed opportunities (one bound query)."""
    if not ids:
        return {}
    found = reader.query(
        "SELECT CAST(opportunity_id AS VARCHAR), name, owner, stage FROM opportunities "
        "WHERE list_contains(?, CAST(opportunity_id AS VARCHAR))", [ids])
    return {str(r[0]): (r[1], r[2], r[3]) for r in found}
