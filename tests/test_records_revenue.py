"""The drill-down of the customer and revenue metrics (MRR and its movements, churn and
retention rates, ARPA, NPS, product usage, period-end stocks) lists exactly what each number
counts or sums: on the demo, for every quarter cell the records' count (or the sum of their
``counted`` column) equals the cell's value, numerator or denominator; on a tiny hand-counted
workspace, the records are the very accounts, responses and readings counted by hand.

The hand-counted dataset (UTC, as-of 2025-06-30; blank = no row, which counts as 0; January,
the first month of data, is the opening balance):

    account  segment     Jan  Feb  Mar  Apr  May  Jun
    a1       Enterprise  100  100  150  150  120  120
    a2       SMB         200  200   .    .   250  250
    a3       SMB          .   300  300   0    .    .
    a4       Enterprise   .    .    .   50   50   90

Movements: Feb new a3 300; Mar expansion a1 50, churn a2 200 (no row); Apr churn a3 300
(explicit 0), new a4 50; May reactivation a2 250, contraction a1 30; Jun expansion a4 40.
So in Q2 (April to June):

* MRR at the end (June) = a1 120 + a2 250 + a4 90 = 460 (a3 at 0 is not listed); ARR 5,520;
  paying customers a1, a2, a4; ARPA = 460 ÷ 3.
* new MRR: a4 in April (50); churned: a3 in April (300); reactivation: a2 in May (250);
  contraction: a1 in May (30); expansion: a4 in June (40).
* logo churn: numerator a3 (April); denominator = accounts paying the month before, month by
  month: April a1, a3; May a1, a4; June a1, a2, a4 = 7 account-months.
* gross MRR churn: numerator a3 April 300 + a1 May 30 = 330; denominator = their MRR the
  month before: April 150 + 300, May 150 + 50, June 120 + 250 + 50 = 1,070.

NPS in May: r1 10 (a1), r2 9 (a2), r3 7 (a1), r4 3 (a2): numerator r1 +1, r2 +1, r4 −1 = 1,
denominator 4, NPS 25. Product usage in Q2: a1 5/10 seats on 04-10 and 7/10 on 05-20; a2 3/4
on 06-01 and 2 users without seats on 06-15. Seat utilisation takes each account's latest
reading with seats: a1 05-20 (7/10), a2 06-01 (3/4): 10 ÷ 14. Active users (a stock) take the
latest reading with users: a1 7 (05-20), a2 2 (06-15) = 9.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from funnelboard.errors import UsageError
from funnelboard.metrics.query import MetricQuery, make_query
from funnelboard.metrics.records import Records, cell_of, drillable, fetch, sides_of
from funnelboard.metrics.registry import resolve
from funnelboard.workspace import Workspace
from records_support import RANGE, workspace_from
from records_support import cells as _cells

SUM, COUNT = "sum", "count"

#: per metric, per side: the result field the side equals, and whether it counts its records
#: or sums their ``counted`` column
SIDES: dict[str, dict[str, tuple[str, str]]] = {
    "mrr": {"numerator": ("value", SUM)},
    "arr": {"numerator": ("value", SUM)},
    "paying_customers": {"numerator": ("value", COUNT)},
    "new_logos": {"numerator": ("value", COUNT)},
    "new_mrr": {"numerator": ("value", SUM)},
    "expansion_mrr": {"numerator": ("value", SUM)},
    "contraction_mrr": {"numerator": ("value", SUM)},
    "churned_mrr": {"numerator": ("value", SUM)},
    "reactivation_mrr": {"numerator": ("value", SUM)},
    "churn_by_source": {"numerator": ("value", COUNT)},
    "logo_churn_rate": {"numerator": ("numerator", COUNT),
                        "denominator": ("denominator", COUNT)},
    "gross_mrr_churn_rate": {"numerator": ("numerator", SUM),
                             "denominator": ("denominator", SUM)},
    "nrr": {"numerator": ("numerator", SUM), "denominator": ("denominator", SUM)},
    "grr": {"numerator": ("numerator", SUM), "denominator": ("denominator", SUM)},
    "arpa": {"numerator": ("numerator", SUM), "denominator": ("denominator", COUNT)},
    "nps": {"numerator": ("numerator", SUM), "denominator": ("denominator", COUNT)},
    "usage_per_seat": {"numerator": ("numerator", SUM), "denominator": ("denominator", SUM)},
    "community_members": {"numerator": ("value", SUM)},
    "community_active_members": {"numerator": ("value", SUM)},
    "social_audience": {"numerator": ("value", SUM)},
    "product_active_users": {"numerator": ("value", SUM)},
}


def _records(ws: Workspace, q: MetricQuery, row: dict[str, Any], side: str,
             limit: int = 1) -> Records:
    first, last = cell_of(row["period"], q)
    return fetch(ws.engine(), q, first, last, side=side, limit=limit)


def _check_cells(ws: Workspace, key: str, **options: Any) -> int:
    """Assert every cell's records add up to it; the number of non-zero sides checked."""
    nonzero = 0
    cells = _cells(ws, key, **options)
    assert len(cells) >= 4, key
    for row, q in cells:
        for side, (field, how) in SIDES[key].items():
            expected = row[field] or 0
            rec = _records(ws, q, row, side)
            if how == SUM:
                assert rec.counted == pytest.approx(expected, rel=1e-9, abs=1e-6), (
                    key, side, row)
            else:
                assert rec.counted is None and rec.total == expected, (key, side, row)
            nonzero += bool(expected)
    return nonzero


