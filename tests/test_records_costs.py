"""The unit-economics drill-downs list exactly the records a number sums or counts: on every
cell of the demo's results the sum of the records' ``counted`` column (or their number) equals
the cell's value, numerator or denominator; on a tiny hand-built workspace the very records
counted by hand are listed, each with its part of the number.

HAND-BUILT (UTC, reporting currency USD, gross margin 0.8, as-of 2025-06-30, the second
quarter of 2025):

    MRR      Jan-Mar  Apr  May  Jun   account channel
    a0         50      50   50   50   (January, the first month of data, is the opening)
    a1          .       .  200  200   paid_search (contact c1): new logo in May
    a2          .       .    .  300   webinar (contact c2): new logo in June

    costs: 04-01 marketing programs 1000; 05-01 sales salaries 2000; 06-01 product tools 500
    ad spend: 05-05 google_ads, campaign G1 (paid_search by the platform) 400
    campaigns: cp1 cost 700 from 04-15, no itemised cost rows
    deals: o1 a1 won 05-20 5000 marketing, campaign cp1 (created 03-01)
           o2 a2 won 06-10 1000 sales (created 05-01)
           o3 a2 open, created 04-15, 2000 marketing

    cac                = (1000 + 2000 + 400) ÷ 2 new logos (a1, a2)          = 1700
    cac_payback_months = 3400 ÷ ((200 + 300) × 0.8 = 160 + 240)              = 8.5
    paid_cac           = 400 (paid_search ad spend) ÷ 1 (a1)                 = 400
    marketing_roi      = (5000 × 0.8 − (1000 + 400)) ÷ 1400 = 2600 ÷ 1400
    pipeline_to_spend  = 2000 (o3) ÷ 1400
    campaign_roi       = (5000 − (400 (G1) + 700 (cp1))) ÷ 1100 = 3900 ÷ 1100
    profit             = MRR 150 (a0) + 400 (a1) + 300 (a2) − 3900 (every cost) = −3050
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from funnelboard.errors import UsageError
from funnelboard.metrics.query import make_query
from funnelboard.metrics.records import Records, cell_of, drillable, fetch, sides_of
from funnelboard.metrics.registry import resolve
from funnelboard.settings import Settings
from funnelboard.workspace import Workspace
from records_support import APPROX, AS_OF, RANGE, workspace_from
from records_support import cell_records as _cell
from records_support import cells as _cells
from records_support import side_measure as _measure

D = dt.date


SUM, COUNT = "sum", "count"
#: (metric, options, [(side, field of the result row, how the side adds up)])
CASES = [
    ("cac", {}, [("numerator", "numerator", SUM), ("denominator", "denominator", COUNT)]),
    ("cac_payback_months", {}, [("numerator", "numerator", SUM),
                                ("denominator", "denominator", SUM)]),
    ("paid_cac", {}, [("numerator", "numerator", SUM), ("denominator", "denominator", COUNT)]),
    ("paid_cac", {"by": ["channel"]}, [("numerator", "numerator", SUM),
                                       ("denominator", "denominator", COUNT)]),
    ("marketing_roi", {}, [("numerator", "numerator", SUM),
                           ("denominator", "denominator", SUM)]),
    ("pipeline_to_spend", {}, [("numerator", "numerator", SUM),
                               ("denominator", "denominator", SUM)]),
    ("campaign_roi", {}, [("numerator", "numerator", SUM), ("denominator", "denominator", SUM)]),
    ("profit", {}, [("numerator", "value", SUM)]),
]


@pytest.mark.parametrize(("key", "options", "checks"), CASES,
                         ids=[f"{k}-{'-'.join(map(str, o.values())) or 'total'}"
                              for k, o, _ in CASES])
def test_records_add_up_to_every_cell(demo_ws: Workspace, key: str, options: dict[str, Any],
                                      checks: list[tuple[str, str, str]]) -> None:
    cells = _cells(demo_ws, key, grain="quarter", **options)
    assert len(cells) >= 4
    nonzero = 0
    for row, q in cells:
        for side, field, how in checks:
            got = _measure(_cell(demo_ws, q, row, side), how)
            assert got == pytest.approx(row[field] or 0, **APPROX), (key, side, row)
            nonzero += bool(got)
    assert nonzero >= 4


def test_campaign_roi_by_campaign(demo_ws: Workspace) -> None:
    """Three campaigns of the demo's fourth quarter of 2025: one with a won deal and ad spend,
    one with a won deal and no cost, one with a trade show's cost only."""
    rng = {"start": "2025-10-01", "end": "2025-12-31", "as_of": AS_OF}
    cells = _cells(demo_ws, "campaign_roi", rng, grain="quarter", by=["campaign"],
                   filters={"campaign": ["GADS-1002", "REFERRAL", "TS-2025-10"]})
    assert sorted(row["campaign"] for row, _ in cells) == ["GADS-1002", "REFERRAL",
                                                           "TS-2025-10"]
    for row, q in cells:
        num = _cell(demo_ws, q, row, "numerator", limit=1000)
        den = _cell(demo_ws, q, row, "denominator", limit=1000)
        assert num.counted == pytest.approx(row["numerator"], **APPROX)
        assert den.counted == pytest.approx(row["denominator"], **APPROX)
        assert {r["campaign"] for r in num.rows + den.rows} == {row["campaign"]}
        won = [r for r in num.rows if r["record"] == "won deal"]
        assert len(won) == row["n"] and all(r["counted"] > 0 for r in won)
        assert all(r["counted"] < 0 for r in num.rows if r["record"] != "won deal")
    assert all(row["numerator"] for row, _ in cells)


