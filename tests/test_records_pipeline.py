"""The pipeline drill-downs list exactly the deals a number counts or sums: on every cell of the
demo's results the number of records (or the sum of their ``counted`` column) equals the
cell's value, numerator or denominator; on a tiny hand-built workspace the very deals
counted by hand are listed.

HAND-BUILT DEALS (UTC, reporting currency USD; EUR at 1.10 from 2025-01-01):

    deal created amount     account contact type          source     status now   close
    D1   01-10   10000 USD  A1      C1      new_business  marketing  won          02-20 term 24
    D2   01-15   20000 USD  A2      C2      new_business  sales      lost         03-05
    D3   02-01    6000 EUR  A2      (-)     new_business  marketing  won          03-10
    D4   02-10    8000 USD  A1      C1      expansion     sales      open proposal 07-15
    D5   03-01   12000 USD  A2      (-)     new_business  marketing  open negot.  06-15 prob 0.7

    stage history: D1 discovery 01-10, proposal 02-01, closed_won 02-20;
                   D2 discovery 01-15, closed_lost 03-05;
                   D3 discovery 02-01, demo 02-15, proposal 03-01, closed_won 03-10.
    demos: M1 01-05 names D1; M2 01-20 account A2 only (→ A2's next won deal, D3);
           M3 01-02 account A2, canceled (not a demo that counts).
    targets (bookings, quarter): 2025-Q1 20000, 2025-Q2 10000.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterator
from typing import Any

import pytest

from funnelboard.metrics import periods
from funnelboard.metrics.query import make_query
from funnelboard.metrics.records import Records, drillable, fetch, sides_of
from funnelboard.metrics.registry import resolve
from funnelboard.settings import Settings
from funnelboard.workspace import Workspace
from records_support import APPROX, AS_OF, workspace_from
from records_support import cell_records as _cell
from records_support import cells as _cells
from records_support import side_measure as _measure

D = dt.date


def _fetch(ws: Workspace, q: Any, first: dt.date, last: dt.date, side: str = "numerator",
           limit: int = 1) -> Records:
    return fetch(ws.engine(), q, first, last, side=side, limit=limit)


# -- the demo: every cell of every drillable metric agrees ---------------------------------------

#: (metric, options, [(side, field of the result row, how the side adds up)]): "count" (its
#: records), "sum" (their counted column) or "median" (records counted, and the median of
#: their days is the value)
CASES = [
    ("acv", {}, [("numerator", "numerator", "sum"), ("denominator", "denominator", "count")]),
    ("avg_deal_size", {}, [("numerator", "numerator", "sum"),
                           ("denominator", "denominator", "count")]),
    ("bookings_target_attainment", {}, [("numerator", "numerator", "sum")]),
    ("cohort_win_rate", {}, [("numerator", "numerator", "count"),
                             ("denominator", "denominator", "count")]),
    ("cohort_win_rate", {"by": ["type"]}, [("numerator", "numerator", "count"),
                                           ("denominator", "denominator", "count")]),
    ("marketing_pipeline_share", {}, [("numerator", "numerator", "sum"),
                                      ("denominator", "denominator", "sum")]),
    ("open_pipeline", {}, [("numerator", "value", "sum")]),
    ("weighted_pipeline", {}, [("numerator", "value", "sum")]),
    ("weighted_pipeline", {"probability": "history"}, [("numerator", "value", "sum")]),
    ("opportunity_stage_conversion", {"by": ["stage"]},
     [("numerator", "numerator", "count"), ("denominator", "denominator", "count")]),
    ("opportunity_stage_days", {"by": ["stage"]}, [("numerator", "n", "median")]),
    ("demo_to_close_days", {}, [("numerator", "n", "median")]),
    # the deal listers this family shares now carry the amounts summed, too
    ("pipeline_created", {}, [("numerator", "value", "sum")]),
    ("bookings", {}, [("numerator", "value", "sum")]),
    ("win_rate_amount", {}, [("numerator", "numerator", "sum"),
                             ("denominator", "denominator", "sum")]),
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
            rec = _cell(demo_ws, q, row, side, limit=1000 if how == "median" else 1)
            got = _measure(rec, "count" if how == "median" else how)
            assert got == pytest.approx(row[field] or 0, **APPROX), (key, side, row)
            if how == "median" and got:
                days = [r["days"] for r in rec.rows]
                assert statistics.median(days) == pytest.approx(row["value"], **APPROX)
        nonzero += bool(got)
    assert nonzero >= max(2, len(cells) // 2)


def test_open_pipeline_by_stage_lists_the_stage_at_the_period_end(demo_ws: Workspace) -> None:
    """By stage, a deal is in the cell of the stage it was in at the period end (not the one
    it is in now): every cell of the first half of 2026."""
    rng = {"start": "2026-01-01", "end": "2026-06-30", "as_of": AS_OF}
    cells = _cells(demo_ws, "open_pipeline", rng, grain="quarter", by=["stage"])
    moved = 0
    for row, q in cells:
        rec = _cell(demo_ws, q, row, limit=1000)
        assert rec.counted == pytest.approx(row["value"], **APPROX)
        assert {r["stage"] for r in rec.rows} <= {row["stage"]}
        moved += sum(r["current_stage"] != r["stage"] for r in rec.rows)
    assert len(cells) >= 4 and moved > 0


def test_coverage_lists_the_open_deals_of_running_and_future_periods(
        demo_ws: Workspace) -> None:
    """As of 2026-05-15 the second quarter runs and the third and fourth are still to come:
    each lists the deals open on 05-15 due to close in it; they sum to the numerator."""
    rng = {"start": "2026-04-01", "end": "2026-12-31", "as_of": D(2026, 5, 15)}
    cells = _cells(demo_ws, "pipeline_coverage", rng, grain="quarter")
    assert [row["period"] for row, _ in cells] == [D(2026, 4, 1), D(2026, 7, 1), D(2026, 10, 1)]
    for row, q in cells:
        first, last = row["period"], periods.period_end(row["period"], "quarter")
        rec = _fetch(demo_ws, q, first, last, limit=1000)
        assert rec.counted == pytest.approx(row["numerator"], **APPROX)
        assert row["numerator"] > 0 and rec.total >= row["n"] > 0
        assert all(first <= r["close_date"] <= last and r["close_date"] >= D(2026, 5, 15)
                   for r in rec.rows)
    # the running quarter's cell as the result shows it (cut at the as-of date) lists the same
    row, q = cells[0]
    assert _cell(demo_ws, q, row).counted == pytest.approx(row["numerator"], **APPROX)


def test_a_finished_period_has_no_coverage_to_list(demo_ws: Workspace) -> None:
    for row, q in _cells(demo_ws, "pipeline_coverage", grain="quarter"):
        assert row["numerator"] is None and row["denominator"]
        rec = _cell(demo_ws, q, row)
        assert (rec.total, rec.counted) == (0, 0.0)
        assert any("finished period" in n for n in rec.notes)


def test_every_metric_of_the_family_is_drillable_except_velocity() -> None:
    s = Settings()
    for key in ("acv", "avg_deal_size", "bookings_target_attainment", "cohort_win_rate",
                "pipeline_coverage", "demo_to_close_days", "open_pipeline",
                "marketing_pipeline_share", "opportunity_stage_conversion",
                "opportunity_stage_days", "weighted_pipeline"):
        assert drillable(resolve(key, s)), key
    assert set(sides_of(resolve("acv", s))) == {"numerator", "denominator"}
    assert set(sides_of(resolve("pipeline_coverage", s))) == {"numerator"}
    assert not drillable(resolve("sales_velocity", s))


# -- a tiny workspace counted by hand ---------------------------------------------------------

FILES = {
    "accounts": """\