@pytest.mark.parametrize("key", sorted(SIDES))
def test_every_quarter_cell_lists_what_it_counts(demo_ws: Workspace, key: str) -> None:
    assert set(sides_of(resolve(key, demo_ws.settings))) == set(SIDES[key])
    assert _check_cells(demo_ws, key, grain="quarter") >= 1


@pytest.mark.parametrize(("key", "by"), [
    ("churned_mrr", "segment"),
    ("nrr", "segment"),
    ("nps", "survey"),
    ("usage_per_seat", "segment"),
    ("community_members", "platform"),
])
def test_cells_broken_down_by_a_dimension(demo_ws: Workspace, key: str, by: str) -> None:
    assert _check_cells(demo_ws, key, grain="quarter", by=[by]) >= 2


def test_ltv_is_a_formula_of_other_metrics(demo_ws: Workspace) -> None:
    assert not drillable(resolve("ltv", demo_ws.settings))
    q = make_query("ltv", timezone="UTC", **RANGE)
    with pytest.raises(UsageError, match="computed from other metrics"):
        fetch(demo_ws.engine(), q, dt.date(2026, 4, 1), dt.date(2026, 6, 30))


# -- the hand-counted workspace -------------------------------------------------------------------

D = dt.date
HAND_AS_OF = D(2025, 6, 30)
Q2 = (D(2025, 4, 1), D(2025, 6, 30))
MRR = {
    "a1": [100, 100, 150, 150, 120, 120],
    "a2": [200, 200, None, None, 250, 250],
    "a3": [None, 300, 300, 0, None, None],
    "a4": [None, None, None, 50, 50, 90],
}
TABLES = {
    "accounts": "account_id,name,segment\na1,Acme,Enterprise\na2,Beta,SMB\na3,Gamma,SMB\n"
                "a4,Delta,Enterprise\n",
    "mrr": "month,account_id,mrr\n" + "".join(
        f"2025-{m + 1:02d}-01,{account},{v}\n" for account, values in MRR.items()
        for m, v in enumerate(values) if v is not None),
    "nps_responses": "response_id,responded_at,score,account_id,survey\n"
                     "r1,2025-05-02T10:00:00Z,10,a1,relationship\n"
                     "r2,2025-05-03T10:00:00Z,9,a2,relationship\n"
                     "r3,2025-05-04T10:00:00Z,7,a1,relationship\n"
                     "r4,2025-05-05T10:00:00Z,3,a2,onboarding\n",
    "product_usage": "date,account_id,active_users,seats\n2025-04-10,a1,5,10\n"
                     "2025-05-20,a1,7,10\n2025-06-01,a2,3,4\n2025-06-15,a2,2,\n",
}


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = workspace_from(tmp_path_factory.mktemp("revenue_records") / "ws", TABLES)
    yield ws
    ws.close()


def _q2(ws: Workspace, key: str, side: str = "numerator", **options: Any) -> Records:
    q = make_query(key, timezone="UTC", start=Q2[0], end=Q2[1], as_of=HAND_AS_OF,
                   grain="quarter", **options)
    return fetch(ws.engine(), q, *Q2, side=side, limit=100)


def _ids(rec: Records) -> list[Any]:
    return [r[rec.columns[0]] for r in rec.rows]


def _q2_value(ws: Workspace, key: str, field: str = "value", **options: Any) -> Any:
    res = ws.metric(key, start=Q2[0], end=Q2[1], as_of=HAND_AS_OF, grain="quarter", **options)
    assert len(res.rows) == 1
    return res.rows[0][field]


