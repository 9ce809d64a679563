"""Calendar periods: the engine's bucketing agrees with the Python rules, fiscal years
included, and labels name a fiscal year by the year it ends in."""

from __future__ import annotations

import datetime as dt

import duckdb
import ibis
import pytest

from funnelboard.metrics import periods

DAYS = [dt.date(2023, 12, 25) + dt.timedelta(days=d) for d in range(0, 800, 3)]


@pytest.mark.parametrize(("grain", "fiscal_start", "week_start"), [
    ("day", 1, "monday"), ("week", 1, "monday"), ("week", 1, "sunday"), ("month", 1, "monday"),
    ("quarter", 1, "monday"), ("quarter", 4, "monday"), ("quarter", 11, "monday"),
    ("year", 1, "monday"), ("year", 4, "monday"), ("year", 7, "monday"),
])
def test_engine_bucket_matches_python(grain: str, fiscal_start: int, week_start: str) -> None:
    backend = ibis.duckdb.from_connection(duckdb.connect())
    t = ibis.memtable({"d": DAYS})
    expr = t.select(d=t.d, p=periods.bucket(t.d, grain, fiscal_start=fiscal_start,
                                             week_start=week_start))
    got = {r["d"]: r["p"] for r in backend.to_pyarrow(expr).to_pylist()}
    for day in DAYS:
        want = periods.period_start(day, grain, fiscal_start=fiscal_start,
                                    week_start=week_start)
        assert got[day] == want, (day, grain, fiscal_start)
        assert want <= day <= periods.period_end(want, grain)


def test_hand_checked_periods() -> None:
    # 2025-03-05 is a Wednesday: its Monday week starts 03-03, its Sunday week 03-02.
    day = dt.date(2025, 3, 5)
    assert periods.period_start(day, "week") == dt.date(2025, 3, 3)
    assert periods.period_start(day, "week", week_start="sunday") == dt.date(2025, 3, 2)
    # Fiscal year from April: March 2025 is Q4 of FY2025 (Jan-Mar 2025), April starts FY2026.
    assert periods.period_start(day, "quarter", fiscal_start=4) == dt.date(2025, 1, 1)
    assert periods.period_start(day, "year", fiscal_start=4) == dt.date(2024, 4, 1)
    assert periods.fiscal_label(dt.date(2025, 1, 1), "quarter", 4) == "FY2025-Q4"
    assert periods.fiscal_label(dt.date(2025, 4, 1), "quarter", 4) == "FY2026-Q1"
    assert periods.fiscal_label(dt.date(2024, 4, 1), "year", 4) == "FY2025"
    assert periods.fiscal_label(dt.date(2025, 7, 1), "quarter", 1) == "2025-Q3"
    assert periods.period_end(dt.date(2024, 2, 1), "month") == dt.date(2024, 2, 29)
    assert periods.period_end(dt.date(2024, 11, 1), "quarter") == dt.date(2025, 1, 31)
    assert periods.year_earlier(dt.date(2024, 2, 29), "day") == dt.date(2023, 2, 28)
