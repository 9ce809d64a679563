"""Overview: OKR attainment and pacing this quarter, then the leading and lagging scorecard
(S0-1, S0-9, S1-12)."""

from __future__ import annotations

from funnelboard.dashboard.build import (
    Reader,
    known_metrics,
    metric_def,
    tiles_section,
    trend_section,
)
from funnelboard.dashboard.filters import Filters, api_params
from funnelboard.dashboard.model import Page, Section, Tile
from funnelboard.errors import FunnelboardError
from funnelboard.metrics import periods

#: the scorecard, in funnel order: leading indicators first, then lagging outcomes
LEADING = ("sessions", "leads", "mqls", "sqls", "pipeline_created", "demos_booked")
LAGGING = ("customers", "bookings", "win_rate", "mrr", "cac", "ltv_to_cac")


def build(reader: Reader, filters: Filters) -> Page:
    notes: list[str] = []
    page = Page("overview", "Overview", notes=notes)
    okr = okr_section(reader, filters, notes)
    if okr is not None:
        page.sections.append(okr)
    page.sections.append(tiles_section(
        reader, filters, "leading", "Leading indicators", known_metrics(reader, LEADING), notes,
        note="Last complete period of the range, against the period before."))
    page.sections.append(tiles_section(
        reader, filters, "lagging", "Lagging outcomes", known_metrics(reader, LAGGING), notes,
        note="Last complete period of the range, against the period before."))
    for key in _target_metrics(reader)[:2]:
        chart = trend_section(reader, filters, f"target_{key}", key, notes, grain="quarter",
                              with_target=True, kind="bar",
                              title=f"{metric_def(reader, key).label} against target")
        if chart is not None:
            page.sections.append(chart)
    return page


def okr_section(reader: Reader, filters: Filters, notes: list[str]) -> Section | None:
    """Quarter-to-date attainment and pacing of every metric with a quarterly target."""
    keys = _target_metrics(reader)
    if not keys:
        return None
    settings = reader.settings
    start = periods.period_start(filters.as_of, "quarter",
                                 fiscal_start=settings.fiscal_year_start_month)
    tiles = []
    for key in keys:
        metric = metric_def(reader, key)
        options = filters.query(metric, notes, start=start, end=filters.as_of, grain="quarter",
                                with_target=True)
        try:
            result = reader.metric(key, **options)
        except FunnelboardError as exc:
            notes.append(f"{metric.label}: {exc.message}")
            continue
        row = result.rows[-1] if result.rows else {}
        tiles.append(Tile(
            metric=key, label=result.label, unit=result.unit, value=row.get("value"),
            definition=result.definition, direction=result.direction,
            leading=metric.leading, n=row.get("n"), params=api_params(options),
            target=row.get("target"), attainment=row.get("attainment"),
            status=row.get("status"), numerator=row.get("numerator"),
            denominator=row.get("denominator")))
    label = periods.fiscal_label(start, "quarter", settings.fiscal_year_start_month)
    return Section(id="okrs", title=f"Targets for {label} (to {filters.as_of:%d %b})",
                   kind="tiles", tiles=tiles, metrics=keys,
                   note="Attainment so far, and the pace needed to reach the target by the "
                        "end of the quarter.")


def _target_metrics(reader: Reader) -> list[str]:
    rows = reader.query("SELECT DISTINCT metric FROM targets WHERE grain = 'quarter' "
                        "ORDER BY metric")
    known = []
    for (key,) in rows:
        try:
            metric_def(reader, str(key))
        except FunnelboardError:
            continue
        known.append(str(key))
    order = {k: i for i, k in enumerate((*LEADING, *LAGGING))}
    return sorted(known, key=lambda k: (order.get(k, 99), k))