account_id,name,segment,region
A1,Acme,Enterprise,EMEA
A2,Beta,SMB,NA
""",
    "contacts": """\
contact_id,created_at,account_id,channel,motion
C1,2024-12-01,A1,organic_search,inbound
C2,2024-12-01,A2,outbound_email,outbound
""",
    "opportunities": """\
opportunity_id,created_at,amount,currency,account_id,contact_id,stage,is_closed,is_won,close_date,probability,type,source_type,term_months
D1,2025-01-10,10000,USD,A1,C1,closed_won,true,true,2025-02-20,,new_business,marketing,24
D2,2025-01-15,20000,USD,A2,C2,closed_lost,true,false,2025-03-05,,new_business,sales,
D3,2025-02-01,6000,EUR,A2,,closed_won,true,true,2025-03-10,,new_business,marketing,
D4,2025-02-10,8000,USD,A1,C1,proposal,false,false,2025-07-15,,expansion,sales,
D5,2025-03-01,12000,USD,A2,,negotiation,false,false,2025-06-15,0.7,new_business,marketing,
""",
    "opportunity_stages": """\
opportunity_id,stage,entered_at
D1,discovery,2025-01-10
D1,proposal,2025-02-01
D1,closed_won,2025-02-20
D2,discovery,2025-01-15
D2,closed_lost,2025-03-05
D3,discovery,2025-02-01
D3,demo,2025-02-15
D3,proposal,2025-03-01
D3,closed_won,2025-03-10
""",
    "meetings": """\
