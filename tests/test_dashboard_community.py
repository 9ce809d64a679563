"""The community & nurture page on the demo company: tiles are the engine's numbers for the
last full month, and community size, answer times and email rates agree with SQL on the
engagement, community_questions and email_sends tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from funnelboard.dashboard.filters import Filters
from funnelboard.dashboard.model import Page, Section
from funnelboard.dashboard.pages import community
from funnelboard.workspace import Workspace

AS_OF = dt.date(2026, 6, 30)
START = dt.date(2025, 7, 1)
JUNE = (dt.date(2026, 6, 1), dt.date(2026, 6, 30))
SECTIONS = ("community", "email", "members_trend", "posts_trend", "answer_time_trend",
            "answered_rate_trend", "click_rate_trend", "community_by_platform",
            "email_by_program", "email_by_audience")
EMAIL_RATES = ("delivered_rate", "email_bounce_rate", "open_rate", "click_rate",
               "click_to_open_rate", "unsubscribe_rate", "spam_rate")


def make_filters(**params: Any) -> Filters:
    return Filters.from_params(params, timezone="UTC", as_of=AS_OF)


@pytest.fixture(scope="module")
def page(demo_ws: Workspace) -> Page:
    return community.build(demo_ws, make_filters())


def section(page: Page, section_id: str) -> Section:
    found = page.section(section_id)
    assert found is not None, f"no section {section_id}"
    return found


def rows(page: Page, section_id: str) -> list[dict[str, Any]]:
    table = section(page, section_id).table
    assert table is not None
    found: list[dict[str, Any]] = table.rows
    return found


def test_every_section_is_there(page: Page) -> None:
    assert [s.id for s in page.sections] == list(SECTIONS)
    assert [t.metric for t in section(page, "community").tiles] == list(community.COMMUNITY_TILES)
    assert [t.metric for t in section(page, "email").tiles] == list(community.EMAIL_METRICS)
    assert section(page, "email_by_program").metrics == list(community.EMAIL_METRICS)
    # a median cannot be combined over a range, so the platform table leaves it out
    assert "time_to_first_answer" not in section(page, "community_by_platform").metrics


def test_tiles_are_the_engines_numbers_for_june(page: Page, demo_ws: Workspace) -> None:
    for sid in ("community", "email"):
        for t in section(page, sid).tiles:
            result = demo_ws.metric(t.metric, start=JUNE[0], end=JUNE[1], as_of=AS_OF,
                                    compare="previous")
            row = result.rows[-1]
            assert (t.value, t.previous) == pytest.approx((row["value"],
                                                           row["previous_value"])), t.metric
            assert t.value is not None, t.metric


def test_community_size_is_each_platforms_last_audience_in_june(
        page: Page, demo_ws: Workspace) -> None:
    ((members, active),) = demo_ws.query(
        "SELECT sum(audience), sum(active_members) FROM ("
        "  SELECT audience, active_members, row_number() OVER ("
        "    PARTITION BY platform ORDER BY date DESC) AS latest"
        "  FROM engagement WHERE lower(kind) = 'community' AND date BETWEEN ? AND ?) "
        "WHERE latest = 1", list(JUNE))
    tiles = {t.metric: t for t in section(page, "community").tiles}
    assert tiles["community_members"].value == members == 692
    assert tiles["community_active_members"].value == active


def test_time_to_first_answer_is_the_median_hours_of_junes_answered_questions(
        page: Page, demo_ws: Workspace) -> None:
    ((median, asked, answered),) = demo_ws.query(
        "SELECT median(epoch(first_answered_at - asked_at) / 3600.0) "
        "  FILTER (WHERE CAST(first_answered_at AS DATE) <= ?), count(*),"
        "  count(*) FILTER (WHERE CAST(first_answered_at AS DATE) <= ?)"
        " FROM community_questions WHERE CAST(asked_at AS DATE) BETWEEN ? AND ?",
        [AS_OF, AS_OF, *JUNE])
    tiles = {t.metric: t for t in section(page, "community").tiles}
    assert tiles["time_to_first_answer"].value == pytest.approx(median, rel=1e-6)
    assert tiles["answered_rate"].value == pytest.approx(answered / asked)
    assert tiles["answered_rate"].n == asked


def test_email_rates_by_program_are_ratios_of_sums_from_the_sends_table(
        page: Page, demo_ws: Workspace) -> None:
    table = rows(page, "email_by_program")
    sums = demo_ws.query(
        "SELECT program, sum(sent), "
        "  sum(unique_opens) FILTER (WHERE unique_opens IS NOT NULL AND delivered IS NOT NULL),"
        "  sum(delivered) FILTER (WHERE unique_opens IS NOT NULL AND delivered IS NOT NULL),"
        "  sum(unique_clicks) FILTER (WHERE unique_clicks IS NOT NULL AND unique_opens IS NOT"
        "  NULL), sum(unique_opens) FILTER (WHERE unique_clicks IS NOT NULL AND unique_opens IS"
        "  NOT NULL) FROM email_sends WHERE CAST(sent_at AS DATE) BETWEEN ? AND ? GROUP BY 1",
        [START, AS_OF])
    assert len(sums) == len(table) == 5
    shown = {r["program"]: r for r in table}
    for program, sent, opens, delivered, clicks, opened in sums:
        assert shown[program]["emails_sent"] == sent
        assert shown[program]["open_rate"] == pytest.approx(opens / delivered)
        assert shown[program]["click_to_open_rate"] == pytest.approx(clicks / opened)
    sent_by_count = [r["emails_sent"] for r in table]
    assert sent_by_count == sorted(sent_by_count, reverse=True)


def test_breakdowns_add_up_to_the_range_totals(page: Page, demo_ws: Workspace) -> None:
    ((sent, posts),) = demo_ws.query(
        "SELECT (SELECT sum(sent) FROM email_sends WHERE CAST(sent_at AS DATE) BETWEEN ? AND ?),"
        " (SELECT sum(posts) FROM engagement WHERE lower(kind) = 'community' "
        "  AND date BETWEEN ? AND ?)", [START, AS_OF, START, AS_OF])
    assert sum(r["emails_sent"] for r in rows(page, "email_by_program")) == sent
    assert sum(r["emails_sent"] for r in rows(page, "email_by_audience")) == sent
    assert sum(r["community_posts"] for r in rows(page, "community_by_platform")) == posts
    for r in rows(page, "email_by_audience"):
        for key in EMAIL_RATES:
            assert 0 <= r[key] <= 1, (r["audience"], key)


def test_email_cells_drill_to_their_sends(page: Page) -> None:
    table = section(page, "email_by_program").table
    assert table is not None
    row = next(i for i, r in enumerate(table.rows) if r["program"] == "newsletter")
    drill = table.drill[(row, "open_rate")]
    assert drill["filter"] == ["program=newsletter"]
    assert (drill["cell_start"], drill["cell_end"]) == ("2025-07-01", "2026-06-30")
    assert len(table.drill) == len(table.rows) * len(community.EMAIL_METRICS)


def test_a_channel_filter_does_not_apply_and_says_so(page: Page, demo_ws: Workspace) -> None:
    filtered = community.build(demo_ws, make_filters(channel=["paid_search"]))
    assert "Emails sent cannot be filtered by channel; it shows all of them." in filtered.notes
    assert "Community members cannot be filtered by channel; it shows all of them." in \
        filtered.notes
    assert [(t.metric, t.value) for s in filtered.sections for t in s.tiles] == \
        [(t.metric, t.value) for s in page.sections for t in s.tiles]


def test_a_shorter_range_changes_the_tables(page: Page, demo_ws: Workspace) -> None:
    quarter = community.build(demo_ws, make_filters(start="2026-04-01", grain="quarter"))
    ((sent,),) = demo_ws.query("SELECT sum(sent) FROM email_sends WHERE CAST(sent_at AS DATE) "
                               "BETWEEN ? AND ?", [dt.date(2026, 4, 1), AS_OF])
    assert sum(r["emails_sent"] for r in rows(quarter, "email_by_program")) == sent
    assert sent < sum(r["emails_sent"] for r in rows(page, "email_by_program"))
    members = next(t for t in section(quarter, "community").tiles
                   if t.metric == "community_members")
    assert members.params["start"] == "2026-04-01" and members.params["grain"] == "quarter"
    assert members.value == 692  # a stock: the quarter's value is its last month's
