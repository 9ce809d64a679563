"""The time-chart keyword arguments a workspace's settings decide, in one place."""

from __future__ import annotations

from typing import Any

from funnelboard.settings import Settings


def time_chart_options(settings: Settings) -> dict[str, Any]:
    """``currency``, ``fiscal_start`` and the target thresholds for :func:`time_chart`:
    ``time_chart(result, **time_chart_options(ws.settings))``."""
    return {
        "currency": settings.reporting_currency,
        "fiscal_start": settings.fiscal_year_start_month,
        "behind_below": settings.target_behind_below,
        "on_track_from": settings.target_on_track_from,
    }
