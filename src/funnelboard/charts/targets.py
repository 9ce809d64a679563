"""Targets on time charts: a tick at each period's target and the pacing band around it.

The band is the "at risk" zone of metrics.md §7 drawn in the metric's units: for a metric whose
direction is up, a value between ``target × behind_below`` and ``target × on_track_from`` is
at risk, above it on track, below it behind. For a down metric (costs, churn) the zone sits
above the target, mirrored as the status rule scores ``2 − ratio``; a neutral metric has one
zone on each side. In a running period of a flow metric the zone is drawn around the value
expected to date (the target × the elapsed share), because that is what pacing compares the
actual with; the tick still shows the whole period's target.
"""

from __future__ import annotations

from typing import Any

from funnelboard.charts.format import number, share_text, value_text

STATUS_TEXT = {"on_track": "On track", "at_risk": "At risk", "behind": "Behind"}


def zones(base: float, direction: str, behind_below: float,
          on_track_from: float) -> list[tuple[float, float]]:
    """The at-risk ranges ``(low, high)`` around ``base`` for a metric's direction."""
    below = (base * behind_below, base * on_track_from)
    above = (base * (2 - on_track_from), base * (2 - behind_below))
    if direction == "down":
        return [above]
    if direction == "neutral":
        return [below, above]
    return [below]


def expected_to_date(row: dict[str, Any]) -> float | None:
    """What pacing compares the actual with: the expected value to date in a running period
    (when the engine pro-rated the target), else the target itself."""
    info = (row.get("extra") or {}).get("target") or {}
    expected = number(info.get("expected_to_date")) if row.get("partial") else None
    return expected if expected is not None else number(row.get("target"))


def tick_rows(rows: list[dict[str, Any]], unit: str,
              currency: str | None) -> list[dict[str, Any]]:
    """One target tick per period (and series) that has a target."""
    out = []
    for row in rows:
        target = number(row.get("target"))
        if target is None:
            continue
        out.append({"period_label": row["period_label"], "series": row["series"],
                    "target": target, "target_text": value_text(target, unit, currency)})
    return out


def band_rows(rows: list[dict[str, Any]], *, unit: str, currency: str | None, direction: str,
              behind_below: float, on_track_from: float) -> list[dict[str, Any]]:
    """The at-risk zones of every period with a target (two rows for a neutral metric);
    ``rows`` carry ``target`` and ``expected`` (:func:`expected_to_date`)."""
    out = []
    for row in rows:
        target = number(row.get("target"))
        base = number(row.get("expected"))
        if target is None or base is None:
            continue
        for low, high in zones(base, direction, behind_below, on_track_from):
            out.append({"period_label": row["period_label"], "low": low, "high": high,
                        "zone_text": f"{value_text(low, unit, currency)} to "
                                     f"{value_text(high, unit, currency)}",
                        "basis": "expected to date" if base != target else "target"})
    return out


def tooltip_fields(row: dict[str, Any], unit: str, currency: str | None) -> dict[str, str]:
    """Text fields for a point's tooltip when its query asked for targets."""
    return {
        "target_text": value_text(row.get("target"), unit, currency),
        "attainment_text": share_text(row.get("attainment")),
        "pacing_text": share_text(row.get("pacing")),
        "projection_text": value_text(row.get("projection"), unit, currency),
        "status_text": STATUS_TEXT.get(str(row.get("status")), "—"),
    }
