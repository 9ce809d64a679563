"""The time chart: a metric's value per period, one coloured series per breakdown value.

Layers, bottom to top: the pacing band, the bars or lines, the target ticks, the projection of
a running period, the points (hollow for a running period), and the annotation rules. The x
axis is the result's periods in order, labelled the way the rest of funnelboard names them
(``2025-03``, ``FY2026-Q1``), so fiscal quarters read right.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import altair as alt

from funnelboard.charts import annotations as notes
from funnelboard.charts import targets
from funnelboard.charts.format import (
    axis_format,
    axis_title,
    iso,
    number,
    period_label,
    safe_title,
    value_text,
)
from funnelboard.charts.series import OTHER, TOP_N, Series, is_additive, split
from funnelboard.charts.spec import empty, finish, named
from funnelboard.charts.theme import (
    ANNOTATION_COLOUR,
    BAND_COLOUR,
    NEUTRAL,
    PALETTE,
    TARGET_COLOUR,
    partial_encoding,
)
from funnelboard.errors import UsageError
from funnelboard.metrics.result import MetricResult

KINDS = ("line", "bar")
RUNNING = "Still running (partial)"
COMPLETE = "Complete"


def time_chart(result: MetricResult, *, annotations: Iterable[notes.Annotation] = (),
               kind: str = "line", height: int = 240, title: str | None = None,
               currency: str | None = None, fiscal_start: int = 1,
               behind_below: float = 0.8, on_track_from: float = 0.95,
               top_n: int = TOP_N) -> dict[str, Any]:
    """A metric result over time as a Vega-Lite spec (a plain dict).

    ``currency`` is the reporting currency code shown with money; ``fiscal_start`` the first
    month of the fiscal year (it names quarters); ``behind_below`` and ``on_track_from`` the
    status thresholds of the workspace's ``[targets]`` settings, which place the pacing band.
    ``title`` defaults to the metric's label (``""`` for none).
    """
    if kind not in KINDS:
        raise UsageError(f"Chart kind '{kind}' is not available; use one of: "
                         f"{', '.join(KINDS)}.")
    label = result.label or result.metric
    chart_title = label if title is None else title
    if not result.rows:
        return empty(chart_title, "No data in this period range.")
    grain = result.query.grain
    periods = _periods(result, grain, fiscal_start)
    labels = [p[2] for p in periods]
    series = split(result, label=label, top_n=top_n)
    points = _points(result, series, periods, currency)
    value_title = axis_title(label, result.unit, currency)
    y_axis = alt.Axis(format=axis_format(result.unit),
                      tickMinStep=1 if result.unit == "count" else alt.Undefined)

    def x(*, centred: bool = True) -> alt.X:
        """Periods on a band scale; lines and rules sit at the band's centre."""
        return alt.X("period_label:O", title=None,
                     bandPosition=0.5 if centred else alt.Undefined,
                     scale=alt.Scale(type="band", domain=labels, paddingInner=0.25,
                                     paddingOuter=0.1),
                     axis=alt.Axis(labelAngle=0))

    def y(field: str, **kwargs: Any) -> alt.Y:
        return alt.Y(f"{field}:Q", title=value_title, axis=y_axis, **kwargs)

    multi = len(series.names) > 1
    colour = _colour(series, result.dims) if multi else alt.Undefined
    single_colour = PALETTE[0]
    layers: list[alt.Chart] = []
    data: dict[str, list[dict[str, Any]]] = {"points": points}
    with_target = any(number(r.get("target")) is not None for r in points)
    if with_target and not multi:
        bands = targets.band_rows(points, unit=result.unit, currency=currency,
                                  direction=result.direction, behind_below=behind_below,
                                  on_track_from=on_track_from)
        data["bands"] = bands
        layers.append(_band_layer(x(centred=False), y("low")))
    tooltip = _tooltip(result, points, with_target)
    base = alt.Chart()  # the layer's own data: the points
    if kind == "bar":
        stacked = is_additive(result)
        bar_y = y("value", stack="zero" if stacked else None) if multi else y("value")
        layers.append(_bars(base, series, x(centred=False), bar_y, colour, single_colour,
                            tooltip, stacked=stacked, narrow=with_target and not multi))
    else:
        data["segments"] = _segments(points)
        layers.extend(_lines(base, bool(data["segments"]), x(), y("value"), colour,
                             single_colour, tooltip))
    if with_target:
        data["ticks"] = targets.tick_rows(points, result.unit, currency)
        layers.append(_tick_layer(x(centred=False), y("target"), colour))
        data["projections"] = [] if multi else _projections(points, currency, result.unit)
        if data["projections"]:
            layers.append(_projection_layer(x(), y("projection")))
    placed = notes.place(annotations, periods)
    if placed:
        data["annotations"] = placed
        layers.extend(_annotation_layers(x()))
    subtitle = [s for s in (series.note, _partial_note(points, kind),
                            _target_note(with_target, multi)) if s]
    meta = {"metric": result.metric, "unit": result.unit, "grain": grain,
            "series": series.names, "dims": list(result.dims),
            "annotations": sum(p["count"] for p in placed)}
    return finish(alt.layer(*layers, data=named("points")), kind=f"time-{kind}", data=data,
                  height=height, title=chart_title, subtitle=subtitle, meta=meta)