meeting_id,booked_at,kind,contact_id,account_id,status,opportunity_id
M1,2025-01-05,demo,C1,A1,held,D1
M2,2025-01-20,demo,,A2,held,
M3,2025-01-02,demo,,A2,canceled,
""",
    "fx_rates": """\
date,currency,rate_to_reporting
2025-01-01,EUR,1.10
""",
    "targets": """\
metric,period_start,grain,target,kind
bookings,2025-01-01,quarter,20000,quota
bookings,2025-04-01,quarter,10000,quota
""",
}
Q1 = (D(2025, 1, 1), D(2025, 3, 31))
Q1_AS_OF = D(2025, 3, 31)


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = workspace_from(tmp_path_factory.mktemp("drill") / "ws", FILES)
    yield ws
    ws.close()


def _listed(ws: Workspace, key: str, side: str = "numerator", cell: tuple[dt.date, dt.date]
            = Q1, as_of: dt.date = Q1_AS_OF, **options: Any) -> tuple[Records, dict[str, Any]]:
    """The records of a cell (all rows), and ``{opportunity_id: counted or the row}``."""
    q = make_query(key, timezone="UTC", start=Q1[0], end=Q1[1], as_of=as_of,
                   grain=options.pop("grain", "quarter"), **options)
    rec = _fetch(ws, q, cell[0], cell[1], side, limit=1000)
    ids = {r["opportunity_id"]: r.get("counted", r) for r in rec.rows}
    assert len(ids) == rec.total
    return rec, ids


def test_hand_built_money_sides(hand: Workspace) -> None:
    """Q1 as of 03-31. Won: D1 10000, D3 6000 EUR × 1.10 = 6600 → bookings 16600 (attainment
    16600 ÷ 20000). ACV: D1 10000 × 12 ÷ 24 = 5000, D3 no term 6600. New business created: D1
    10000, D2 20000, D3 6600, D5 12000 (D4 is an expansion) = 48600; marketing D1 D3 D5 =
    28600."""
    rec, got = _listed(hand, "bookings_target_attainment")
    assert got == {"D1": pytest.approx(10000), "D3": pytest.approx(6600)}
    assert rec.counted == pytest.approx(16600)
    assert {r["currency"]: r["amount"] for r in rec.rows} == {"USD": 10000, "EUR": 6000}
    _, got = _listed(hand, "avg_deal_size")
    assert got == {"D1": pytest.approx(10000), "D3": pytest.approx(6600)}
    rec, got = _listed(hand, "acv")
    assert got == {"D1": pytest.approx(5000), "D3": pytest.approx(6600)}
    assert rec.counted == pytest.approx(11600) and rec.sides["numerator"].startswith("won new")
    rec, got = _listed(hand, "acv", "denominator")
    assert set(got) == {"D1", "D3"} and rec.counted is None
    assert {k: r["annual_value"] for k, r in got.items()} == {"D1": pytest.approx(5000),
                                                              "D3": pytest.approx(6600)}
    rec, got = _listed(hand, "marketing_pipeline_share", "denominator")
    assert got == {"D1": pytest.approx(10000), "D2": pytest.approx(20000),
                   "D3": pytest.approx(6600), "D5": pytest.approx(12000)}
    assert rec.counted == pytest.approx(48600)
    rec, got = _listed(hand, "marketing_pipeline_share")
    assert set(got) == {"D1", "D3", "D5"} and rec.counted == pytest.approx(28600)


def test_hand_built_cohort_and_stage_conversion(hand: Workspace) -> None:
    """Cohort Q1: D1..D5 created, D1 and D3 won by 03-31. Stage conversion (deals with
    history only: D1, D2, D3): discovery reached by all three, demo (or later) by D1 and D3;
    proposal → negotiation: D1 and D3 reached proposal and, won, count as going on."""
    _, got = _listed(hand, "cohort_win_rate", "denominator")
    assert set(got) == {"D1", "D2", "D3", "D4", "D5"}
    assert {k: r["outcome"] for k, r in got.items()} == {
        "D1": "won", "D2": "lost", "D3": "won", "D4": "still open", "D5": "still open"}
    _, got = _listed(hand, "cohort_win_rate")
    assert set(got) == {"D1", "D3"}

    def stage(name: str, side: str) -> set[str]:
        _, got = _listed(hand, "opportunity_stage_conversion", side, by=["stage"],
                         filters={"stage": [name]})
        return set(got)

    assert stage("discovery", "denominator") == {"D1", "D2", "D3"}
    assert stage("discovery", "numerator") == {"D1", "D3"}
    assert stage("proposal", "denominator") == stage("proposal", "numerator") == {"D1", "D3"}


def test_hand_built_stocks_at_a_period_end(hand: Workspace) -> None:
    """Open at 02-28: D2 (lost 03-05; history: discovery, 0.1), D3 (demo since 02-15, 0.2;
    6000 EUR at 1.10 = 6600) and D4 (proposal, no probability: default 0.5); D1 won 02-20.
    Open pipeline 20000 + 6600 + 8000 = 34600; weighted 2000 + 1320 + 4000 = 7320.
    Open at 03-31: D4 8000 and D5 12000 (its own probability 0.7): weighted 4000 + 8400."""
    feb = (D(2025, 2, 1), D(2025, 2, 28))
    rec, got = _listed(hand, "open_pipeline", cell=feb, grain="month")
    assert got == {"D2": pytest.approx(20000), "D3": pytest.approx(6600),
                   "D4": pytest.approx(8000)}
    assert rec.counted == pytest.approx(34600)
    rec, got = _listed(hand, "weighted_pipeline", cell=feb, grain="month")
    assert got == {"D2": pytest.approx(2000), "D3": pytest.approx(1320),
                   "D4": pytest.approx(4000)}
    assert {r["opportunity_id"]: (r["stage"], r["current_stage"]) for r in rec.rows} == {
        "D2": ("discovery", "closed_lost"), "D3": ("demo", "closed_won"),
        "D4": ("proposal", "proposal")}
    rec, got = _listed(hand, "weighted_pipeline", cell=(D(2025, 3, 1), D(2025, 3, 31)),
                       grain="month")
    assert got == {"D4": pytest.approx(4000), "D5": pytest.approx(8400)}
    assert rec.counted == pytest.approx(12400)


def test_hand_built_coverage_and_day_counts(hand: Workspace) -> None:
    """Coverage as of 05-15: Q2 lists D5 (open, due 06-15) — 12000 against the 10000 target;
    Q3, still to come, lists D4 (due 07-15). Stage days Q1: discovery D1 22 d (01-10 → 02-01),
    D2 49 d (→ 03-05), D3 14 d (→ 02-15). Demo to close: D1 from M1 (01-05 → 02-20, 46 d),
    D3 from M2 by its account (01-20 → 03-10, 49 d); M3 is canceled."""
    q2, q3 = (D(2025, 4, 1), D(2025, 6, 30)), (D(2025, 7, 1), D(2025, 9, 30))
    as_of = D(2025, 5, 15)
    rec, got = _listed(hand, "pipeline_coverage", cell=q2, as_of=as_of)
    assert got == {"D5": pytest.approx(12000)}
    assert any("target is not a record" in n for n in rec.notes)
    _, got = _listed(hand, "pipeline_coverage", cell=q3, as_of=as_of)
    assert got == {"D4": pytest.approx(8000)}
    rec, _ = _listed(hand, "opportunity_stage_days", by=["stage"],
                     filters={"stage": ["discovery"]})
    assert sorted((r["opportunity_id"], r["days"]) for r in rec.rows) == [
        ("D1", 22.0), ("D2", 49.0), ("D3", 14.0)]
    rec, got = _listed(hand, "demo_to_close_days")
    assert rec.counted is None
    assert {k: (r["first_demo"], r["linked_by"], r["days"]) for k, r in got.items()} == {
        "D1": (D(2025, 1, 5), "meeting", 46.0), "D3": (D(2025, 1, 20), "account", 49.0)}
