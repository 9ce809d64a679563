"""Numbers and periods written the way an analyst reads them, once, in Python.

Tooltips show pre-formatted text rather than a d3 format string: the reporting currency code is
not a d3 locale symbol, and a number formatted here reads the same in every export.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from funnelboard.metrics.periods import fiscal_label

RATE_UNITS = frozenset({"ratio", "percent"})
ADDITIVE_UNITS = frozenset({"count", "currency"})
_SUFFIX = {"days": " days", "hours": " h", "months": " months"}
_SAFE_TITLE = re.compile(r"[\w .,()%/&+-]{1,60}")


def is_number(value: object) -> bool:
    """A finite int or float (``None``, NaN and booleans are not values to draw)."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def number(value: Any) -> float | None:
    """``value`` as a float for a chart encoding, or ``None`` when it has no value."""
    if hasattr(value, "as_integer_ratio") and not isinstance(value, int | float | bool):
        value = float(value)  # Decimal
    return float(value) if is_number(value) else None


def value_text(value: Any, unit: str, currency: str | None = None) -> str:
    """``1,234``, ``12.5%``, ``USD 1,234``, ``12.5 days``; ``—`` when undefined."""
    v = number(value)
    if v is None:
        return "—"
    if unit in RATE_UNITS:
        return f"{v * 100:,.1f}%"
    if unit == "currency":
        amount = f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"
        return f"{currency} {amount}" if currency else amount
    if unit == "count":
        return f"{v:,.0f}" if v == round(v) else f"{v:,.1f}"
    if unit == "score":
        return f"{v:,.2f}"
    return f"{v:,.1f}{_SUFFIX.get(unit, '')}"


def share_text(value: Any) -> str:
    """A ratio as a percentage (attainment, pacing, conversion)."""
    return value_text(value, "ratio")


def axis_format(unit: str) -> str:
    """The d3 format of a value axis: percentages for rates, compact numbers otherwise."""
    if unit in RATE_UNITS:
        return ".0%"
    if unit in ADDITIVE_UNITS:
        return "~s"
    return ",~g"


def axis_title(label: str, unit: str, currency: str | None) -> str:
    """The value axis title: the metric's label, with the currency code for money."""
    if unit == "currency" and currency and currency not in label:
        return f"{label} ({currency})"
    return label


def period_label(start: dt.date, grain: str, fiscal_start: int = 1) -> str:
    """``2025-03``, ``2025-Q1`` / ``FY2026-Q1``, ``2025``; the start date for days and weeks."""
    return fiscal_label(start, grain, fiscal_start)


def safe_title(text: str, fallback: str) -> str:
    """A short plain title for a tooltip field, or ``fallback``.

    Tooltip titles are compiled into Vega expressions, so only plain words go there; anything
    else a user typed stays in the data values.
    """
    text = text.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if _SAFE_TITLE.fullmatch(text) else fallback


def iso(value: Any) -> Any:
    """Dates as ISO text so the spec is plain JSON."""
    return value.isoformat() if isinstance(value, dt.date) else value
