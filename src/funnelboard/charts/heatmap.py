"""The cohort heatmap: each cohort's way through the funnel, one cell per cohort × stage.

Rows are the cohort periods (oldest first), columns the stages in funnel order. A cell's colour
is the conversion from the previous stage (the funnel rows carry it as numerator ÷
denominator); the first stage is grey, since what comes before it (contacts created) is not a
funnel step. Every cell writes its count and its conversion.
"""

from __future__ import annotations

from typing import Any

import altair as alt

from funnelboard.charts.format import number, period_label, share_text, value_text
from funnelboard.charts.series import series_name
from funnelboard.charts.spec import empty, finish, named
from funnelboard.charts.theme import NEUTRAL
from funnelboard.errors import UsageError
from funnelboard.metrics.result import MetricResult

ROW_HEIGHT = 34
#: Cells darker than this share of the colour scale get white text.
DARK_FROM = 0.55


def cohort_heatmap(funnel_result: MetricResult, *, title: str | None = None,
                   fiscal_start: int = 1) -> dict[str, Any]:
    """A funnel result (``Workspace.funnel``) as a cohort × stage heatmap spec."""
    if "stage" not in funnel_result.dims:
        raise UsageError("The cohort heatmap needs a funnel result (one row per stage); "
                         f"'{funnel_result.metric}' has no stages.")
    chart_title = "Funnel by cohort" if title is None else title
    if not funnel_result.rows:
        return empty(chart_title, "No cohorts in this period range.")
    cells = _cells(funnel_result, fiscal_start)
    stages = list(dict.fromkeys(c["stage"] for c in cells))
    cohorts = list(dict.fromkeys(c["cohort"] for c in cells))
    top = max((c["conversion"] for c in cells if c["conversion"] is not None
               and not c["first_stage"]), default=0.0) or 1.0
    for cell in cells:
        share = (cell["conversion"] or 0.0) / top
        cell["dark"] = not cell["first_stage"] and cell["conversion"] is not None \
            and share >= DARK_FROM
    x = alt.X("stage:N", scale=alt.Scale(domain=stages), title=None,
              axis=alt.Axis(orient="top", labelAngle=0, domain=False, ticks=False))
    y = alt.Y("cohort:N", scale=alt.Scale(domain=cohorts), title="Cohort",
              axis=alt.Axis(domain=False, ticks=False))
    tooltip = [alt.Tooltip("cohort:N", title="Cohort"), alt.Tooltip("stage:N", title="Stage"),
               alt.Tooltip("count_text:N", title="Reached"),
               alt.Tooltip("conversion_text:N", title="From previous"),
               alt.Tooltip("from_text:N", title="Of"),
               alt.Tooltip("period_state:N", title="Cohort")]
    base = alt.Chart().encode(x=x, y=y, tooltip=tooltip)
    grey = base.mark_rect(color=NEUTRAL, opacity=0.35, stroke="white", strokeWidth=1)
    coloured = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("conversion:Q", title="Conversion from previous stage",
                        scale=alt.Scale(scheme="blues", domain=[0, top]),
                        legend=alt.Legend(format=".0%", orient="bottom", gradientLength=160)),
    ).transform_filter("!datum.first_stage && isValid(datum.conversion)")
    text_colour = alt.condition("datum.dark", alt.value("white"), alt.value("#222222"))
    centred = {"x": alt.X("stage:N", bandPosition=0.5),
               "y": alt.Y("cohort:N", bandPosition=0.5)}
    counts = base.mark_text(dy=-7, fontWeight=600).encode(text="count_text:N",
                                                          color=text_colour, **centred)
    rates = base.mark_text(dy=8, fontSize=10).encode(text="conversion_text:N",
                                                     color=text_colour, **centred)
    subtitle = ["Colour: conversion from the previous stage; the first stage is grey."]
    if any(c["partial"] for c in cells):
        subtitle.append("Cohorts marked * are still running.")
    meta = {"metric": funnel_result.metric, "stages": stages, "cohorts": cohorts}
    return finish(alt.layer(grey, coloured, counts, rates, data=named("cells")),
                  kind="cohort-heatmap", data={"cells": cells},
                  height=ROW_HEIGHT * len(cohorts) + 10, title=chart_title, subtitle=subtitle,
                  meta=meta)


def _cells(result: MetricResult, fiscal_start: int) -> list[dict[str, Any]]:
    others = tuple(d for d in result.dims if d != "stage")
    grain = result.query.grain
    first_stage = str(result.rows[0]["stage"])  # rows list the stages in funnel order
    cells = []
    for row in sorted(result.rows, key=lambda r: r["period"]):  # stable: stage order kept
        first = str(row["stage"]) == first_stage
        label = period_label(row["period"], grain, fiscal_start)
        if others:
            label = f"{label} · {series_name(row, others)}"
        if row.get("partial"):
            label += " *"
        numerator, denominator = number(row.get("numerator")), number(row.get("denominator"))
        conversion = numerator / denominator if numerator is not None and denominator else None
        count = number(row.get("value"))
        cells.append({
            "period": row["period"].isoformat(), "cohort": label, "stage": str(row["stage"]),
            **{d: row.get(d) for d in others},
            "count": count, "count_text": value_text(count, "count"),
            "numerator": numerator, "denominator": denominator,
            "conversion": conversion, "conversion_text": share_text(conversion),
            "from_text": f"{value_text(denominator, 'count')} "
                         f"{'created' if first else 'at the previous stage'}",
            "first_stage": first, "partial": bool(row.get("partial")),
            "period_state": "Still running (partial)" if row.get("partial") else "Complete",
        })
    return cells
