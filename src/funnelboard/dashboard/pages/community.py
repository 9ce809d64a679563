"""Community & nurture: whether the community grows and gets its questions answered, and how
the email programs are received (delivery, opens, clicks, opt-outs and complaints) by program
and audience."""

from __future__ import annotations

from funnelboard.dashboard.build import (
    Reader,
    breakdown_section,
    tiles_section,
    trend_section,
)
from funnelboard.dashboard.filters import Filters
from funnelboard.dashboard.model import Page

TILE_NOTE = "Last complete period of the range, against the period before."
COMMUNITY_TILES = ("community_members", "community_active_members", "community_posts",
                   "answered_rate", "time_to_first_answer")
#: medians (time to first answer) cannot be combined over a range, so the table leaves them out
COMMUNITY_BREAKDOWN = ("community_members", "community_active_members", "community_posts",
                       "answered_rate")
EMAIL_METRICS = ("emails_sent", "delivered_rate", "email_bounce_rate", "open_rate",
                 "click_rate", "click_to_open_rate", "unsubscribe_rate", "spam_rate")
EMAIL_NOTE = ("Over the whole range; each rate is a sum of counts ÷ a sum of counts over the "
              "sends, never an average of per-email rates. Opens are inflated by mail privacy "
              "protection, so prefer clicks for engagement.")


def build(reader: Reader, filters: Filters) -> Page:
    notes: list[str] = []
    page = Page("community", "Community", notes=notes)
    page.sections.append(tiles_section(reader, filters, "community", "Community",
                                       COMMUNITY_TILES, notes, note=TILE_NOTE))
    page.sections.append(tiles_section(reader, filters, "email", "Email nurture",
                                       EMAIL_METRICS, notes, note=TILE_NOTE))
    charts = (
        trend_section(reader, filters, "members_trend", "community_members", notes,
                      by="platform", title="Community members by platform",
                      note="Members at each period's end (a stock, not a sum)."),
        trend_section(reader, filters, "posts_trend", "community_posts", notes, by="platform",
                      kind="bar", title="Community posts by platform"),
        trend_section(reader, filters, "answer_time_trend", "time_to_first_answer", notes,
                      title="Time to first answer (median hours)"),
        trend_section(reader, filters, "answered_rate_trend", "answered_rate", notes,
                      title="Answered rate",
                      note="Questions asked lately may still be waiting for their answer."),
        trend_section(reader, filters, "click_rate_trend", "click_rate", notes, by="program",
                      title="Email click rate by program"),
    )
    page.sections.extend(s for s in charts if s is not None)
    page.sections.append(breakdown_section(
        reader, filters, "community_by_platform", "Community by platform",
        COMMUNITY_BREAKDOWN, "platform", notes,
        note="Members at the range's end; posts and answered rate over the whole range."))
    page.sections.append(breakdown_section(
        reader, filters, "email_by_program", "Email by program", EMAIL_METRICS, "program",
        notes, note=EMAIL_NOTE))
    page.sections.append(breakdown_section(
        reader, filters, "email_by_audience", "Email by audience", EMAIL_METRICS, "audience",
        notes, note=EMAIL_NOTE))
    return page
