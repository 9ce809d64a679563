"""The ABM & pipeline page on the demo company: every section is there, each number is the
metric engine's for the same query, and the deal numbers agree with SQL on the opportunities
table (bookings by segment, lost deals by reason, stale deals, coverage converted to USD)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from funnelboard.dashboard.filters import Filters
from funnelboard.dashboard.model import Page, Section
from funnelboard.dashboard.pages import pipeline
from funnelboard.metrics.totals import range_total
from funnelboard.workspace import Workspace

AS_OF = dt.date(2026, 6, 30)
#: the default range: the 12 months to the as-of date
START = dt.date(2025, 7, 1)
#: the last complete month, which the tiles show
JUNE = (dt.date(2026, 6, 1), dt.date(2026, 6, 30))
SECTIONS = ("abm", "pipeline", "outcomes", "ad_engagement", "ad_ctr", "engaged_accounts_trend",
            "demos", "sourced_pipeline_trend", "ads_by_platform", "sourced_by_channel",
            "win_by_segment", "win_by_competitor", "win_by_owner", "loss_reasons",
            "stale_deals")


def make_filters(**params: Any) -> Filters:
    return Filters.from_params(params, timezone="UTC", as_of=AS_OF)


@pytest.fixture(scope="module")
def page(demo_ws: Workspace) -> Page:
    return pipeline.build(demo_ws, make_filters())


def section(page: Page, section_id: str) -> Section:
    found = page.section(section_id)
    assert found is not None, f"no section {section_id}"
    return found


def month_value(ws: Workspace, key: str, **options: Any) -> Any:
    result = ws.metric(key, start=JUNE[0], end=JUNE[1], as_of=AS_OF, grain="month", **options)
    return result.rows[-1]["value"]


def range_rows(ws: Workspace, key: str, by: str, **options: Any) -> dict[Any, Any]:
    result = range_total(ws.metric(key, start=START, end=AS_OF, as_of=AS_OF, by=[by],
                                   **options))
    return {r[by]: r["value"] for r in result.rows}


def test_every_section_is_there_with_its_kind(page: Page) -> None:
    assert [s.id for s in page.sections] == list(SECTIONS)
    assert page.title == "ABM & pipeline"
    for s in page.sections:
        if s.kind == "chart":
            assert s.chart and s.table and s.table.rows, s.id
        elif s.kind == "tiles":
            assert s.tiles and s.metrics == [t.metric for t in s.tiles], s.id
    assert [t.metric for t in section(page, "abm").tiles] == [
        "engaged_accounts", "target_account_reach", "target_account_engagement", "demos_booked"]
    owners = section(page, "win_by_owner").table
    assert owners is not None
    assert owners.column_keys() == ["owner", "win_rate", "bookings", "loss_reasons"]


def test_tiles_show_the_last_full_month_as_the_engine_computes_it(
        page: Page, demo_ws: Workspace) -> None:
    tiles = {t.metric: t for sid in ("abm", "pipeline", "outcomes")
             for t in section(page, sid).tiles}
    assert set(tiles) == {"engaged_accounts", "target_account_reach",
                          "target_account_engagement", "demos_booked", "pipeline_created",
                          "marketing_sourced_pipeline", "marketing_pipeline_share",
                          "open_pipeline", "pipeline_coverage", "win_rate", "acv",
                          "sales_velocity"}
    for key in ("engaged_accounts", "marketing_sourced_pipeline", "open_pipeline",
                "sales_velocity"):
        assert tiles[key].value == pytest.approx(month_value(demo_ws, key)), key
        assert tiles[key].params["start"] == "2026-06-01"
        assert tiles[key].params["end"] == "2026-06-30"
    # June against May, as the demos chart of the same page shows them
    demos = tiles["demos_booked"]
    chart = section(page, "demos").table
    assert chart is not None
    by_month = {r["period"]: r["value"] for r in chart.rows}
    assert (demos.value, demos.previous) == (by_month[dt.date(2026, 6, 1)],
                                             by_month[dt.date(2026, 5, 1)]) == (2, 7)
    # no deal closed in June, so the win rate and ACV have nothing to measure
    ((closed,),) = demo_ws.query("SELECT count(*) FROM opportunities WHERE is_closed AND "
                                 "close_date BETWEEN ? AND ?", list(JUNE))
    assert closed == 0
    assert tiles["win_rate"].value is None and tiles["acv"].value is None


def test_coverage_is_the_next_quarter_against_its_target_converted_at_the_as_of_rate(
        page: Page, demo_ws: Workspace) -> None:
    coverage = next(t for t in section(page, "pipeline").tiles
                    if t.metric == "pipeline_coverage")
    assert "2026-Q3" in coverage.label
    ((target,),) = demo_ws.query("SELECT target FROM targets WHERE metric = 'bookings' AND "
                                 "grain = 'quarter' AND period_start = ?", [dt.date(2026, 7, 1)])
    ((open_amount, deals),) = demo_ws.query(
        "SELECT sum(o.amount * CASE WHEN o.currency = 'USD' THEN 1 ELSE ("
        "  SELECT f.rate_to_reporting FROM fx_rates f WHERE f.currency = o.currency"
        "  AND f.date <= ? ORDER BY f.date DESC LIMIT 1) END), count(*) "
        "FROM opportunities o WHERE NOT o.is_closed AND o.close_date BETWEEN ? AND ? "
        "AND CAST(o.created_at AS DATE) <= ?",
        [AS_OF, dt.date(2026, 7, 1), dt.date(2026, 9, 30), AS_OF])
    assert coverage.target == float(target) == coverage.denominator
    assert coverage.numerator == pytest.approx(float(open_amount))
    assert coverage.n == deals == 11
    assert coverage.value == pytest.approx(float(open_amount) / float(target))


def test_bookings_by_segment_match_sql_on_won_deals(page: Page, demo_ws: Workspace) -> None:
    table = section(page, "win_by_segment").table
    assert table is not None
    shown = {r["segment"]: r["bookings"] for r in table.rows}
    won = demo_ws.query(
        "SELECT coalesce(o.segment, a.segment), sum(o.amount * CASE WHEN o.currency = 'USD' "
        "THEN 1 ELSE (SELECT f.rate_to_reporting FROM fx_rates f WHERE f.currency = o.currency"
        " AND f.date <= o.close_date ORDER BY f.date DESC LIMIT 1) END) "
        "FROM opportunities o LEFT JOIN accounts a USING (account_id) "
        "WHERE o.is_won AND o.close_date BETWEEN ? AND ? GROUP BY 1", [START, AS_OF])
    assert len(won) >= 2
    assert shown == pytest.approx({seg: float(amount) for seg, amount in won})


def test_win_rate_by_segment_is_won_over_closed_summed_over_the_range(
        page: Page, demo_ws: Workspace) -> None:
    table = section(page, "win_by_segment").table
    assert table is not None
    expected = range_rows(demo_ws, "win_rate", "segment")
    assert {r["segment"]: r["win_rate"] for r in table.rows} == pytest.approx(expected)
    rates = [r["win_rate"] for r in table.rows]
    assert rates == sorted(rates, reverse=True)  # the table ranks by its first column


def test_lost_deals_by_reason_match_sql_and_add_up(page: Page, demo_ws: Workspace) -> None:
    table = section(page, "loss_reasons").table
    assert table is not None
    shown = {r["loss_reason"]: r["loss_reasons"] for r in table.rows}
    lost = demo_ws.query("SELECT loss_reason, count(*) FROM opportunities WHERE is_closed "
                         "AND NOT is_won AND close_date BETWEEN ? AND ? GROUP BY 1",
                         [START, AS_OF])
    assert shown == dict(lost)
    total = demo_ws.metric("loss_reasons", start=START, end=AS_OF, as_of=AS_OF)
    assert sum(shown.values()) == sum(r["value"] for r in total.rows) == 15
    # the same lost deals, counted per rep, add up to the same total
    by_owner = section(page, "win_by_owner").table
    assert by_owner is not None
    assert sum(r.get("loss_reasons") or 0 for r in by_owner.rows) == 15


def test_ads_by_platform_add_up_and_drill_to_their_records(
        page: Page, demo_ws: Workspace) -> None:
    table = section(page, "ads_by_platform").table
    assert table is not None
    total = demo_ws.metric("impressions", start=START, end=AS_OF, as_of=AS_OF)
    assert sum(r["impressions"] for r in table.rows) == sum(r["value"] for r in total.rows)
    ((impressions, clicks),) = demo_ws.query(
        "SELECT sum(impressions), sum(clicks) FROM ad_performance WHERE platform = 'linkedin' "
        "AND date BETWEEN ? AND ?", [START, AS_OF])
    linkedin = next(r for r in table.rows if r["platform"] == "linkedin")
    assert linkedin["impressions"] == impressions
    assert linkedin["ctr"] == pytest.approx(clicks / impressions)
    row = table.rows.index(linkedin)
    drill = table.drill[(row, "clicks")]
    assert drill["filter"] == ["platform=linkedin"]
    assert (drill["cell_start"], drill["cell_end"]) == ("2025-07-01", "2026-06-30")


def test_stale_deals_are_the_open_deals_past_their_close_date(
        page: Page, demo_ws: Workspace) -> None:
    table = section(page, "stale_deals").table
    assert table is not None
    stale = demo_ws.query("SELECT opportunity_id, owner, close_date FROM opportunities "
                          "WHERE NOT is_closed AND close_date < ? "
                          "AND CAST(created_at AS DATE) <= ? ORDER BY close_date", [AS_OF, AS_OF])
    assert [(r["opportunity_id"], r["owner"], r["close_date"]) for r in table.rows] == stale
    assert [r["days_overdue"] for r in table.rows] == [(AS_OF - d).days for _, _, d in stale]
    assert "3 deals" in section(page, "stale_deals").note


def test_a_channel_filter_narrows_stale_deals_and_coverage(
        page: Page, demo_ws: Workspace) -> None:
    notes: list[str] = []
    sdr = make_filters(channel=["outbound_sdr"])
    stale = pipeline.stale_deals_section(demo_ws, sdr, notes)
    assert stale is not None and stale.table is not None
    # a deal's channel is its own, else its primary contact's
    expected = demo_ws.query(
        "SELECT o.opportunity_id, o.amount FROM opportunities o "
        "LEFT JOIN contacts c ON c.contact_id = o.contact_id "
        "WHERE NOT o.is_closed AND o.close_date < ? "
        "AND coalesce(o.channel, c.channel) = 'outbound_sdr' ORDER BY o.close_date", [AS_OF])
    assert len(expected) == 2
    assert [(r["opportunity_id"], r["amount"]) for r in stale.table.rows] == [
        (oid, float(amount)) for oid, amount in expected]
    all_stale = section(page, "stale_deals").table
    assert all_stale is not None and len(all_stale.rows) == 3

    coverage = pipeline.coverage_tile(demo_ws, sdr, notes)
    assert coverage is not None
    everything = next(t for t in section(page, "pipeline").tiles
                      if t.metric == "pipeline_coverage")
    assert 0 < coverage.numerator < everything.numerator
    # the bookings target is company-wide: no channel target, so no coverage, and a note
    assert coverage.value is None
    assert any("No bookings target" in n for n in notes)
    assert coverage.params["filter"] == ["channel=outbound_sdr"]


def test_coverage_quarter_is_the_running_one_until_its_last_day() -> None:
    mid = make_filters(as_of="2026-05-15")
    assert pipeline.coverage_quarter(mid, 1) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    last = make_filters()
    assert pipeline.coverage_quarter(last, 1) == (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    fiscal = make_filters(as_of="2026-05-15")
    assert pipeline.coverage_quarter(fiscal, 2) == (dt.date(2026, 5, 1), dt.date(2026, 7, 31))
