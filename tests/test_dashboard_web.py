"""The web page on the demo company: every section is there, the tiles and tables are the
metric engine's numbers, and they agree with sums taken straight from web_traffic (sessions of
a month, of the range and per visitor type, scroll depth of the top landing page)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from funnelboard.dashboard.filters import Filters
from funnelboard.dashboard.model import Page, Section
from funnelboard.dashboard.pages import web_traffic
from funnelboard.workspace import Workspace

AS_OF = dt.date(2026, 6, 30)
START = dt.date(2025, 7, 1)
JUNE = (dt.date(2026, 6, 1), dt.date(2026, 6, 30))
MAY = (dt.date(2026, 5, 1), dt.date(2026, 5, 31))
SECTIONS = ("headline", "sessions_by_channel", "engagement", "channels", "scroll_depth",
            "returning_trend", "visitor_type", "web_conversion")
SCROLLS = ("scroll_rate_25", "scroll_rate_50", "scroll_rate_75", "scroll_rate_100")


def make_filters(**params: Any) -> Filters:
    return Filters.from_params(params, timezone="UTC", as_of=AS_OF)


@pytest.fixture(scope="module")
def page(demo_ws: Workspace) -> Page:
    return web_traffic.build(demo_ws, make_filters())


def section(page: Page, section_id: str) -> Section:
    found = page.section(section_id)
    assert found is not None, f"no section {section_id}"
    return found


def sessions_between(ws: Workspace, start: dt.date, end: dt.date, where: str = "TRUE",
                     params: list[Any] | None = None) -> int:
    rows = ws.query(f"SELECT sum(sessions) FROM web_traffic WHERE date BETWEEN ? AND ? "
                    f"AND {where}", [start, end, *(params or [])])
    return int(rows[0][0])


def test_every_section_is_there(page: Page) -> None:
    assert [s.id for s in page.sections] == list(SECTIONS)
    for s in page.sections:
        if s.kind == "chart":
            assert s.chart and s.table and s.table.rows, s.id
    engagement = section(page, "engagement")
    assert engagement.chart is not None
    assert sorted(engagement.chart["usermeta"]["funnelboard"]["series"]) == [
        "Bounce rate", "Engagement rate"]
    assert engagement.metrics == ["engagement_rate", "bounce_rate"]


def test_session_tiles_are_summed_from_web_traffic(demo_ws: Workspace, page: Page) -> None:
    tiles = {t.metric: t for t in section(page, "headline").tiles}
    assert list(tiles) == list(web_traffic.HEADLINE)
    assert tiles["sessions"].value == sessions_between(demo_ws, *JUNE) == 5095
    assert tiles["sessions"].previous == sessions_between(demo_ws, *MAY)
    (engaged, sessions), = demo_ws.query(
        "SELECT sum(engaged_sessions), sum(sessions) FROM web_traffic WHERE date BETWEEN ? "
        "AND ? AND engaged_sessions IS NOT NULL", list(JUNE))
    assert tiles["engagement_rate"].value == pytest.approx(engaged / sessions)


def test_every_tile_is_its_metric(demo_ws: Workspace, page: Page) -> None:
    for tile in section(page, "headline").tiles:
        result = demo_ws.metric(tile.metric, start=MAY[0], end=JUNE[1], as_of=AS_OF)
        may, june = (r["value"] for r in result.rows)
        assert (tile.value, tile.previous) == (pytest.approx(june), pytest.approx(may)), \
            tile.metric
        assert tile.params["start"] == JUNE[0].isoformat()


def test_channel_rows_add_up_to_the_range(demo_ws: Workspace, page: Page) -> None:
    table = section(page, "channels").table
    assert table is not None
    total = sessions_between(demo_ws, START, AS_OF)
    assert sum(r.get("sessions") or 0 for r in table.rows) == total
    trend = section(page, "sessions_by_channel").table
    assert trend is not None
    assert sum(r["value"] or 0 for r in trend.rows) == total
    # channels that bring leads but no tracked sessions have no row of blanks
    assert all(r.get("sessions") for r in table.rows)
    for row in table.rows:
        assert row["engagement_rate"] == pytest.approx(
            row["engaged_sessions"] / row["sessions"]), row["channel"]
    first = table.rows[0]
    assert table.drill[(0, "sessions")]["filter"] == [f"channel={first['channel']}"]


def test_scroll_depth_of_the_top_landing_page(demo_ws: Workspace, page: Page) -> None:
    table = section(page, "scroll_depth").table
    assert table is not None
    assert 0 < len(table.rows) <= web_traffic.TOP_PAGES
    sessions = [r["landing_page_sessions"] for r in table.rows]
    assert sessions == sorted(sessions, reverse=True)
    top = table.rows[0]
    (s25, s50, s75, s100, base), = demo_ws.query(
        "SELECT sum(scroll_25), sum(scroll_50), sum(scroll_75), sum(scroll_100), "
        "sum(sessions) FROM web_traffic WHERE date BETWEEN ? AND ? AND landing_page = ?",
        [START, AS_OF, top["landing_page"]])
    assert top["landing_page_sessions"] == base
    for key, reached in zip(SCROLLS, (s25, s50, s75, s100), strict=True):
        assert top[key] == pytest.approx(reached / base), key
    for row in table.rows:  # deeper scrolls are reached by fewer sessions
        depths = [row[k] for k in SCROLLS]
        assert depths == sorted(depths, reverse=True), row["landing_page"]
    assert (0, "scroll_rate_50") in table.drill


def test_new_and_returning_visitors(demo_ws: Workspace, page: Page) -> None:
    table = section(page, "visitor_type").table
    trend = section(page, "returning_trend").table
    assert table is not None and trend is not None
    rows = {r["visitor_type"]: r for r in table.rows}
    for kind in ("new", "returning"):
        assert rows[kind]["sessions"] == sessions_between(demo_ws, START, AS_OF,
                                                          "visitor_type = ?", [kind])
    returning = sum(r["numerator"] for r in trend.rows)
    known = sum(r["denominator"] for r in trend.rows)
    assert returning == rows["returning"]["sessions"]
    assert known == rows["new"]["sessions"] + rows["returning"]["sessions"]


def test_conversion_trend_is_the_two_rates(demo_ws: Workspace, page: Page) -> None:
    conversion = section(page, "web_conversion")
    assert conversion.metrics == ["web_conversion_rate", "visit_to_lead_rate"]
    assert conversion.table is not None
    visit = demo_ws.metric("visit_to_lead_rate", start=START, end=AS_OF, as_of=AS_OF)
    assert [r["visit_to_lead_rate"] for r in conversion.table.rows] == pytest.approx(
        [r["value"] for r in visit.rows])
    (conversions, sessions), = demo_ws.query(
        "SELECT sum(conversions), sum(sessions) FROM web_traffic WHERE date BETWEEN ? AND ? "
        "AND conversions IS NOT NULL", list(JUNE))
    assert conversion.table.rows[-1]["web_conversion_rate"] == pytest.approx(
        conversions / sessions)


def test_a_channel_filter_narrows_the_tiles(demo_ws: Workspace) -> None:
    notes: list[str] = []
    filters = make_filters(channel="organic_search", segment="enterprise", compare="none")
    tiles = {t.metric: t for t in web_traffic.headline_tiles(demo_ws, filters, notes).tiles}
    organic = demo_ws.metric("sessions", start=JUNE[0], end=JUNE[1], as_of=AS_OF,
                             filters={"channel": "organic_search"})
    assert tiles["sessions"].value == organic.rows[-1]["value"]
    assert 0 < tiles["sessions"].value < sessions_between(demo_ws, *JUNE)
    assert tiles["organic_share"].value == pytest.approx(1.0)  # organic search is free
    assert tiles["sessions"].params["filter"] == ["channel=organic_search"]
    assert any("cannot be filtered by segment" in n for n in notes)
