"""Web and top-of-funnel metrics (metrics.md §2): sessions, engagement, scroll depth, web
conversions, visit → lead, organic share and landing pages, all from ``web_traffic``.

Every measure of ``web_traffic`` is additive (data-contract.md), so each metric is a sum or a
ratio of sums at the requested grain, never an average of per-row ratios. Rates divide by the
sessions of the rows that report the numerator's measure: a GA4 export without scroll tracking
(or an older file without engaged sessions) leaves those rows out of that rate instead of
counting them as 0. The one exception is ``bounce_rate``, whose bounces are derived as
sessions − engaged sessions (GA4's "1 − engagement rate") on rows that report no bounces.

A row's ``channel`` is the stored one, else the channel the workspace's rules derive from its
``source`` / ``medium`` / ``campaign`` (:func:`~funnelboard.metrics.dimensions.with_channel`,
the same answer ``channels test`` gives).

``visit_to_lead_rate`` joins two sources at the aggregated level: leads reached in the period
from the funnel engine (period basis, the query's rule — cumulative by default) over sessions
from ``web_traffic``; by channel, leads use the contact's channel and sessions the web row's.
``landing_page_sessions`` ranks landing pages by sessions (converting or not).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from funnelboard.errors import UsageError
from funnelboard.metrics.dimensions import needed, with_channel
from funnelboard.metrics.engine import COMPILERS, Engine, compiler
from funnelboard.metrics.query import MetricQuery
from funnelboard.metrics.registry import MetricDef, register, resolve
from funnelboard.metrics.tables import Expr, Prepare, Source, column, prepared, table_flow

GROUP = "web"
TIME_BASIS = "web_traffic date"
DIMENSIONS = ("channel", "source", "medium", "campaign", "landing_page", "visitor_type")
#: Channels whose traffic is not paid for (organic_share; metrics.md §2, S3-2). The default
#: channel slugs of channels/defaults.py: organic search, social, video and shopping, referral,
#: direct and email.
FREE_CHANNELS = ("organic_search", "organic_social", "organic_video", "organic_shopping",
                 "referral", "direct", "email")
#: How many pages ``landing_page_sessions`` lists in ``extra.top_pages`` without --by.
TOP_PAGES = 10


def _prepare(always_channel: bool) -> Prepare:
    """Add ``fb_channel`` (stored channel, else derived by the rules) when the query breaks
    down or filters by channel, or always (``organic_share``)."""
    def prepare(engine: Engine, t: ir.Table, query: MetricQuery, notes: list[str]) -> ir.Table:
        if always_channel or "channel" in needed(query):
            return with_channel(engine, t, source=t.source, medium=t.medium,
                                campaign=t.campaign, stored=t.channel)
        return t
    return prepare


_DIMS = {
    "channel": lambda engine, t: t.fb_channel,
    "source": column("source"),
    "medium": column("medium"),
    "campaign": column("campaign"),
    "landing_page": column("landing_page"),
    "visitor_type": column("visitor_type"),
}
WEB = Source("web_traffic", "date", dims=_DIMS, prepare=_prepare(False))
WEB_WITH_CHANNEL = Source("web_traffic", "date", dims=_DIMS, prepare=_prepare(True))


def text_of(col: ir.Value) -> ir.StringValue:
    """Stored text, trimmed and lower-cased; empty reads as NULL."""
    return col.cast("string").strip().lower().nullif("")


def _col(name: str) -> Expr:
    return lambda t: t[name]


def _sessions_reporting(measure: Expr) -> Expr:
    """Sessions of the rows where ``measure`` is known (a rate's denominator)."""
    return lambda t: ibis.ifelse(measure(t).notnull(), t.sessions, 0)


def _flow(key: str, label: str, column_name: str, leading: bool, direction: str,
          definition: str) -> MetricDef:
    return register(MetricDef(
        key, label, GROUP, "table_flow", "count", direction, "flow", leading, TIME_BASIS,
        definition, dimensions=DIMENSIONS, params={"source": WEB, "num": _col(column_name)}))


def _rate(key: str, label: str, num: Expr, unit: str, direction: str, definition: str,
          *, den: Expr | None = None, source: Source = WEB, leading: bool = True) -> MetricDef:
    return register(MetricDef(
        key, label, GROUP, "table_ratio", unit, direction, "ratio", leading, TIME_BASIS,
        definition, dimensions=DIMENSIONS,
        params={"source": source, "num": num, "den": den or _sessions_reporting(num)}))


SESSIONS = _flow(
    "sessions", "Sessions", "sessions", True, "up",
    "Website sessions: the sum of web_traffic.sessions over the rows dated in the period (a "
    "session-level export counts 1 per row, an aggregated GA4 report as it is). Channel is the "
    "row's stored channel, else the GA4-style default channel group the workspace's rules "
    "derive from source, medium and campaign.")
_flow("pageviews", "Pageviews", "pageviews", True, "up",
      "Page views: the sum of web_traffic.pageviews over the rows dated in the period.")
_flow("users", "Users (sum of users per row)", "users", True, "up",
      "The sum of web_traffic.users over the rows dated in the period. Users are not additive "
      "across rows (one person visits on several days and from several channels), so this "
      "over-counts unique users; it is shown for reference and used in no ratio.")
_flow("engaged_sessions", "Engaged sessions", "engaged_sessions", True, "up",
      "Engaged sessions (GA4: longer than 10 seconds, with a key event, or with 2 or more page "
      "views): the sum of web_traffic.engaged_sessions over the rows dated in the period.")
_flow("web_conversions", "Web conversions", "conversions", True, "up",
      "Lead form submits on the website: the sum of web_traffic.conversions over the rows "
      "dated in the period.")

_rate("returning_share", "Returning visitor share",
      lambda t: ibis.ifelse(text_of(t.visitor_type) == "returning", t.sessions, 0),
      "ratio", "neutral",
      "Sessions of returning visitors ÷ sessions whose visitor type is known (new or "
      "returning), summed over the period's rows; empty when no row of the period has a "
      "visitor type.",
      den=lambda t: ibis.ifelse(text_of(t.visitor_type).isin(["new", "returning"]),
                                t.sessions, 0))
_rate("engagement_rate", "Engagement rate", _col("engaged_sessions"), "ratio", "up",
      "Engaged sessions ÷ sessions (GA4: an engaged session lasts longer than 10 seconds, has "
      "a key event or 2+ page views), over the rows that report engaged sessions; sums over "
      "the period, never an average of daily rates.")


def _bounces(t: ir.Table) -> ir.Value:
    return t.bounces.coalesce(t.sessions - t.engaged_sessions)


_rate("bounce_rate", "Bounce rate", _bounces, "ratio", "down",
      "Bounced sessions ÷ sessions. A row without bounces has them derived as sessions − "
      "engaged sessions (GA4: bounce rate = 1 − engagement rate); rows with neither are left "
      "out of both sums.")
_rate("avg_session_duration", "Average session duration", _col("duration_seconds"), "seconds",
      "up",
      "Time on site in seconds: total session duration (web_traffic.duration_seconds) ÷ "
      "sessions, over the rows that report a duration.")
_rate("pages_per_session", "Pages per session", _col("pageviews"), "count", "up",
      "Page views ÷ sessions, over the rows that report page views.")
for _depth in (25, 50, 75, 100):
    _rate(f"scroll_rate_{_depth}", f"Scroll reach {_depth}%", _col(f"scroll_{_depth}"), "ratio",
          "up",
          f"Sessions that scrolled to {_depth}% of the page (web_traffic.scroll_{_depth}) ÷ "
          f"sessions, over the rows that report scroll_{_depth} (pages without scroll tracking "
          "are left out). Break it down by landing page with --by landing_page (S2-3).")
_rate("web_conversion_rate", "Web conversion rate", _col("conversions"), "ratio", "up",
      "Web conversions (lead form submits) ÷ sessions, over the rows that report conversions.")
_rate("organic_share", "Organic (free) traffic share",
      lambda t: ibis.ifelse(t.fb_channel.isin(list(FREE_CHANNELS)), t.sessions, 0),
      "ratio", "up",
      "Sessions from free channels ÷ all sessions. Free channels: "
      + ", ".join(FREE_CHANNELS) + " (the row's stored channel, else the one the channel "
      "rules derive; unassigned traffic counts as not free).",
      den=_col("sessions"), source=WEB_WITH_CHANNEL)


# -- visit → lead --------------------------------------------------------------------------------

register(MetricDef(
    "visit_to_lead_rate", "Visit → lead rate", GROUP, "visit_to_lead", "ratio", "up", "ratio",
    True, "stage date (leads, period basis) and web_traffic date (sessions)",
    "Leads reached in the period ÷ website sessions in the period. Leads use the period basis "
    "(each contact counted once, in the period it reached the lead stage) and the cumulative "
    "rule by default (a contact that entered a later stage counts as a lead; --rule strict "
    "counts only actual lead entries); sessions are summed from web_traffic. By channel, a "
    "lead counts under its contact's channel and a session under the web row's channel, so "
    "a channel with leads but no tracked sessions has no value. Empty when there are no "
    "sessions.",
    dimensions=("channel",)))


def lead_stage(engine: Engine) -> str:
    """The funnel stage visits convert into: ``lead`` when configured, else the first."""
    stages = tuple(engine.settings.stages)
    return "lead" if "lead" in stages else stages[0]


def visit_to_lead_sides(engine: Engine, query: MetricQuery
                        ) -> tuple[MetricDef, MetricQuery, MetricQuery]:
    """What ``visit_to_lead_rate`` divides: the leads metric (the count of the lead stage)
    with its query (period basis, the query's rule, channel and filters), and the query of
    :data:`SESSIONS` over the same window."""
    if query.level != "contact":
        raise UsageError("visit_to_lead_rate compares contacts with sessions; leave out "
                         "--level account.")
    stage = lead_stage(engine)
    leads_def = resolve(engine.settings.stage_plurals[stage], engine.settings)
    lead_query = query.replace(metric=leads_def.key, basis="period", compare=None)
    return leads_def, lead_query, query.replace(metric=SESSIONS.key, compare=None)


@compiler("visit_to_lead")
def visit_to_lead(engine: Engine, metric: MetricDef, query: MetricQuery,
                  notes: list[str]) -> list[dict[str, Any]]:
    """Σ leads (funnel engine, period basis) ÷ Σ sessions per period × channel."""
    leads_def, lead_query, sessions_query = visit_to_lead_sides(engine, query)
    leads = COMPILERS[leads_def.kind](engine, leads_def, lead_query, notes)
    sessions = table_flow(engine, SESSIONS, sessions_query, notes)

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        return (r["period"], *[r.get(d) for d in query.by])

    num = {key(r): r for r in leads}
    den = {key(r): r for r in sessions}
    rows = []
    for k in sorted(set(num) | set(den), key=lambda x: (x[0], *[str(v) for v in x[1:]])):
        n = int(num[k]["value"]) if k in num else 0
        d = int(den[k]["value"] or 0) if k in den else 0
        inferred = int((num[k].get("extra") or {}).get("inferred", 0)) if k in num else 0
        extra: dict[str, Any] = {"leads": n, "sessions": d}
        if query.rule == "cumulative":
            extra["inferred"] = inferred
        rows.append({"period": k[0], **dict(zip(query.by, k[1:], strict=True)),
                     "value": n / d if d else None, "numerator": n, "denominator": d,
                     "n": d, "extra": extra})
    return rows


# -- landing pages -------------------------------------------------------------------------------

register(MetricDef(
    "landing_page_sessions", "Landing page sessions", GROUP, "landing_pages", "count", "up",
    "flow", True, TIME_BASIS,
    "Sessions per landing page, converting or not (S3-2). With --by landing_page each row is "
    "one page with extra.rank (1 = most sessions in its period and other breakdowns; ties by "
    "page name), extra.conversions and extra.conversion_rate (conversions ÷ the sessions of "
    "the rows that report conversions, empty when there are none); rows without a landing "
    "page are ranked together as one page. Without it, the value is the period's sessions, "
    f"extra.top_pages lists the {TOP_PAGES} pages with the most sessions (page, sessions, "
    "conversions, rank) and extra.pages the number of pages.",
    dimensions=DIMENSIONS, params={"source": WEB}))


@compiler("landing_pages")
def landing_pages(engine: Engine, metric: MetricDef, query: MetricQuery,
                  notes: list[str]) -> list[dict[str, Any]]:
    """Sessions and conversions per landing page, ranked by sessions inside each period and
    combination of the other dimensions (all in the engine)."""
    t, period = prepared(engine, metric, query, notes)
    t = t.mutate(fb_page=column("landing_page")(engine, t))
    others = [d for d in query.by if d != "landing_page"]
    extra_dims = {d: t[d] for d in others}
    agg = t.group_by(period=period, fb_page=t.fb_page, **extra_dims).aggregate(
        sessions=t.sessions.sum(), conversions=t.conversions.sum(),
        reporting=ibis.ifelse(t.conversions.notnull(), t.sessions, 0).sum(), rows=t.count())
    order = [ibis.desc(agg.sessions), agg.fb_page.isnull(), agg.fb_page]
    partition = [agg.period, *[agg[d] for d in others]]
    agg = agg.mutate(
        rank=ibis.row_number().over(ibis.window(group_by=partition, order_by=order)) + 1,
        total=agg.sessions.sum().over(ibis.window(group_by=partition)),
        all_rows=agg.rows.sum().over(ibis.window(group_by=partition)),
        pages=agg.fb_page.count().over(ibis.window(group_by=partition)),
        unnamed=agg.fb_page.isnull().cast("int64").sum().over(ibis.window(group_by=partition)))
    if "landing_page" in query.by:
        out = []
        for r in engine.execute(agg):
            sessions, conversions = int(r["sessions"] or 0), r["conversions"]
            conv = int(conversions) if conversions is not None else None
            reporting = int(r["reporting"] or 0)
            out.append({
                "period": r["period"], "landing_page": r["fb_page"],
                **{d: r[d] for d in others},
                "value": sessions, "numerator": None, "denominator": None, "n": int(r["rows"]),
                "extra": {"rank": int(r["rank"]), "conversions": conv,
                          "conversion_rate": (conv / reporting) if conv is not None and reporting
                          else None}})
        return out
    top = agg.filter(agg["rank"] <= TOP_PAGES)
    cells: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in sorted(engine.execute(top), key=lambda x: x["rank"]):
        k = (r["period"], *[r[d] for d in others])
        cell = cells.setdefault(k, {
            "period": r["period"], **{d: r[d] for d in others},
            "value": int(r["total"] or 0), "numerator": None, "denominator": None,
            "n": int(r["all_rows"]),
            "extra": {"pages": int(r["pages"]) + int(r["unnamed"]), "top_pages": []}})
        conv = r["conversions"]
        cell["extra"]["top_pages"].append({
            "landing_page": r["fb_page"], "sessions": int(r["sessions"] or 0),
            "conversions": int(conv) if conv is not None else None, "rank": int(r["rank"])})
    return list(cells.values())
