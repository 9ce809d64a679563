"""The duration drill-downs list exactly the units a median is taken over: on every cell of the
demo's results the number of records equals the cell's ``n`` (cohort maturity: its numerator
and denominator), and the median of the listed days is the number shown; on a tiny hand-built
workspace the very contacts and deals counted by hand are listed.

HAND-BUILT (UTC, as-of 2025-06-30, the second quarter of 2025):

    contact created  lead entry  mql entry      days lead → mql
    c1      04-01    04-01 00:00 04-03 12:00    2.5
    c2      04-10    04-10 00:00 04-11 00:00    1.0
    c3      05-01    05-01 00:00 (none)         not measured
    → lead_to_mql_days = median(2.5, 1.0) = 1.75 over c1 and c2

    deal created  closed (won)  days   o3 is lost and is not measured
    o1   03-01    05-20         80
    o2   05-01    06-10         40     → sales_cycle_days = 60 over o1 and o2
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections.abc import Iterator
from typing import Any

import pytest

from funnelboard.metrics.query import make_query
from funnelboard.metrics.records import cell_of, drillable, fetch
from funnelboard.metrics.registry import resolve
from funnelboard.settings import Settings
from funnelboard.workspace import Workspace
from records_support import APPROX, workspace_from
from records_support import cell_records as _cell
from records_support import cells as _cells

D = dt.date
STAGES = Settings().stages
DAYS = [f"{a}_to_{b}_days" for a, b in itertools.combinations(STAGES, 2)]


def test_the_whole_family_is_drillable() -> None:
    s = Settings()
    for key in [*DAYS, "cohort_maturity", "sales_cycle_days"]:
        assert drillable(resolve(key, s)), key


@pytest.mark.parametrize("key", DAYS)
def test_days_list_the_units_the_median_is_taken_over(demo_ws: Workspace, key: str) -> None:
    # few demo contacts created in the range are customers yet: date those by the customer day
    options = {"basis": "period"} if key.endswith("_to_customer_days") else {}
    cells = _cells(demo_ws, key, grain="quarter", **options)
    assert len(cells) == 4
    for row, q in cells:
        rec = _cell(demo_ws, q, row)
        assert rec.counted is None  # a median is not a sum
        assert rec.total == row["n"], (key, row)
    assert sum(bool(row["n"]) for row, _ in cells) >= 2


@pytest.mark.parametrize(("key", "options"), [
    ("mql_to_sql_days", {"by": ["segment"]}),
    ("lead_to_sql_days", {"basis": "period", "rule": "strict"}),
    ("lead_to_mql_days", {"by": ["segment"], "level": "account"}),
])
def test_days_by_dimension_basis_and_level(demo_ws: Workspace, key: str,
                                           options: dict[str, Any]) -> None:
    nonzero = 0
    for row, q in _cells(demo_ws, key, grain="quarter", **options):
        rec = _cell(demo_ws, q, row, limit=1000)
        assert rec.total == row["n"], (key, row)
        if row["n"]:
            assert statistics.median(r["days"] for r in rec.rows) == pytest.approx(
                row["value"], **APPROX)
            nonzero += 1
    assert nonzero >= 1


def test_the_median_of_the_days_listed_is_the_number(demo_ws: Workspace) -> None:
    for row, q in _cells(demo_ws, "lead_to_mql_days", grain="quarter"):
        rec = _cell(demo_ws, q, row, limit=1000)
        assert rec.columns[:2] == ["contact_id", "created"]
        assert statistics.median(r["days"] for r in rec.rows) == pytest.approx(
            row["value"], **APPROX)
        first, last = cell_of(row["period"], q)
        assert all(first <= r["created"].date() <= last for r in rec.rows)
        assert all(r["entered_lead"] <= r["entered_mql"] for r in rec.rows)


def test_cohort_maturity_lists_the_reference_conversions(demo_ws: Workspace) -> None:
    cells = _cells(demo_ws, "cohort_maturity", grain="quarter")
    assert len(cells) == 4
    for row, q in cells:
        num = _cell(demo_ws, q, row, "numerator", limit=1000)
        den = _cell(demo_ws, q, row, "denominator", limit=1000)
        assert (num.total, den.total) == (row["numerator"] or 0, row["denominator"] or 0)
        age = row["extra"]["age_days"]
        assert all(r["whole_days"] <= age for r in num.rows)
        assert sum(r["whole_days"] <= age for r in den.rows) == num.total
    # older cohorts have seen more of their conversions
    shares = [row["numerator"] for row, _ in cells]
    assert shares == sorted(shares, reverse=True) and shares[0] > shares[-1]


def test_sales_cycle_lists_the_won_deals(demo_ws: Workspace) -> None:
    cells = _cells(demo_ws, "sales_cycle_days", grain="quarter")
    for row, q in cells:
        rec = _cell(demo_ws, q, row, limit=1000)
        assert rec.total == row["n"]
        if row["n"]:
            assert statistics.median(r["days"] for r in rec.rows) == pytest.approx(
                row["value"], **APPROX)
    assert sum(row["n"] for row, _ in cells) >= 4


# -- a tiny workspace counted by hand ---------------------------------------------------------

FILES = {
    "accounts": "account_id,name\na1,Acme\na2,Beta\n",
    "contacts": """\
contact_id,created_at,account_id,channel
c1,2025-04-01T00:00:00Z,a1,paid_search
c2,2025-04-10T00:00:00Z,a2,webinar
c3,2025-05-01T00:00:00Z,,organic_search
""",
    "stage_events": """\
contact_id,stage,entered_at
c1,lead,2025-04-01T00:00:00Z
c1,mql,2025-04-03T12:00:00Z
c2,lead,2025-04-10T00:00:00Z
c2,mql,2025-04-11T00:00:00Z
c3,lead,2025-05-01T00:00:00Z
""",
    "opportunities": """\
opportunity_id,created_at,amount,currency,account_id,contact_id,is_closed,is_won,close_date,type
o1,2025-03-01T00:00:00Z,5000,USD,a1,c1,true,true,2025-05-20,new_business
o2,2025-05-01T00:00:00Z,1000,USD,a2,c2,true,true,2025-06-10,new_business
o3,2025-04-01T00:00:00Z,3000,USD,a2,c2,true,false,2025-06-01,new_business
""",
}
Q2 = (D(2025, 4, 1), D(2025, 6, 30))


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = workspace_from(tmp_path_factory.mktemp("durations") / "ws", FILES)
    yield ws
    ws.close()


def _hand_records(ws: Workspace, key: str) -> tuple[list[Any], dict[str, Any]]:
    """The result's value and the listed ``{id: days}`` of the second quarter."""
    options = {"start": Q2[0], "end": Q2[1], "as_of": Q2[1], "grain": "quarter"}
    value = [r["value"] for r in ws.metric(key, **options).rows]
    rec = fetch(ws.engine(), make_query(key, timezone="UTC", **options), *Q2, limit=100)
    return value, {r[rec.columns[0]]: r["days"] for r in rec.rows}


def test_hand_counted_lead_to_mql_days(hand: Workspace) -> None:
    value, listed = _hand_records(hand, "lead_to_mql_days")
    assert value == [pytest.approx(1.75)]
    assert listed == {"c1": pytest.approx(2.5), "c2": pytest.approx(1.0)}


def test_hand_counted_sales_cycle(hand: Workspace) -> None:
    value, listed = _hand_records(hand, "sales_cycle_days")
    assert value == [60.0]
    assert listed == {"o1": 80.0, "o2": 40.0}
