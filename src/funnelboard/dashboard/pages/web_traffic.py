"""Web: website traffic by channel, how engaged the visits are, how far landing pages are
read (scroll depth), new against returning visitors, and how visits turn into leads
(S0-4, S2-3, S3-2).

Every number here is summed from ``web_traffic`` rows except visit-to-lead, which divides the
funnel's leads by the sessions; web metrics break down by channel but not by motion, segment,
region or target account, and the notes say so when such a filter is set.
"""

from __future__ import annotations

from funnelboard.dashboard.build import (
    Reader,
    breakdown_section,
    drop_empty_rows,
    multi_trend_section,
    tiles_section,
    trend_section,
)
from funnelboard.dashboard.filters import Filters
from funnelboard.dashboard.model import Page, Section

HEADLINE = ("sessions", "engaged_sessions", "engagement_rate", "bounce_rate", "returning_share",
            "web_conversion_rate", "visit_to_lead_rate", "organic_share")
CHANNEL_KEYS = ("sessions", "engaged_sessions", "engagement_rate", "bounce_rate",
                "avg_session_duration", "web_conversions", "web_conversion_rate",
                "visit_to_lead_rate")
SCROLL_KEYS = ("landing_page_sessions", "web_conversion_rate", "scroll_rate_25",
               "scroll_rate_50", "scroll_rate_75", "scroll_rate_100")
VISITOR_KEYS = ("sessions", "engagement_rate", "bounce_rate", "pages_per_session",
                "avg_session_duration", "web_conversion_rate")
#: landing pages listed in the scroll-depth table, most sessions first
TOP_PAGES = 15


def build(reader: Reader, filters: Filters) -> Page:
    notes: list[str] = []
    page = Page("web", "Web", notes=notes)
    page.sections.append(headline_tiles(reader, filters, notes))
    charts = [
        trend_section(reader, filters, "sessions_by_channel", "sessions", notes, by="channel",
                      kind="bar", title="Sessions by channel"),
        multi_trend_section(reader, filters, "engagement", "Engagement and bounce rate",
                            ("engagement_rate", "bounce_rate"), notes,
                            note="Engaged sessions ÷ sessions, and bounced sessions ÷ "
                                 "sessions, per period."),
    ]
    page.sections += [c for c in charts if c is not None]
    page.sections += [channel_table(reader, filters, notes),
                      scroll_table(reader, filters, notes)]
    returning = trend_section(reader, filters, "returning_trend", "returning_share", notes,
                              title="Returning visitors' share of sessions")
    if returning is not None:
        page.sections.append(returning)
    page.sections.append(visitor_table(reader, filters, notes))
    conversion = multi_trend_section(
        reader, filters, "web_conversion", "From visit to lead",
        ("web_conversion_rate", "visit_to_lead_rate"), notes,
        note="Lead form submits ÷ sessions, and leads reached in the period ÷ sessions.")
    if conversion is not None:
        page.sections.append(conversion)
    return page


def headline_tiles(reader: Reader, filters: Filters, notes: list[str]) -> Section:
    return tiles_section(reader, filters, "headline", "Website", HEADLINE, notes,
                         note="Last complete period of the range, against the period before.")


def channel_table(reader: Reader, filters: Filters, notes: list[str]) -> Section:
    """Traffic, engagement and conversion per channel over the range (channels with leads
    but no website sessions are left out: they have nothing to show here)."""
    return drop_empty_rows(breakdown_section(
        reader, filters, "channels", "Traffic by channel", CHANNEL_KEYS, "channel", notes,
        note="Each channel's sessions, engagement and conversion over the whole range."))


def scroll_table(reader: Reader, filters: Filters, notes: list[str]) -> Section:
    """The landing pages with the most sessions and how far their visitors scrolled."""
    return breakdown_section(
        reader, filters, "scroll_depth", "Scroll depth by landing page", SCROLL_KEYS,
        "landing_page", notes, limit=TOP_PAGES,
        note=f"The {TOP_PAGES} landing pages with the most sessions: the share of their "
             "sessions that scrolled to 25, 50, 75 and 100% of the page (pages without scroll "
             "tracking are left out of those rates).")


def visitor_table(reader: Reader, filters: Filters, notes: list[str]) -> Section:
    return breakdown_section(
        reader, filters, "visitor_type", "New vs returning visitors", VISITOR_KEYS,
        "visitor_type", notes,
        note="Sessions of new and returning visitors over the whole range; rows without a "
             "visitor type are shown as (none).")