def test_a_difference_lists_both_kinds_of_records(demo_ws: Workspace) -> None:
    """Profit: MRR months count positively, cost rows negatively; sorted by counted."""
    row, q = _cells(demo_ws, "profit", grain="quarter")[0]
    first, last = cell_of(row["period"], q)
    top = fetch(demo_ws.engine(), q, first, last, sort="counted", descending=True, limit=5)
    bottom = fetch(demo_ws.engine(), q, first, last, sort="counted", limit=5)
    assert top.counted == pytest.approx(row["value"], **APPROX)
    assert top.columns[0] == "record_id" and len(top.columns) <= 15
    assert {r["record"] for r in top.rows} == {"MRR month"}
    assert {r["record"] for r in bottom.rows} <= {"cost row", "ad spend"}
    assert [r["counted"] for r in top.rows] == sorted((r["counted"] for r in top.rows),
                                                      reverse=True)
    assert top.rows[0]["counted"] > 0 > bottom.rows[0]["counted"]


def test_which_metrics_are_drillable() -> None:
    s = Settings()
    for key in ("cac", "cac_payback_months", "paid_cac", "marketing_roi", "pipeline_to_spend",
                "campaign_roi"):
        assert set(sides_of(resolve(key, s))) == {"numerator", "denominator"}, key
    assert set(sides_of(resolve("profit", s))) == {"numerator"}
    # LTV : CAC is a ratio of two metrics (LTV and CAC), not of records
    assert not drillable(resolve("ltv_to_cac", s))


def test_ltv_to_cac_says_to_drill_into_its_parts(demo_ws: Workspace) -> None:
    q = make_query("ltv_to_cac", timezone="UTC", **RANGE, grain="quarter")
    with pytest.raises(UsageError, match="computed from other metrics"):
        fetch(demo_ws.engine(), q, D(2025, 7, 1), D(2025, 9, 30))


def test_monthly_metrics_drill_into_monthly_cells_only(demo_ws: Workspace) -> None:
    q = make_query("cac", timezone="UTC", **RANGE, grain="week")
    with pytest.raises(UsageError, match="monthly data"):
        fetch(demo_ws.engine(), q, D(2025, 7, 7), D(2025, 7, 13))


# -- a tiny workspace counted by hand ---------------------------------------------------------

FILES = {
    "accounts": "account_id,name\na0,Zero\na1,Acme\na2,Beta\n",
    "contacts": """\
contact_id,created_at,account_id,channel
c1,2025-04-01T00:00:00Z,a1,paid_search
c2,2025-04-10T00:00:00Z,a2,webinar
""",
    "opportunities": """\
opportunity_id,created_at,amount,currency,account_id,contact_id,is_closed,is_won,close_date,type,source_type,campaign_id
o1,2025-03-01T00:00:00Z,5000,USD,a1,c1,true,true,2025-05-20,new_business,marketing,cp1
o2,2025-05-01T00:00:00Z,1000,USD,a2,c2,true,true,2025-06-10,new_business,sales,
o3,2025-04-15T00:00:00Z,2000,USD,a2,c2,false,false,2025-09-30,expansion,marketing,
""",
    "campaigns": """\
campaign_id,name,channel,type,start_date,end_date,cost
cp1,Roadshow,event,event,2025-04-15,2025-04-30,700
""",
    "ad_performance": """\
date,platform,campaign_id,impressions,clicks,spend,currency
2025-05-05,google_ads,G1,1000,40,400,USD
""",
    "costs": """\
month,category,amount,team,channel,campaign_id
2025-04-01,programs,1000,marketing,,
2025-05-01,salaries,2000,sales,,
2025-06-01,tools,500,product,,
""",
    "mrr": """\
month,account_id,mrr
2025-01-01,a0,50
2025-02-01,a0,50
2025-03-01,a0,50
2025-04-01,a0,50
2025-05-01,a0,50
2025-06-01,a0,50
2025-05-01,a1,200
2025-06-01,a1,200
2025-06-01,a2,300
""",
}
Q2 = (D(2025, 4, 1), D(2025, 6, 30))
PROGRAMS = ("cost row", D(2025, 4, 1), 1000.0)
SALARIES = ("cost row", D(2025, 5, 1), 2000.0)
TOOLS = ("cost row", D(2025, 6, 1), 500.0)
AD = ("ad spend", D(2025, 5, 5), 400.0)
CP1 = ("campaign cost", D(2025, 4, 15), 700.0)
O1 = ("won deal", D(2025, 5, 20), 5000.0)


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = workspace_from(tmp_path_factory.mktemp("costs") / "ws", FILES)
    yield ws
    ws.close()


