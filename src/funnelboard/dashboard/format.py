"""How a number is written on the dashboard, by its unit."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

CURRENCY_UNITS = ("currency",)
RATIO_UNITS = ("ratio", "rate", "percent")


def format_value(value: Any, unit: str = "count", currency: str = "") -> str:
    """``1234`` → ``1,234``; ratios as percentages; currency with its code; None → "–"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int | float):
        return str(value)
    if unit in RATIO_UNITS:
        return f"{value * 100:,.1f}%"
    if unit in CURRENCY_UNITS:
        text = f"{value:,.0f}" if abs(value) >= 100 or value == 0 else f"{value:,.2f}"
        return f"{text} {currency}".strip()
    if unit == "multiple":
        return f"{value:,.2f}×"
    if unit == "seconds":
        return f"{value:,.0f} s"
    if unit in ("days", "hours", "months"):
        return f"{value:,.1f} {unit}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def format_delta(value: Any, unit: str = "count") -> str:
    """A change with its sign: ``+12``, ``-3.5 pts`` for ratios."""
    if value is None:
        return ""
    if unit in RATIO_UNITS:
        return f"{value * 100:+,.1f} pts"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:+,.2f}"
    return f"{int(value):+,}"
