"""The revenue page on the demo company: MRR at each month end is the sum of the mrr table,
the MRR bridge reconciles (start + movements = end) on the page's own numbers, new MRR and NPS
agree with SQL, and the churn and LTV tables add up to the totals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from funnelboard.dashboard.filters import Filters
from funnelboard.dashboard.model import Page, Section
from funnelboard.dashboard.pages import revenue
from funnelboard.metrics.revenue import nps_parts
from funnelboard.workspace import Workspace

AS_OF = dt.date(2026, 6, 30)
START = dt.date(2025, 7, 1)
JUNE = (dt.date(2026, 6, 1), dt.date(2026, 6, 30))
SECTIONS = ("customers", "unit_economics", "mrr_trend", "mrr_movements", "mrr_bridge",
            "churn_by_channel", "churn_by_source", "value_by_channel", "value_by_segment", "nps")
MOVEMENTS = ("new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr")


def make_filters(**params: Any) -> Filters:
    return Filters.from_params(params, timezone="UTC", as_of=AS_OF)


@pytest.fixture(scope="module")
def page(demo_ws: Workspace) -> Page:
    return revenue.build(demo_ws, make_filters())


def section(page: Page, section_id: str) -> Section:
    found = page.section(section_id)
    assert found is not None, f"no section {section_id}"
    return found


def rows(page: Page, section_id: str) -> list[dict[str, Any]]:
    table = section(page, section_id).table
    assert table is not None
    found: list[dict[str, Any]] = table.rows
    return found


def mrr_by_month(ws: Workspace, segment: str | None = None) -> dict[dt.date, float]:
    """Σ mrr per month straight from the mrr table (its amounts are in the reporting
    currency), optionally for one account segment."""
    sql = ("SELECT m.month, sum(m.mrr) FROM mrr m JOIN accounts a USING (account_id) "
           "WHERE m.month BETWEEN ? AND ?" + (" AND a.segment = ?" if segment else "") +
           " GROUP BY 1")
    params: list[Any] = [dt.date(2025, 6, 1), AS_OF] + ([segment] if segment else [])
    return {month: float(total) for month, total in ws.query(sql, params)}


def test_every_section_is_there(page: Page) -> None:
    assert [s.id for s in page.sections] == list(SECTIONS)
    assert [t.metric for t in section(page, "customers").tiles] == [
        "mrr", "arr", "paying_customers", "nrr", "grr", "logo_churn_rate",
        "gross_mrr_churn_rate", "nps"]
    assert [t.metric for t in section(page, "unit_economics").tiles] == [
        "arpa", "ltv", "cac", "ltv_to_cac", "cac_payback_months"]
    movements = section(page, "mrr_movements")
    assert movements.chart and movements.metrics == list(MOVEMENTS)


def test_mrr_at_each_month_end_is_the_sum_of_the_mrr_table(
        page: Page, demo_ws: Workspace) -> None:
    from_sql = mrr_by_month(demo_ws)
    bridge = rows(page, "mrr_bridge")
    assert [r["period"] for r in bridge] == [dt.date(2025 + (6 + i) // 12, (6 + i) % 12 + 1, 1)
                                             for i in range(12)]
    for row in bridge:
        assert row["end"] == pytest.approx(from_sql[row["period"]])
    assert bridge[0]["start"] == pytest.approx(from_sql[dt.date(2025, 6, 1)])
    tiles = {t.metric: t for t in section(page, "customers").tiles}
    assert tiles["mrr"].value == pytest.approx(from_sql[JUNE[0]])
    assert tiles["mrr"].previous == pytest.approx(from_sql[dt.date(2026, 5, 1)])
    assert tiles["arr"].value == pytest.approx(12 * from_sql[JUNE[0]])
    ((paying,),) = demo_ws.query("SELECT count(DISTINCT account_id) FROM mrr WHERE month = ? "
                                 "AND mrr > 0", [JUNE[0]])
    assert tiles["paying_customers"].value == paying == 11


def test_the_bridge_reconciles_start_plus_movements_to_end(page: Page) -> None:
    bridge = rows(page, "mrr_bridge")
    moved = 0.0
    for before, row in zip([None, *bridge], bridge, strict=False):
        if before is not None:
            assert row["start"] == before["end"]
        changes = [row[key] for key in MOVEMENTS]
        assert row["start"] + sum(changes) == pytest.approx(row["end"], abs=0.005)
        assert row["net_change"] == pytest.approx(sum(changes))
        assert row["contraction_mrr"] <= 0 and row["churned_mrr"] <= 0
        assert row["new_mrr"] >= 0 and row["expansion_mrr"] >= 0
        moved += sum(abs(c) for c in changes)
    assert moved > 10_000  # the demo's year has real movements, not only zeros


def test_the_chart_table_holds_the_same_movements_as_the_bridge(page: Page) -> None:
    chart_rows = rows(page, "mrr_movements")
    bridge = {r["period"]: r for r in rows(page, "mrr_bridge")}
    labels = {"New MRR": "new_mrr", "Expansion MRR": "expansion_mrr",
              "Reactivation MRR": "reactivation_mrr", "Contraction MRR": "contraction_mrr",
              "Churned MRR": "churned_mrr"}
    assert len(chart_rows) == 5 * len(bridge)
    for r in chart_rows:
        assert r["value"] == pytest.approx(bridge[r["period"]][labels[r["movement"]]])


def test_new_mrr_is_the_first_paying_month_of_new_accounts(
        page: Page, demo_ws: Workspace) -> None:
    firsts = demo_ws.query(
        "WITH first_paid AS (SELECT account_id, min(month) AS first FROM mrr WHERE mrr > 0 "
        "GROUP BY 1) SELECT m.month, sum(m.mrr) FROM mrr m JOIN first_paid f "
        "ON f.account_id = m.account_id AND f.first = m.month "
        "WHERE m.month BETWEEN ? AND ? GROUP BY 1", [START, AS_OF])
    expected = {month: float(total) for month, total in firsts}
    assert len(expected) >= 2
    for row in rows(page, "mrr_bridge"):
        assert row["new_mrr"] == pytest.approx(expected.get(row["period"], 0.0))


def test_churn_tables_add_up_to_the_churn_of_the_bridge(page: Page) -> None:
    churned_in_bridge = -sum(r["churned_mrr"] for r in rows(page, "mrr_bridge"))
    assert churned_in_bridge > 0
    for sid in ("churn_by_channel", "churn_by_source"):
        table = rows(page, sid)
        assert sum(r.get("churned_mrr") or 0 for r in table) == pytest.approx(churned_in_bridge)
        assert sum(r.get("churn_by_source") or 0 for r in table) == 4


def test_ltv_tables_split_the_paying_customers(page: Page, demo_ws: Workspace) -> None:
    for sid in ("value_by_channel", "value_by_segment"):
        table = rows(page, sid)
        assert sum(r.get("paying_customers") or 0 for r in table) == 11, sid
        assert table[0]["ltv"] == max(r["ltv"] for r in table if r.get("ltv") is not None)
    ltv = demo_ws.metric("ltv", start=JUNE[0], end=JUNE[1], as_of=AS_OF, by=["segment"])
    shown = {r["segment"]: r["ltv"] for r in rows(page, "value_by_segment")}
    assert shown == pytest.approx({r["segment"]: r["value"] for r in ltv.rows})


def test_nps_has_its_responses_and_margin_of_error(page: Page, demo_ws: Workspace) -> None:
    table = rows(page, "nps")
    whole = table[-1]
    assert whole["period"] == "Whole range"
    ((n, promoters, detractors),) = demo_ws.query(
        "SELECT count(*), count(*) FILTER (WHERE score >= 9), count(*) FILTER (WHERE score <= 6)"
        " FROM nps_responses WHERE score IS NOT NULL "
        "AND CAST(responded_at AS DATE) BETWEEN ? AND ?", [START, AS_OF])
    assert whole["n"] == n == sum(r["n"] for r in table[:-1]) > 0
    assert (whole["promoters"], whole["detractors"]) == (promoters, detractors)
    assert whole["value"] == pytest.approx(100 * (promoters - detractors) / n)
    passives = n - promoters - detractors
    assert whole["margin_of_error"] == pytest.approx(
        nps_parts(promoters, passives, detractors)["margin_of_error"])
    assert 0 < whole["margin_of_error"] < 100
    august = next(r for r in table if r["period"] == "2025-08")
    assert august["n"] == 7 and august["value"] == pytest.approx(-57.142857)


def test_a_segment_filter_gives_that_segments_bridge(page: Page, demo_ws: Workspace) -> None:
    notes: list[str] = []
    sections = revenue.mrr_movement_sections(demo_ws, make_filters(segment=["Enterprise"]),
                                             notes)
    bridge = next(s for s in sections if s.id == "mrr_bridge").table
    assert bridge is not None
    from_sql = mrr_by_month(demo_ws, "Enterprise")
    unfiltered = {r["period"]: r["end"] for r in rows(page, "mrr_bridge")}
    for row in bridge.rows:
        assert row["end"] == pytest.approx(from_sql.get(row["period"], 0.0))
        assert row["end"] < unfiltered[row["period"]]
        assert row["start"] + sum(row[k] for k in MOVEMENTS) == pytest.approx(row["end"])


def test_daily_and_weekly_grains_fall_back_to_months() -> None:
    notes: list[str] = []
    weekly = make_filters(grain="week")
    assert revenue.monthly(weekly, notes).grain == "month"
    assert notes == ["Recurring revenue is measured by month, so this page shows months "
                     "rather than weeks."]
    quarterly = make_filters(grain="quarter")
    assert revenue.monthly(quarterly, notes) is quarterly and len(notes) == 1