def _hand(ws: Workspace, key: str, side: str = "numerator") -> tuple[dict[str, Any], Records]:
    """The second quarter's result row and the records of one side (all of them)."""
    options = {"start": Q2[0], "end": Q2[1], "as_of": Q2[1], "grain": "quarter"}
    (row,) = ws.metric(key, **options).rows
    rec = fetch(ws.engine(), make_query(key, timezone="UTC", **options), *Q2, side=side,
                limit=100)
    return row, rec


def _money(rec: Records, scale: float = 1.0) -> list[tuple[Any, ...]]:
    """(what, date, counted ÷ scale) of each money record, sorted."""
    return sorted((r["record"], r["date"], round(r["counted"] / scale, 6)) for r in rec.rows)


def _less(record: tuple[Any, ...]) -> tuple[Any, ...]:
    """A subtracted record: its part of the number is negative."""
    what, day, amount = record
    return what, day, -amount


def _customers(rec: Records) -> dict[str, Any]:
    return {r["account_id"]: r.get("counted", r["first_paying_month"]) for r in rec.rows}


def test_hand_counted_cac_and_payback(hand: Workspace) -> None:
    row, num = _hand(hand, "cac")
    assert (row["value"], row["numerator"], row["denominator"]) == (1700.0, 3400.0, 2)
    assert _money(num) == sorted([AD, PROGRAMS, SALARIES])
    _, den = _hand(hand, "cac", "denominator")
    assert _customers(den) == {"a1": D(2025, 5, 1), "a2": D(2025, 6, 1)}
    assert den.counted is None
    row, den = _hand(hand, "cac_payback_months", "denominator")
    assert row["value"] == pytest.approx(8.5)
    assert _customers(den) == {"a1": pytest.approx(160.0), "a2": pytest.approx(240.0)}


def test_hand_counted_paid_cac(hand: Workspace) -> None:
    row, num = _hand(hand, "paid_cac")
    assert row["value"] == 400.0
    assert _money(num) == [AD]
    _, den = _hand(hand, "paid_cac", "denominator")
    assert [(r["account_id"], r["channel"]) for r in den.rows] == [("a1", "paid_search")]


def test_hand_counted_roi(hand: Workspace) -> None:
    row, num = _hand(hand, "marketing_roi")
    assert row["value"] == pytest.approx(2600 / 1400)
    assert _money(num) == sorted([("won deal", D(2025, 5, 20), 4000.0), _less(PROGRAMS),
                                  _less(AD)])
    assert num.counted == pytest.approx(2600.0)
    _, den = _hand(hand, "marketing_roi", "denominator")
    assert _money(den) == sorted([AD, PROGRAMS])
    row, num = _hand(hand, "pipeline_to_spend")
    assert row["value"] == pytest.approx(2000 / 1400)
    assert [(r["opportunity_id"], r["counted"]) for r in num.rows] == [("o3", 2000.0)]


def test_hand_counted_campaign_roi(hand: Workspace) -> None:
    row, num = _hand(hand, "campaign_roi")
    assert row["value"] == pytest.approx(3900 / 1100)
    assert _money(num) == sorted([O1, _less(AD), _less(CP1)])
    _, den = _hand(hand, "campaign_roi", "denominator")
    assert _money(den) == sorted([AD, CP1])


def test_hand_counted_profit(hand: Workspace) -> None:
    row, rec = _hand(hand, "profit")
    assert row["value"] == pytest.approx(-3050.0)
    mrr = [(r["account_id"], r["date"], r["counted"]) for r in rec.rows
           if r["record"] == "MRR month"]
    assert sorted(mrr) == [("a0", D(2025, 4, 1), 50.0), ("a0", D(2025, 5, 1), 50.0),
                           ("a0", D(2025, 6, 1), 50.0), ("a1", D(2025, 5, 1), 200.0),
                           ("a1", D(2025, 6, 1), 200.0), ("a2", D(2025, 6, 1), 300.0)]
    costs = [(r["record"], r["date"], -r["counted"]) for r in rec.rows
             if r["record"] != "MRR month"]
    assert sorted(costs) == sorted([AD, PROGRAMS, SALARIES, TOOLS])
    assert rec.total == 10 and rec.counted == pytest.approx(-3050.0)
