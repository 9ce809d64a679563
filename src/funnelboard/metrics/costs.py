"""Marketing (and sales) cost rows in the reporting currency, never counted twice.

metrics.md §3: marketing cost = ``costs`` rows of team ``marketing`` (every category) plus
``ad_performance.spend``. A ``costs`` row of category ``ad_spend`` for a month and channel
that ``ad_performance`` already covers is left out, so spend reported by the ad platforms and
booked again by finance counts once; the result's notes say which source was used. CAC adds
team ``sales``; a ``costs`` row with an empty team counts as marketing, with a note.

:func:`cost_rows` returns one table that cost-based metrics (cost per stage, CAC, ROI, profit,
paid CAC) aggregate by period and by ``channel`` / ``campaign``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from funnelboard.metrics.engine import Engine, Window
from funnelboard.metrics.money import AMOUNT, in_reporting_currency
from funnelboard.metrics.query import MetricQuery

#: An ad platform's channel when its campaign names none (metrics.md §3).
PLATFORM_CHANNELS = {"google_ads": "paid_search", "bing": "paid_search",
                     "microsoft_ads": "paid_search", "linkedin": "paid_social",
                     "meta": "paid_social", "facebook": "paid_social", "x": "paid_social",
                     "twitter": "paid_social", "tiktok": "paid_social", "reddit": "paid_social"}

COLUMNS = ("fb_day", "month", "channel", "campaign", "team", "category", "amount", "source")


def _text(col: ir.Value) -> ir.StringValue:
    return col.cast("string").strip().nullif("")


def ad_rows(engine: Engine, query: MetricQuery, notes: list[str]) -> ir.Table:
    """``ad_performance`` with ``channel`` (campaign's, else platform default), ``campaign``,
    ``fb_day`` and the spend in the reporting currency (``amount``), inside the window."""
    ads = engine.table("ad_performance")
    ads = ads.filter(Window.of(query).contains(ads.date))
    ads = in_reporting_currency(engine, ads, "spend", "currency", ads.date, notes,
                                "ad spend rows")
    camps = engine.table("campaigns")
    lookup = camps.select(k_campaign=_text(camps.campaign_id), k_channel=_text(camps.channel))
    ads = ads.mutate(fb_campaign=_text(ads.campaign_id))
    ads = ads.left_join(lookup, ads.fb_campaign == lookup.k_campaign)
    platform = ads.platform.cast("string").strip().lower()
    default = ibis.cases(*[(platform == name, channel)
                           for name, channel in PLATFORM_CHANNELS.items()],
                         else_=ibis.null().cast("string"))
    return ads.select(
        fb_day=ads.date, month=ads.date.truncate("M"), channel=ads.k_channel.coalesce(default),
        campaign=ads.fb_campaign, team=ibis.literal("marketing"),
        category=ibis.literal("ad_spend"), amount=ads[AMOUNT],
        source=ibis.literal("ad_performance"), platform=platform,
        impressions=ads.impressions, clicks=ads.clicks)


def cost_rows(engine: Engine, query: MetricQuery, notes: list[str], *,
              teams: tuple[str, ...] = ("marketing",), include_ads: bool = True) -> ir.Table:
    """Cost rows of ``teams`` (and ad spend) inside the query window, in the reporting
    currency, with the columns of :data:`COLUMNS`. See the module docstring."""
    c = engine.table("costs")
    c = c.filter(Window.of(query).contains(c.month))
    c = in_reporting_currency(engine, c, "amount", None, c.month, notes, "cost rows")
    team = _text(c.team).lower()
    empty_team = c.filter(team.isnull())
    if "marketing" in teams:
        n = engine.execute(empty_team.aggregate(n=empty_team.count()))[0]["n"]
        if n:
            notes.append(f"{n} cost row(s) have no team and are counted as marketing.")
    c = c.mutate(fb_team=team.coalesce("marketing"))
    c = c.filter(c.fb_team.isin(list(teams)))
    costs = c.select(fb_day=c.month, month=c.month.truncate("M"), channel=_text(c.channel),
                     campaign=_text(c.campaign_id), team=c.fb_team,
                     category=_text(c.category).lower(), amount=c[AMOUNT],
                     source=ibis.literal("costs"))
    if not include_ads or "marketing" not in teams:
        return costs
    ads = ad_rows(engine, query, notes)
    covered = ads.group_by("month", "channel").aggregate(
        spend=ads.amount.sum()).select("month", "channel")
    ad_costs = costs.filter(costs.category == "ad_spend")
    overlap = ad_costs.semi_join(covered, [ad_costs.month == covered.month,
                                           ad_costs.channel == covered.channel])
    n = engine.execute(overlap.aggregate(n=overlap.count()))[0]["n"]
    if n:
        notes.append(f"{n} ad_spend cost row(s) cover a month and channel that ad_performance "
                     "already reports; the ad platforms' spend is used for them.")
        costs = costs.anti_join(overlap, [costs.month == overlap.month,
                                          costs.channel == overlap.channel,
                                          costs.category == overlap.category])
    return costs.union(ads.select(*COLUMNS))