@pytest.mark.parametrize(("key", "side", "ids", "counted"), [
    ("mrr", "numerator", ["a1", "a2", "a4"], 460),
    ("arr", "numerator", ["a1", "a2", "a4"], 5520),
    ("paying_customers", "numerator", ["a1", "a2", "a4"], None),
    ("arpa", "numerator", ["a1", "a2", "a4"], 460),
    ("arpa", "denominator", ["a1", "a2", "a4"], None),
    ("new_mrr", "numerator", ["a4 2025-04"], 50),
    ("new_logos", "numerator", ["a4 2025-04"], None),
    ("churned_mrr", "numerator", ["a3 2025-04"], 300),
    ("churn_by_source", "numerator", ["a3 2025-04"], None),
    ("reactivation_mrr", "numerator", ["a2 2025-05"], 250),
    ("contraction_mrr", "numerator", ["a1 2025-05"], 30),
    ("expansion_mrr", "numerator", ["a4 2025-06"], 40),
    ("logo_churn_rate", "numerator", ["a3 2025-04"], None),
    ("logo_churn_rate", "denominator", ["a1 2025-04", "a1 2025-05", "a1 2025-06",
                                        "a2 2025-06", "a3 2025-04", "a4 2025-05",
                                        "a4 2025-06"], None),
    ("gross_mrr_churn_rate", "numerator", ["a1 2025-05", "a3 2025-04"], 330),
    ("gross_mrr_churn_rate", "denominator", ["a1 2025-04", "a1 2025-05", "a1 2025-06",
                                             "a2 2025-06", "a3 2025-04", "a4 2025-05",
                                             "a4 2025-06"], 1070),
    ("nps", "numerator", ["r1", "r2", "r4"], 1),
    ("nps", "denominator", ["r1", "r2", "r3", "r4"], None),
    ("usage_per_seat", "numerator", ["a1", "a2"], 10),
    ("usage_per_seat", "denominator", ["a1", "a2"], 14),
    ("product_active_users", "numerator", ["a1", "a2"], 9),
])
def test_hand_counted_records(hand: Workspace, key: str, side: str, ids: list[str],
                              counted: float | None) -> None:
    rec = _q2(hand, key, side)
    assert sorted(_ids(rec)) == ids
    assert rec.total == len(ids)
    if counted is None:
        assert rec.counted is None
    else:
        assert rec.counted == pytest.approx(counted)
    # and the metric agrees with the hand count
    field = "value" if len(sides_of(resolve(key, hand.settings))) == 1 else side
    assert _q2_value(hand, key, field) == pytest.approx(counted if counted is not None
                                                        else len(ids))


def test_hand_counted_columns(hand: Workspace) -> None:
    """Each record shows its part of the number next to the amounts it comes from."""
    churn = {r["account_month"]: r for r in _q2(hand, "gross_mrr_churn_rate").rows}
    assert (churn["a3 2025-04"]["name"], churn["a3 2025-04"]["previous_mrr"],
            churn["a3 2025-04"]["mrr"], churn["a3 2025-04"]["movement"],
            churn["a3 2025-04"]["counted"]) == ("Gamma", 300, 0, "churned", 300)
    assert (churn["a1 2025-05"]["movement"], churn["a1 2025-05"]["counted"]) == (
        "contraction", 30)
    usage = {r["account_id"]: r for r in _q2(hand, "usage_per_seat", "denominator").rows}
    assert (usage["a2"]["date"], usage["a2"]["active_users"], usage["a2"]["seats"]) == (
        D(2025, 6, 1), 3, 4)
    nps = {r["response_id"]: r for r in _q2(hand, "nps", "denominator").rows}
    assert [nps[r]["category"] for r in ("r1", "r2", "r3", "r4")] == [
        "promoter", "promoter", "passive", "detractor"]


def test_hand_counted_breakdown(hand: Workspace) -> None:
    """Filtered to one segment (as a cell of ``--by segment`` is), only its accounts."""
    rec = _q2(hand, "mrr", by=["segment"], filters={"segment": ["Enterprise"]})
    assert sorted(_ids(rec)) == ["a1", "a4"] and rec.counted == pytest.approx(210)
    assert {r["segment"] for r in rec.rows} == {"Enterprise"}
    assert _q2_value(hand, "mrr", by=["segment"], filters={"segment": ["Enterprise"]}) == 210
    rec = _q2(hand, "nps", "numerator", by=["survey"], filters={"survey": ["relationship"]})
    assert sorted(_ids(rec)) == ["r1", "r2"] and rec.counted == 2


def test_monthly_grain_cells(hand: Workspace) -> None:
    """A month cell lists only that month's movements."""
    q = make_query("gross_mrr_churn_rate", timezone="UTC", start=Q2[0], end=Q2[1],
                   as_of=HAND_AS_OF, grain="month")
    may = fetch(hand.engine(), q, D(2025, 5, 1), D(2025, 5, 31), side="denominator")
    assert sorted(_ids(may)) == ["a1 2025-05", "a4 2025-05"] and may.counted == 200


def test_mrr_needs_a_monthly_grain(hand: Workspace) -> None:
    q = make_query("mrr", timezone="UTC", start=Q2[0], end=Q2[1], as_of=HAND_AS_OF,
                   grain="week")
    with pytest.raises(UsageError, match="grain month, quarter or year"):
        fetch(hand.engine(), q, D(2025, 6, 2), D(2025, 6, 8))
