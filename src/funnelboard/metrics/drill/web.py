"""Web and community metrics: the web_traffic rows summed into sessions (landing pages, the
visit → lead rate's denominator), the leads over them, and the community questions a time to
first answer is the median of."""

from __future__ import annotations

import datetime as dt

import ibis.expr.types as ir

from funnelboard.metrics.dimensions import with_channel
from funnelboard.metrics.drill.funnel import funnel_records
from funnelboard.metrics.drill.registry import COUNTED, lists, record_key
from funnelboard.metrics.engine import Engine
from funnelboard.metrics.query import MetricQuery
from funnelboard.metrics.registry import MetricDef
from funnelboard.metrics.tables import prepared, text

#: web_traffic columns a drill-down shows after the row's key and date
WEB_SHOWN = ("landing_page", "channel", "source", "medium", "campaign", "visitor_type")


def web_rows(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
             end: dt.date, notes: list[str]) -> ir.Table:
    """The web_traffic rows of the cell, read as ``metric`` (a metric of the web module's
    sources) reads them, with each row's sessions in :data:`COUNTED`."""
    t, _period = prepared(engine, metric, query.replace(start=start, end=end), notes)
    if "fb_channel" not in t.columns:  # shown even when the metric did not need it
        t = with_channel(engine, t, source=t.source, medium=t.medium, campaign=t.campaign,
                         stored=t.channel)
    shown = {c: t.fb_channel if c == "channel" else text(t[c]) for c in WEB_SHOWN}
    return t.select(
        web_row=record_key(t.fb_day, *shown.values()), date=t.fb_day, **shown,
        sessions=t.sessions, conversions=t.conversions, **{COUNTED: t.sessions})


_CHANNEL_NOTE = ("A row's channel is the stored one, else the one the workspace's channel "
                 "rules derive from its source, medium and campaign.")


@lists("landing_pages", sides={"numerator": "web_traffic rows (sessions summed)"})
def landing_page_records(engine: Engine, metric: MetricDef, query: MetricQuery,
                         start: dt.date, end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """The web_traffic rows of the cell (of its landing page, when broken down by page)."""
    notes: list[str] = []
    return web_rows(engine, metric, query, start, end, notes), [*notes, _CHANNEL_NOTE]


@lists("visit_to_lead", sides={"numerator": "leads reached in the period",
                               "denominator": "web_traffic rows (sessions summed)"})
def visit_to_lead_records(engine: Engine, metric: MetricDef, query: MetricQuery,
                          start: dt.date, end: dt.date,
                          side: str) -> tuple[ir.Table, list[str]]:
    """Numerator: the contacts that reached the lead stage in the cell (the leads metric's own
    records, period basis); denominator: the web_traffic rows whose sessions are summed."""
    from funnelboard.metrics.web import SESSIONS, visit_to_lead_sides

    leads_def, lead_query, sessions_query = visit_to_lead_sides(engine, query)
    if side == "numerator":
        t, notes = funnel_records(engine, leads_def, lead_query, start, end, "numerator")
        return t, [*notes, "By channel, a lead counts under its contact's channel."]
    notes = []
    t = web_rows(engine, SESSIONS, sessions_query, start, end, notes)
    return t, [*notes, _CHANNEL_NOTE]


@lists("answer_hours", sides={"numerator": "questions answered (the median is taken over "
                                           "their hours)"})
def answer_records(engine: Engine, metric: MetricDef, query: MetricQuery, start: dt.date,
                   end: dt.date, side: str) -> tuple[ir.Table, list[str]]:
    """The questions asked in the cell and answered by the as-of date (an answer dated before
    its question is left out, as in the median), with the hours to the first answer."""
    from funnelboard.metrics.community import answer_lags

    notes: list[str] = []
    t, _period = answer_lags(engine, metric, query.replace(start=start, end=end), notes)
    t = t.filter(t.fb_valid)
    t = t.select(question_id=t.question_id, asked_at=t.asked_at,
                 first_answered_at=t.first_answered_at, hours=t.fb_hours.round(2),
                 platform=text(t.platform), answered_by=text(t.answered_by))
    return t, [*notes, "Questions not answered by the as-of date are not listed; the number is "
                       "the median of the hours column."]
