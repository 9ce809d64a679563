"""The channels page on the demo company: every section is there, each tile is the metric
engine's number for the same query, the breakdowns add up to the whole (leads counted by hand
from the contacts and stage events, ad spend summed from ad_performance), and a channel filter
narrows the cost tiles to that channel's own metric."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from funnelboard.dashboard.filters import Filters
from funnelboard.dashboard.model import Page, Section
from funnelboard.dashboard.pages import channels
from funnelboard.metrics.totals import range_total
from funnelboard.workspace import Workspace

AS_OF = dt.date(2026, 6, 30)
START = dt.date(2025, 7, 1)
#: the last complete month, which the tiles show, and the one before it
JUNE = (dt.date(2026, 6, 1), dt.date(2026, 6, 30))
MAY = (dt.date(2026, 5, 1), dt.date(2026, 5, 31))
SECTIONS = ("cost_per_stage", "returns", "leads_by_channel", "by_channel", "campaigns",
            "motion_trend", "motion")
COST_TILES = ["cost_per_lead", "cost_per_mql", "cost_per_sql", "cost_per_opportunity",
              "cost_per_customer"]
PLURALS = ("leads", "mqls", "sqls", "opportunities", "customers")


def make_filters(**params: Any) -> Filters:
    return Filters.from_params(params, timezone="UTC", as_of=AS_OF)


@pytest.fixture(scope="module")
def page(demo_ws: Workspace) -> Page:
    return channels.build(demo_ws, make_filters())


def section(page: Page, section_id: str) -> Section:
    found = page.section(section_id)
    assert found is not None, f"no section {section_id}"
    return found


def may_and_june(ws: Workspace, key: str, **options: Any) -> tuple[Any, Any]:
    """The metric's values of May and June 2026 (what a June tile compares), in one query."""
    result = ws.metric(key, start=MAY[0], end=JUNE[1], as_of=AS_OF, grain="month", **options)
    assert [r["period"] for r in result.rows] == [MAY[0], JUNE[0]]
    return result.rows[0]["value"], result.rows[1]["value"]


def range_rows(ws: Workspace, key: str, by: str) -> dict[Any, Any]:
    result = range_total(ws.metric(key, start=START, end=AS_OF, as_of=AS_OF, by=[by]))
    return {r[by]: r["value"] for r in result.rows}


def leads_by_hand(ws: Workspace) -> int:
    """Contacts created in the range that entered any stage by the as-of date: under the
    cumulative rule each of them reached lead (data-contract.md, "Reached a stage")."""
    rows = ws.query(
        "SELECT count(DISTINCT c.contact_id) FROM contacts c JOIN stage_events e "
        "ON e.contact_id = c.contact_id WHERE CAST(c.created_at AS DATE) BETWEEN ? AND ? "
        "AND CAST(e.entered_at AS DATE) <= ? AND e.stage IN "
        "('lead', 'mql', 'sql', 'opportunity', 'customer')", [START, AS_OF, AS_OF])
    return int(rows[0][0])


def test_every_section_is_there(page: Page) -> None:
    assert [s.id for s in page.sections] == list(SECTIONS)
    kinds = {s.id: s.kind for s in page.sections}
    assert kinds["cost_per_stage"] == kinds["returns"] == "tiles"
    assert kinds["leads_by_channel"] == kinds["motion_trend"] == "chart"
    for s in page.sections:
        if s.kind == "chart":
            assert s.chart and s.table and s.table.rows, s.id


def test_cost_tiles_are_the_blended_metrics_of_june(demo_ws: Workspace, page: Page) -> None:
    tiles = section(page, "cost_per_stage").tiles
    assert [t.metric for t in tiles] == COST_TILES
    for tile in tiles:
        may, june = may_and_june(demo_ws, tile.metric)
        assert (tile.value, tile.previous) == (pytest.approx(june), pytest.approx(may))
        assert tile.unit == "currency" and tile.params["start"] == JUNE[0].isoformat()
    lead = tiles[0]
    # cost per lead = marketing cost ÷ the contacts that reached lead in June (period basis)
    leads = demo_ws.metric("leads", start=JUNE[0], end=JUNE[1], as_of=AS_OF, basis="period")
    assert lead.denominator == leads.rows[-1]["value"]
    assert lead.value == pytest.approx(lead.numerator / lead.denominator)


def test_spend_tile_is_the_ad_spend_summed_from_ad_performance(demo_ws: Workspace,
                                                               page: Page) -> None:
    tiles = {t.metric: t for t in section(page, "returns").tiles}
    assert list(tiles) == ["ad_spend", "marketing_roi", "pipeline_to_spend"]
    (june_spend,), = demo_ws.query("SELECT sum(spend) FROM ad_performance "
                                   "WHERE date BETWEEN ? AND ?", list(JUNE))
    (may_spend,), = demo_ws.query("SELECT sum(spend) FROM ad_performance "
                                  "WHERE date BETWEEN ? AND ?", list(MAY))
    assert tiles["ad_spend"].value == pytest.approx(float(june_spend))
    assert tiles["ad_spend"].previous == pytest.approx(float(may_spend))
    roi, per_spend = tiles["marketing_roi"], tiles["pipeline_to_spend"]
    # both divide by the same marketing cost of June, which includes that ad spend
    assert roi.denominator == pytest.approx(per_spend.denominator)
    assert roi.denominator > float(june_spend)
    assert roi.value == pytest.approx(roi.numerator / roi.denominator)
    sourced = demo_ws.metric("marketing_sourced_pipeline", start=JUNE[0], end=JUNE[1],
                             as_of=AS_OF)
    assert per_spend.numerator == pytest.approx(sourced.rows[-1]["value"])
    assert per_spend.value == pytest.approx(per_spend.numerator / per_spend.denominator)


