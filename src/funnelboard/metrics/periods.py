"""Calendar periods: local dates bucketed by grain, in the engine and in Python.

Periods are local calendar periods in the workspace time zone. Weeks start on the configured
day; quarters and years follow the fiscal year (``fiscal_year_start_month``), whose periods
are found by shifting a date back by the fiscal offset, truncating, and shifting forward again.
The engine version (:func:`bucket`) and the Python version (:func:`period_start`) must agree;
tests check both on the same dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import ibis
import ibis.expr.types as ir


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_start(day: dt.date, grain: str, *, fiscal_start: int = 1,
                 week_start: str = "monday") -> dt.date:
    """First day of the period of ``grain`` that holds ``day``."""
    if grain == "day":
        return day
    if grain == "week":
        offset = day.weekday() if week_start == "monday" else (day.weekday() + 1) % 7
        return day - dt.timedelta(days=offset)
    if grain == "month":
        return day.replace(day=1)
    shift = fiscal_start - 1
    shifted = _add_months(day.replace(day=1), -shift)
    if grain == "quarter":
        first = shifted.replace(month=(shifted.month - 1) // 3 * 3 + 1)
    elif grain == "year":
        first = shifted.replace(month=1)
    else:
        raise ValueError(grain)
    return _add_months(first, shift)


def next_start(start: dt.date, grain: str) -> dt.date:
    """First day of the period after the one starting on ``start``."""
    if grain == "day":
        return start + dt.timedelta(days=1)
    if grain == "week":
        return start + dt.timedelta(days=7)
    return _add_months(start, {"month": 1, "quarter": 3, "year": 12}[grain])


def shift_period(start: dt.date, grain: str, steps: int) -> dt.date:
    """The start of the period ``steps`` periods away (negative: earlier)."""
    if grain == "day":
        return start + dt.timedelta(days=steps)
    if grain == "week":
        return start + dt.timedelta(days=7 * steps)
    return _add_months(start, steps * {"month": 1, "quarter": 3, "year": 12}[grain])


def year_earlier(start: dt.date, grain: str, *, week_start: str = "monday") -> dt.date:
    """The same period one year earlier (a week: the week holding the day 52 weeks back)."""
    if grain == "week":
        return start - dt.timedelta(weeks=52)
    if grain == "day":
        try:
            return start.replace(year=start.year - 1)
        except ValueError:  # 29 February
            return start.replace(year=start.year - 1, day=28)
    return _add_months(start, -12)


def period_end(start: dt.date, grain: str) -> dt.date:
    """Last day (inclusive) of the period starting on ``start``."""
    return next_start(start, grain) - dt.timedelta(days=1)


def periods_between(first: dt.date, last: dt.date, grain: str) -> Iterator[dt.date]:
    """Starts of every period from the one starting ``first`` to the one starting ``last``."""
    current = first
    while current <= last:
        yield current
        current = next_start(current, grain)


def fiscal_label(start: dt.date, grain: str, fiscal_start: int) -> str:
    """``FY2026-Q1`` / ``FY2026`` for fiscal grains (a fiscal year is named by the year it
    ends in), ``2025-03`` for months, the ISO date otherwise."""
    if grain in ("quarter", "year"):
        year_end = _add_months(_add_months(start, -(fiscal_start - 1)).replace(month=1),
                               fiscal_start - 1 + 11)
        name = f"FY{year_end.year}" if fiscal_start != 1 else str(year_end.year)
        if grain == "year":
            return name
        index = ((start.month - fiscal_start) % 12) // 3 + 1
        return f"{name}-Q{index}"
    if grain == "month":
        return start.strftime("%Y-%m")
    return start.isoformat()


def bucket(day: ir.DateValue, grain: str, *, fiscal_start: int = 1,
           week_start: str = "monday") -> ir.DateValue:
    """The engine expression of :func:`period_start` for a date column."""
    if grain == "day":
        return day
    if grain == "week":
        if week_start == "monday":
            return day.truncate("W")
        return (day + ibis.interval(days=1)).truncate("W") - ibis.interval(days=1)
    if grain == "month":
        return day.truncate("M")
    unit = {"quarter": "Q", "year": "Y"}[grain]
    shift = fiscal_start - 1
    if shift == 0:
        return day.truncate(unit)
    return (day - ibis.interval(months=shift)).truncate(unit) + ibis.interval(months=shift)
