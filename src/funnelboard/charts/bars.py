"""Bars for rankings and compositions.

:func:`bar_chart` ranks categories (cost per MQL by channel, win rate by segment), largest
first. :func:`stacked_bar` shows what a total is made of per period; a negative part (churned
MRR) is stacked below zero and a dark tick marks the net. :func:`combine` turns several
results (the MRR movements) into one result with a dimension naming each part.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import altair as alt

from funnelboard.charts.format import (
    axis_format,
    axis_title,
    iso,
    number,
    period_label,
    safe_title,
    value_text,
)
from funnelboard.charts.series import is_additive, series_name
from funnelboard.charts.spec import empty, finish, named
from funnelboard.charts.theme import NEUTRAL, PALETTE, TARGET_COLOUR, partial_encoding
from funnelboard.errors import UsageError
from funnelboard.metrics.result import MetricResult

BAR_HEIGHT = 26
#: The MRR movements in the order they are stacked, and those that lower MRR.
MRR_MOVEMENTS = ("new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr",
                 "churned_mrr")
MRR_LOSSES = ("contraction_mrr", "churned_mrr")


def bar_chart(rows: list[dict[str, Any]], *, category: str, value: str, unit: str,
              title: str = "", currency: str | None = None,
              value_label: str | None = None) -> dict[str, Any]:
    """Horizontal bars of ``row[value]`` per ``row[category]``, largest first.

    ``value_label`` names the value axis (default: the ``value`` key, e.g. "Cost per MQL").

    Rows without a value are left out and counted in the subtitle; ``numerator``,
    ``denominator`` and ``n`` appear in the tooltip when the rows carry them.
    """
    data: list[dict[str, Any]] = []
    missing = 0
    for row in rows:
        amount = number(row.get(value))
        if amount is None:
            missing += 1
            continue
        name = row.get(category)
        data.append({"category": "(none)" if name in (None, "") else str(name),
                     "value": amount, "value_text": value_text(amount, unit, currency),
                     **{k: number(row.get(k)) for k in ("numerator", "denominator", "n")
                        if k in row}})
    if not data:
        return empty(title, "Nothing to rank: no category has a value.")
    data.sort(key=lambda d: (-d["value"], d["category"]))
    order = [d["category"] for d in data]
    value_title = safe_title(value_label or value, "Value")
    tooltip = [alt.Tooltip("category:N", title=safe_title(category, "Category")),
               alt.Tooltip("value_text:N", title=value_title)]
    tooltip += [alt.Tooltip(f"{k}:Q", title=k.capitalize() if k != "n" else "n", format=",")
                for k in ("numerator", "denominator", "n") if any(k in d for d in data)]
    y = alt.Y("category:N", scale=alt.Scale(domain=order), title=None,
              axis=alt.Axis(labelLimit=200))
    x = alt.X("value:Q", title=axis_title(value_title, unit, currency),
              axis=alt.Axis(format=axis_format(unit)))
    base = alt.Chart().encode(y=y, x=x, tooltip=tooltip)
    bars = base.mark_bar(color=PALETTE[0], cornerRadiusEnd=2)
    labels = base.mark_text(align="left", dx=4, color="#333333").encode(text="value_text:N")
    subtitle = [f"{missing} without a value not shown."] if missing else []
    return finish(alt.layer(bars, labels, data=named("bars")), kind="bar",
                  data={"bars": data}, height=BAR_HEIGHT * len(data),
                  title=title, subtitle=subtitle,
                  meta={"category": category, "value": value, "unit": unit})


def combine(results: Sequence[MetricResult], *, dim: str = "movement",
            negative: Iterable[str] = (), label: str = "") -> MetricResult:
    """Several results of one unit and grain as one result whose ``dim`` names each part
    (by its label); the values of the metrics listed in ``negative`` change sign."""
    if not results:
        raise UsageError("Nothing to combine: give at least one metric result.")
    first = results[0]
    for r in results:
        if r.dims:
            raise UsageError(f"'{r.metric}' is broken down by {', '.join(r.dims)}; combine "
                             "results without a breakdown.")
        if (r.unit, r.query.grain) != (first.unit, first.query.grain):
            raise UsageError(f"'{r.metric}' is in {r.unit} per {r.query.grain} but "
                             f"'{first.metric}' is in {first.unit} per {first.query.grain}; "
                             "only like results can be combined.")
    losses = set(negative)
    rows = []
    for r in results:
        sign = -1.0 if r.metric in losses else 1.0
        for row in r.rows:
            amount = number(row.get("value"))
            rows.append({**row, "metric": r.metric, dim: r.label or r.metric,
                         "value": None if amount is None else sign * amount,
                         "numerator": None, "denominator": None})
    return MetricResult(
        metric="+".join(r.metric for r in results), label=label or first.label,
        unit=first.unit, direction="neutral",
        definition=" ".join(f"{r.label}: {r.definition}" for r in results),
        query=first.query.replace(by=(dim,)), rows=rows, aggregation="flow",
        settings_version=first.settings_version, dims=(dim,))


def stacked_bar(result: MetricResult, *, dim: str, title: str | None = None,
                currency: str | None = None, fiscal_start: int = 1,
                height: int = 240) -> dict[str, Any]:
    """Per period, bars of each ``dim`` value stacked; negatives below zero, net as a tick."""
    if dim not in result.dims:
        shown = ", ".join(result.dims) or "no breakdown"
        raise UsageError(f"'{result.metric}' is not broken down by '{dim}' (it has {shown}).")
    chart_title = (result.label or result.metric) if title is None else title
    if not result.rows:
        return empty(chart_title, "No data in this period range.")
    grain = result.query.grain
    parts, order = _parts(result, dim, grain, fiscal_start, currency)
    labels = list(dict.fromkeys(p["period_label"] for p in sorted(parts,
                                                                    key=lambda p: p["period"])))
    x = alt.X("period_label:O", scale=alt.Scale(domain=labels, paddingInner=0.25),
              title=None, axis=alt.Axis(labelAngle=0))
    value_title = axis_title(result.label or result.metric, result.unit, currency)
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(order))]
    tooltip = [alt.Tooltip("period_label:N", title="Period"),
               alt.Tooltip("part:N", title=safe_title(dim, "Part")),
               alt.Tooltip("value_text:N", title="Value"),
               alt.Tooltip("period_state:N", title="Period")]
    bars = alt.Chart().mark_bar().encode(
        x=x, y=alt.Y("value:Q", stack="zero", title=value_title,
                     axis=alt.Axis(format=axis_format(result.unit))),
        color=alt.Color("part:N", title=safe_title(dim, "Part"),
                        scale=alt.Scale(domain=order, range=colours)),
        stroke=alt.Stroke("part:N", scale=alt.Scale(domain=order, range=colours), legend=None),
        order=alt.Order("part_rank:Q"), tooltip=tooltip, **partial_encoding(),
    ).transform_filter("isValid(datum.value)")
    data: dict[str, list[dict[str, Any]]] = {"parts": parts, "zero": [{"zero": 0}]}
    layers = [bars, alt.Chart(named("zero")).mark_rule(color=NEUTRAL).encode(y="zero:Q")]
    if any((p["value"] or 0) < 0 for p in parts):
        data["nets"] = _nets(parts, result.unit, currency)
        layers.append(alt.Chart(named("nets")).mark_tick(
            color=TARGET_COLOUR, thickness=3).encode(
            x=x, y=alt.Y("net:Q", title=value_title),
            tooltip=[alt.Tooltip("period_label:N", title="Period"),
                     alt.Tooltip("net_text:N", title="Net")]))
    subtitle = ["Dark tick: the net of the period."] if len(layers) > 2 else []
    if any(p["partial"] for p in parts):
        subtitle.append("Pale, dashed bars: the period is still running.")
    return finish(alt.layer(*layers, data=named("parts")), kind="stacked-bar", data=data,
                  height=height, title=chart_title,
                  subtitle=subtitle, meta={"metric": result.metric, "dim": dim,
                                           "parts": order, "unit": result.unit})


def _parts(result: MetricResult, dim: str, grain: str, fiscal_start: int,
           currency: str | None) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per period × ``dim`` value (other breakdowns summed), in first-seen order."""
    if not is_additive(result):
        raise UsageError(f"Stacked bars add the parts up, and '{result.metric}' "
                         f"({result.unit}) does not add up; show it as a time chart instead.")
    sums: dict[tuple[Any, str], float | None] = {}
    partial: dict[Any, bool] = defaultdict(bool)
    for row in result.rows:
        key = (row["period"], series_name(row, (dim,)))
        amount = number(row.get("value"))
        if amount is not None:
            sums[key] = (sums.get(key) or 0.0) + amount
        else:
            sums.setdefault(key, None)
        partial[row["period"]] |= bool(row.get("partial"))
    order = list(dict.fromkeys(k[1] for k in sums))
    parts = [{"period": iso(period), "period_label": period_label(period, grain, fiscal_start),
              "part": part, "part_rank": order.index(part), "value": amount,
              "value_text": value_text(amount, result.unit, currency),
              "partial": partial[period],
              "period_state": "Still running (partial)" if partial[period] else "Complete"}
             for (period, part), amount in sums.items()]
    parts.sort(key=lambda p: (p["period"], p["part_rank"]))
    return parts, order


def _nets(parts: list[dict[str, Any]], unit: str, currency: str | None) -> list[dict[str, Any]]:
    totals: dict[str, float] = {}
    for p in parts:
        totals[p["period_label"]] = totals.get(p["period_label"], 0.0) + (p["value"] or 0.0)
    return [{"period_label": label, "net": net, "net_text": value_text(net, unit, currency)}
            for label, net in totals.items()]