def _periods(result: MetricResult, grain: str,
             fiscal_start: int) -> list[tuple[dt.date, dt.date, str]]:
    spans: dict[dt.date, dt.date] = {}
    for row in result.rows:
        spans.setdefault(row["period"], row.get("period_end") or row["period"])
    return [(start, spans[start], period_label(start, grain, fiscal_start))
            for start in sorted(spans)]


def _points(result: MetricResult, series: Series, periods: list[tuple[dt.date, dt.date, str]],
            currency: str | None) -> list[dict[str, Any]]:
    """One data row per result row drawn (plus "Other"), with its tooltip text and its run:
    consecutive complete periods with a value form one solid line."""
    label_of = {p[0]: p[2] for p in periods}
    rank = {name: i for i, name in enumerate(series.names)}
    unit = result.unit
    rows = sorted(series.rows, key=lambda r: (rank[r["series"]], r["period"]))
    out: list[dict[str, Any]] = []
    run, previous_series, broken = 0, None, True
    for row in rows:
        value = number(row.get("value"))
        partial = bool(row.get("partial"))
        if row["series"] != previous_series or partial or value is None:
            broken = True
        if broken and not partial and value is not None:
            run += 1
            broken = False
        previous_series = row["series"]
        point: dict[str, Any] = {
            "period": iso(row["period"]), "period_end": iso(row.get("period_end")),
            "period_label": label_of[row["period"]], "series": row["series"],
            "series_rank": rank[row["series"]],
            **{d: row.get(d) for d in result.dims if row["series"] != OTHER},
            "value": value, "value_text": value_text(value, unit, currency),
            "numerator": number(row.get("numerator")),
            "denominator": number(row.get("denominator")), "n": number(row.get("n")),
            "partial": partial, "period_state": RUNNING if partial else COMPLETE,
            "run": None if partial or value is None else run,
        }
        for key in ("numerator", "denominator", "n"):
            point[f"{key}_text"] = value_text(point[key], "count")
        if result.query.with_target:
            point.update({"target": number(row.get("target")),
                          "expected": targets.expected_to_date(row),
                          "projection": number(row.get("projection"))})
            point.update(targets.tooltip_fields(row, unit, currency))
        out.append(point)
    return out


def _colour_scale(series: Series) -> alt.Scale:
    """Palette colours in series order, grey for "Other"."""
    colours = [NEUTRAL if name == OTHER else PALETTE[i % len(PALETTE)]
               for i, name in enumerate(series.names)]
    return alt.Scale(domain=series.names, range=colours)


def _colour(series: Series, dims: tuple[str, ...]) -> alt.Color:
    title = safe_title(" · ".join(dims), "Series") if dims else None
    return alt.Color("series:N", title=title, scale=_colour_scale(series))


def _tooltip(result: MetricResult, points: list[dict[str, Any]],
             with_target: bool) -> list[alt.Tooltip]:
    fields = [alt.Tooltip("period_label:N", title="Period")]
    if result.dims:
        fields.append(alt.Tooltip("series:N", title=safe_title(" · ".join(result.dims),
                                                                "Series")))
    fields.append(alt.Tooltip("value_text:N", title=safe_title(result.label, "Value")))
    for key, title in (("numerator", "Numerator"), ("denominator", "Denominator"), ("n", "n")):
        if any(p[key] is not None for p in points) and not (
                key == "n" and all(p["n"] == p["value"] for p in points)):
            fields.append(alt.Tooltip(f"{key}_text:N", title=title))
    fields.append(alt.Tooltip("period_state:N", title="Period"))
    if with_target:
        fields += [alt.Tooltip("target_text:N", title="Target"),
                   alt.Tooltip("attainment_text:N", title="Attainment"),
                   alt.Tooltip("pacing_text:N", title="Pacing"),
                   alt.Tooltip("projection_text:N", title="Projection"),
                   alt.Tooltip("status_text:N", title="Status")]
    return fields


def _bars(base: alt.Chart, series: Series, x: alt.X, y: alt.Y, colour: Any, single: str,
          tooltip: list[alt.Tooltip], *, stacked: bool, narrow: bool) -> alt.Chart:
    """Stacked bars for amounts that add up, side-by-side bars for rates. A running period's
    bar is paler with a dashed outline in its own colour, so its series stays recognisable.
    ``narrow`` bars leave the pacing band behind them visible on both sides."""
    multi = len(series.names) > 1
    chart = base.mark_bar(color=alt.Undefined if multi else single,
                          stroke=alt.Undefined if multi else single,
                          width={"band": 0.55} if narrow else alt.Undefined)
    encoding: dict[str, Any] = {"x": x, "y": y, "tooltip": tooltip, **partial_encoding()}
    if multi:
        encoding["color"] = colour
        encoding["stroke"] = alt.Stroke("series:N", scale=_colour_scale(series), legend=None)
        if stacked:
            encoding["order"] = alt.Order("series_rank:Q", sort="ascending")
        else:
            encoding["xOffset"] = alt.XOffset("series:N",
                                              scale=alt.Scale(domain=series.names))
    bars: alt.Chart = chart.encode(**encoding).transform_filter("isValid(datum.value)")
    return bars