def test_channel_rows_add_up_to_the_leads_counted_by_hand(demo_ws: Workspace,
                                                          page: Page) -> None:
    table = section(page, "by_channel").table
    assert table is not None
    keys = [c.key for c in table.columns]
    assert keys[:6] == ["channel", *PLURALS]
    assert keys[6:] == ["lead_to_mql_rate", "lead_to_customer_rate", "ad_spend",
                        "cost_per_lead", "cost_per_mql", "marketing_sourced_pipeline"]
    total = sum(r.get("leads") or 0 for r in table.rows)
    assert total == leads_by_hand(demo_ws) == 529
    by_metric = range_rows(demo_ws, "mqls", "channel")
    assert {r["channel"]: r.get("mqls") or 0 for r in table.rows if "mqls" in r} == by_metric
    leads = [r.get("leads") or 0 for r in table.rows]
    assert leads == sorted(leads, reverse=True)


def test_channel_money_columns_are_the_range_totals(demo_ws: Workspace, page: Page) -> None:
    table = section(page, "by_channel").table
    assert table is not None
    spend = range_rows(demo_ws, "ad_spend", "channel")
    rows = {r["channel"]: r for r in table.rows}
    for channel, value in spend.items():
        assert rows[channel]["ad_spend"] == pytest.approx(value), channel
    (total,), = demo_ws.query("SELECT sum(spend) FROM ad_performance WHERE date BETWEEN ? "
                              "AND ?", [START, AS_OF])
    assert sum(spend.values()) == pytest.approx(float(total))
    paid = rows["paid_search"]
    per_lead = demo_ws.metric("cost_per_lead", start=START, end=AS_OF, as_of=AS_OF,
                              filters={"channel": "paid_search"})
    cost = sum(r["numerator"] for r in per_lead.rows)
    contacts = sum(r["denominator"] for r in per_lead.rows)
    assert paid["cost_per_lead"] == pytest.approx(cost / contacts)
    # no channel row is empty: a value only one metric knows is left out
    assert all(any(v is not None for k, v in r.items() if k != "channel") for r in table.rows)


def test_drill_links_on_cells_with_values(page: Page) -> None:
    table = section(page, "by_channel").table
    assert table is not None
    first = table.rows[0]
    leads = table.drill[(0, "leads")]
    assert leads["filter"] == [f"channel={first['channel']}"]
    assert (leads["cell_start"], leads["cell_end"]) == (START.isoformat(), AS_OF.isoformat())
    # a ratio of two sources (cost rows ÷ MQLs) drills too, to its cost rows and its MQLs
    costed = [i for i, r in enumerate(table.rows) if r.get("cost_per_mql") is not None]
    assert costed and all((i, "cost_per_mql") in table.drill for i in costed)


def test_campaigns_rank_by_leads_with_their_roi(demo_ws: Workspace, page: Page) -> None:
    table = section(page, "campaigns").table
    assert table is not None
    assert [c.key for c in table.columns][:2] == ["campaign", "leads"]
    leads = [r.get("leads") or 0 for r in table.rows]
    assert leads == sorted(leads, reverse=True)
    roi = demo_ws.metric("campaign_roi", start=START, end=AS_OF, as_of=AS_OF, by=["campaign"])
    gads = [r for r in roi.rows if r["campaign"] == "GADS-1002"]
    expected = sum(r["numerator"] for r in gads) / sum(r["denominator"] for r in gads)
    row = next(r for r in table.rows if r["campaign"] == "GADS-1002")
    assert row["campaign_roi"] == pytest.approx(expected)
    assert row["leads"] == range_rows(demo_ws, "leads", "campaign")["GADS-1002"]


def test_inbound_and_outbound_add_up(demo_ws: Workspace, page: Page) -> None:
    table = section(page, "motion").table
    trend = section(page, "motion_trend")
    assert table is not None and trend.table is not None
    assert {r["motion"] for r in table.rows} == {"inbound", "outbound"}
    assert sum(r["leads"] for r in table.rows) == leads_by_hand(demo_ws)
    per_motion = {m: sum(r["value"] for r in trend.table.rows if r["motion"] == m)
                  for m in ("inbound", "outbound")}
    assert per_motion == {r["motion"]: r["leads"] for r in table.rows}


def test_a_channel_filter_narrows_the_cost_tiles(demo_ws: Workspace, page: Page) -> None:
    notes: list[str] = []
    filters = make_filters(channel="paid_search", motion="inbound", compare="none")
    tiles = channels.cost_tiles(demo_ws, filters, notes)
    assert [t.metric for t in tiles.tiles] == COST_TILES
    assert all(t.params["filter"] == ["channel=paid_search"] for t in tiles.tiles)
    lead = tiles.tiles[0]
    _, june = may_and_june(demo_ws, "cost_per_lead", filters={"channel": "paid_search"})
    assert lead.value == pytest.approx(june)
    whole = section(page, "cost_per_stage").tiles[0]
    assert lead.denominator < whole.denominator and lead.numerator < whole.numerator
    assert any("cannot be filtered by motion" in n for n in notes)