def _lines(base: alt.Chart, dashed: bool, x: alt.X, y: alt.Y, colour: Any,
           single: str, tooltip: list[alt.Tooltip]) -> list[alt.Chart]:
    """Solid lines through complete periods, dashed into and between running ones, points on
    top (hollow while the period runs)."""
    fixed = single if colour is alt.Undefined else alt.Undefined
    solid = base.mark_line(color=fixed).encode(x=x, y=y, color=colour, detail="run:N")
    layers = [solid.transform_filter("datum.run != null")]
    if dashed:
        layers.append(alt.Chart(named("segments")).mark_line(
            strokeDash=[4, 3], color=fixed).encode(x=x, y=y, color=colour,
                                                   detail="segment:N"))
    complete = base.mark_point(filled=True, size=40, color=fixed).encode(
        x=x, y=y, color=colour, tooltip=tooltip)
    running = base.mark_point(filled=False, fill="white", strokeWidth=1.5, size=40,
                              color=fixed).encode(x=x, y=y, color=colour, tooltip=tooltip)
    layers.append(complete.transform_filter("!datum.partial && isValid(datum.value)"))
    layers.append(running.transform_filter("datum.partial && isValid(datum.value)"))
    return layers


def _segments(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two-point dashed lines joining a running period to its neighbours in the same series."""
    out: list[dict[str, Any]] = []
    for i in range(1, len(points)):
        a, b = points[i - 1], points[i]
        if a["series"] != b["series"] or not (a["partial"] or b["partial"]):
            continue
        if a["value"] is None or b["value"] is None:
            continue
        for p in (a, b):
            out.append({"period_label": p["period_label"], "series": p["series"],
                        "value": p["value"], "segment": f"{p['series']}#{i}"})
    return out


def _band_layer(x: alt.X, y: alt.Y) -> alt.Chart:
    band: alt.Chart = alt.Chart(named("bands")).mark_rect(
        color=BAND_COLOUR, opacity=0.3).encode(
        x=x, y=y, y2=alt.Y2("high:Q"),
        tooltip=[alt.Tooltip("period_label:N", title="Period"),
                 alt.Tooltip("zone_text:N", title="At risk between"),
                 alt.Tooltip("basis:N", title="Around")])
    return band


def _tick_layer(x: alt.X, y: alt.Y, colour: Any) -> alt.Chart:
    fixed = TARGET_COLOUR if colour is alt.Undefined else alt.Undefined
    ticks_layer: alt.Chart = alt.Chart(named("ticks")).mark_tick(
        thickness=2, color=fixed).encode(
        x=x, y=y, color=colour, tooltip=[alt.Tooltip("period_label:N", title="Period"),
                                         alt.Tooltip("series:N", title="Series"),
                                         alt.Tooltip("target_text:N", title="Target")])
    return ticks_layer


def _projections(points: list[dict[str, Any]], currency: str | None,
                 unit: str) -> list[dict[str, Any]]:
    """The projected end value of each running period, where it differs from the actual."""
    return [{"period_label": p["period_label"], "projection": p["projection"],
             "projection_text": value_text(p["projection"], unit, currency)}
            for p in points if p["partial"] and p.get("projection") is not None
            and p["projection"] != p["value"]]


def _projection_layer(x: alt.X, y: alt.Y) -> alt.Chart:
    marks: alt.Chart = alt.Chart(named("projections")).mark_point(
        shape="diamond", filled=False, color=TARGET_COLOUR, size=60, strokeWidth=1.5).encode(
        x=x, y=y, tooltip=[alt.Tooltip("period_label:N", title="Period"),
                           alt.Tooltip("projection_text:N", title="Projected")])
    return marks


def _annotation_layers(x: alt.X) -> list[alt.Chart]:
    base = alt.Chart(named("annotations"))
    tooltip = [alt.Tooltip("date:N", title="Date"), alt.Tooltip("label:N", title="Note"),
               alt.Tooltip("kind:N", title="Kind")]
    rule = base.mark_rule(color=ANNOTATION_COLOUR, strokeDash=[2, 2], strokeWidth=1.5).encode(
        x=x, tooltip=tooltip)
    marker = base.mark_point(shape="triangle-down", filled=True, color=ANNOTATION_COLOUR,
                             size=70).encode(x=x, y=alt.value(0), tooltip=tooltip)
    return [rule, marker]


def _partial_note(points: list[dict[str, Any]], kind: str) -> str:
    if not any(p["partial"] for p in points):
        return ""
    style = "Pale, dashed bars" if kind == "bar" else "Dashed lines and hollow points"
    return f"{style}: the period is still running."


def _target_note(with_target: bool, multi: bool) -> str:
    if not with_target:
        return ""
    if multi:
        return "Ticks: each series' target."
    return ("Dark ticks: the target; shaded: the at-risk zone; diamond: the projected end of "
            "a running period.")
