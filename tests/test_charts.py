"""Charts: the Vega-Lite specs hold exactly the numbers of the result they draw.

Results are built by hand (a MetricResult over a made-up query), so every expected value is
known; no browser is involved. Rendering goes through vl-convert (PNG/SVG) for two specs only.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from typing import Any

import pytest
import vl_convert as vlc
from altair.vegalite import load_schema
from jsonschema import ValidationError, validators

from funnelboard import charts
from funnelboard.charts import Annotation
from funnelboard.charts.export import vegalite_version
from funnelboard.errors import UsageError
from funnelboard.metrics.query import make_query
from funnelboard.metrics.result import MetricResult
from funnelboard.settings import Settings

AS_OF = dt.date(2025, 3, 15)


# -- building results ------------------------------------------------------------------------


def month(text: str) -> tuple[dt.date, dt.date]:
    start = dt.date.fromisoformat(text + "-01")
    return start, start.replace(day=calendar.monthrange(start.year, start.month)[1])


def row(period: str, value: float | None, *, partial: bool = False,
        **fields: Any) -> dict[str, Any]:
    start, end = month(period)
    return {"period": start, "period_end": end, "value": value, "numerator": None,
            "denominator": None, "n": value, "partial": partial, "extra": {}, **fields}


def result(rows: list[dict[str, Any]], *, metric: str = "mqls", label: str = "MQLs",
           unit: str = "count", dims: tuple[str, ...] = (), with_target: bool = False,
           direction: str = "up", aggregation: str = "flow") -> MetricResult:
    query = make_query(metric, grain="month", by=[d for d in dims if d != "stage"],
                       as_of=AS_OF, with_target=with_target)
    return MetricResult(metric=metric, label=label, unit=unit, direction=direction,
                        definition="Made up for a test.", query=query, rows=rows,
                        aggregation=aggregation, dims=dims)


def by_channel(values: dict[str, list[float]], periods: list[str], *,
               partial_last: bool = False) -> list[dict[str, Any]]:
    return [row(p, series[i], channel=name,
                partial=partial_last and i == len(periods) - 1)
            for name, series in values.items() for i, p in enumerate(periods)]


# -- reading specs ---------------------------------------------------------------------------


def points(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The chart's own rows (the top-level dataset every main layer draws)."""
    values: list[dict[str, Any]] = spec["data"]["values"]
    return values


def layers(spec: dict[str, Any], mark: str) -> list[dict[str, Any]]:
    def mark_type(layer: dict[str, Any]) -> str:
        m = layer.get("mark")
        return str(m["type"] if isinstance(m, dict) else m)

    return [layer for layer in spec["layer"] if mark_type(layer) == mark]


def data_of(spec: dict[str, Any], mark: str) -> list[dict[str, Any]]:
    """The values of the one layer of ``mark`` that has data of its own."""
    found = [layer["data"]["values"] for layer in layers(spec, mark) if "data" in layer]
    assert len(found) == 1, f"expected one {mark} layer with data, found {len(found)}"
    return found[0]


THREE_MONTHS = ["2025-01", "2025-02", "2025-03"]


# -- time chart ------------------------------------------------------------------------------


def test_time_chart_has_one_point_per_period_and_channel_with_its_value() -> None:
    rows = by_channel({"webinar": [5, 7, 2], "paid_search": [10, 4, 8]}, THREE_MONTHS)
    spec = charts.time_chart(result(rows, dims=("channel",)))
    got = {(p["period"], p["series"]): p["value"] for p in points(spec)}
    assert got == {
        ("2025-01-01", "webinar"): 5, ("2025-02-01", "webinar"): 7, ("2025-03-01", "webinar"): 2,
        ("2025-01-01", "paid_search"): 10, ("2025-02-01", "paid_search"): 4,
        ("2025-03-01", "paid_search"): 8,
    }
    assert {p["period_label"] for p in points(spec)} == set(THREE_MONTHS)
    assert spec["usermeta"]["funnelboard"]["series"] == ["paid_search", "webinar"]  # 22 > 14
    assert spec["width"] == "container"
    assert spec["title"]["text"] == "MQLs"


def test_running_period_is_flagged_and_joined_by_a_dashed_segment() -> None:
    rows = by_channel({"webinar": [5, 7, 2]}, THREE_MONTHS, partial_last=True)
    spec = charts.time_chart(result(rows, dims=("channel",)))
    flags = {p["period"]: (p["partial"], p["period_state"]) for p in points(spec)}
    assert flags["2025-03-01"] == (True, "Still running (partial)")
    assert flags["2025-02-01"] == (False, "Complete")
    # the solid line runs through complete periods only; the dashed one joins Feb to Mar
    assert [p["run"] for p in points(spec)] == [1, 1, None]
    dashed = [layer for layer in layers(spec, "line") if "data" in layer]
    assert len(dashed) == 1 and dashed[0]["mark"]["strokeDash"] == [4, 3]
    assert [(s["period_label"], s["value"]) for s in dashed[0]["data"]["values"]] == [
        ("2025-02", 7), ("2025-03", 2)]
    assert any("still running" in line for line in spec["title"]["subtitle"])


def test_a_chart_without_running_periods_has_no_dashed_segment() -> None:
    spec = charts.time_chart(result([row(p, 3) for p in THREE_MONTHS]))
    assert all("data" not in layer for layer in layers(spec, "line"))
    assert "subtitle" not in spec["title"]


def test_bar_chart_kind_stacks_counts_and_marks_running_bars() -> None:
    rows = by_channel({"a": [1, 2, 3], "b": [4, 5, 6]}, THREE_MONTHS, partial_last=True)
    spec = charts.time_chart(result(rows, dims=("channel",)), kind="bar")
    (bars,) = layers(spec, "bar")
    assert bars["encoding"]["y"]["stack"] == "zero"
    assert bars["encoding"]["fillOpacity"]["condition"]["test"] == "datum.partial"
    with pytest.raises(UsageError, match="Chart kind 'pie'"):
        charts.time_chart(result(rows, dims=("channel",)), kind="pie")


def test_rates_are_drawn_side_by_side_and_formatted_as_percentages() -> None:
    rows = [row("2025-01", 0.25, channel="a", numerator=1, denominator=4, n=4),
            row("2025-01", 0.5, channel="b", numerator=3, denominator=6, n=6)]
    spec = charts.time_chart(result(rows, unit="ratio", dims=("channel",),
                                    aggregation="ratio"), kind="bar")
    (bars,) = layers(spec, "bar")
    assert "xOffset" in bars["encoding"] and bars["encoding"]["y"]["stack"] is None
    texts = {p["series"]: (p["value_text"], p["numerator_text"], p["denominator_text"])
             for p in points(spec)}
    assert texts == {"a": ("25.0%", "1", "4"), "b": ("50.0%", "3", "6")}
    assert bars["encoding"]["y"]["axis"]["format"] == ".0%"


def test_money_shows_the_reporting_currency() -> None:
    spec = charts.time_chart(result([row("2025-01", 1234.5)], metric="new_mrr",
                                    label="New MRR", unit="currency"), currency="EUR")
    assert points(spec)[0]["value_text"] == "EUR 1,234"
    assert layers(spec, "line")[0]["encoding"]["y"]["title"] == "New MRR (EUR)"
    plain = charts.time_chart(result([row("2025-01", 99.5)], unit="currency"))
    assert points(plain)[0]["value_text"] == "99.50"


def test_fiscal_quarters_are_labelled_as_funnelboard_names_them() -> None:
    quarter = make_query("mqls", grain="quarter", as_of=AS_OF)
    rows = [{**row("2025-02", 30), "period_end": dt.date(2025, 4, 30)},
            {**row("2025-05", 12, partial=True), "period_end": dt.date(2025, 7, 31)}]
    spec = charts.time_chart(MetricResult("mqls", "MQLs", "count", "up", "", quarter, rows),
                             fiscal_start=2)
    assert [p["period_label"] for p in points(spec)] == ["FY2026-Q1", "FY2026-Q2"]
    assert charts.time_chart_options(Settings()) == {
        "currency": "USD", "fiscal_start": 1, "behind_below": 0.8, "on_track_from": 0.95}


def test_counts_beyond_the_top_series_are_summed_as_other() -> None:
    sizes = {f"ch{i}": [10 * i, 10 * i + 1] for i in range(1, 11)}  # ch10 largest, ch1 smallest
    spec = charts.time_chart(result(by_channel(sizes, ["2025-01", "2025-02"]),
                                    dims=("channel",)), top_n=8)
    names = spec["usermeta"]["funnelboard"]["series"]
    assert names == [f"ch{i}" for i in range(10, 2, -1)] + ["Other"]
    other = {p["period"]: p["value"] for p in points(spec) if p["series"] == "Other"}
    assert other == {"2025-01-01": 10 + 20, "2025-02-01": 11 + 21}
    assert "summed as \"Other\"" in spec["title"]["subtitle"][0]
    colour = layers(spec, "line")[0]["encoding"]["color"]["scale"]
    assert colour["domain"][-1] == "Other" and colour["range"][-1] == "#B0B0B0"


def test_rates_beyond_the_top_series_are_left_out_and_the_subtitle_says_so() -> None:
    rows = [row("2025-01", 0.1 * (i % 5), channel=f"ch{i}", numerator=i, denominator=10 * i,
                n=10 * i) for i in range(1, 11)]
    spec = charts.time_chart(result(rows, unit="ratio", dims=("channel",),
                                    aggregation="ratio"), top_n=8)
    series = {p["series"] for p in points(spec)}
    assert series == {f"ch{i}" for i in range(3, 11)}  # ranked by n: ch1, ch2 smallest
    assert "Other" not in series
    assert "left out" in spec["title"]["subtitle"][0]


def test_targets_draw_ticks_and_the_at_risk_band_only_where_a_target_exists() -> None:
    rows = [row("2025-01", 40, target=50.0, status="at_risk"),
            row("2025-02", 55, target=50.0, status="on_track"),
            row("2025-03", 10, target=None)]
    spec = charts.time_chart(result(rows, with_target=True), behind_below=0.8,
                             on_track_from=0.95)
    ticks = data_of(spec, "tick")
    assert [(t["period_label"], t["target"]) for t in ticks] == [("2025-01", 50.0),
                                                                  ("2025-02", 50.0)]
    bands = data_of(spec, "rect")
    assert [(b["period_label"], b["low"], b["high"]) for b in bands] == [
        ("2025-01", 40.0, 47.5), ("2025-02", 40.0, 47.5)]
    statuses = {p["period_label"]: p["status_text"] for p in points(spec)}
    assert statuses == {"2025-01": "At risk", "2025-02": "On track", "2025-03": "—"}


def test_a_running_period_band_sits_around_the_value_expected_to_date() -> None:
    rows = [row("2025-03", 20, partial=True, target=60.0, projection=40.0,
                extra={"target": {"expected_to_date": 30.0}})]
    spec = charts.time_chart(result(rows, with_target=True))
    (band,) = data_of(spec, "rect")
    assert (band["low"], band["high"], band["basis"]) == (24.0, 28.5, "expected to date")
    assert data_of(spec, "tick")[0]["target"] == 60.0
    (projection,) = data_of(spec, "point")
    assert projection["projection"] == 40.0


def test_a_cost_target_puts_the_at_risk_band_above_the_target() -> None:
    rows = [row("2025-01", 120.0, target=100.0)]
    spec = charts.time_chart(result(rows, unit="currency", direction="down",
                                    with_target=True))
    (band,) = data_of(spec, "rect")
    assert (band["low"], band["high"]) == pytest.approx((105.0, 120.0))


def test_without_targets_no_target_layer_is_drawn() -> None:
    spec = charts.time_chart(result([row(p, 3) for p in THREE_MONTHS]))
    assert layers(spec, "tick") == [] and layers(spec, "rect") == []
    asked = charts.time_chart(result([row(p, 3, target=None) for p in THREE_MONTHS],
                                     with_target=True))
    assert layers(asked, "tick") == [] and layers(asked, "rect") == []
    assert {p["target_text"] for p in points(asked)} == {"—"}


def test_annotations_outside_the_charted_range_are_dropped() -> None:
    notes = [Annotation(dt.date(2025, 2, 10), "Price change", "pricing"),
             Annotation(dt.date(2025, 2, 20), "Webinar", "webinar"),
             Annotation(dt.date(2024, 12, 31), "Too early"),
             Annotation(dt.date(2025, 4, 1), "Too late")]
    spec = charts.time_chart(result([row(p, 3) for p in THREE_MONTHS]), annotations=notes)
    (placed,) = [layer["data"]["values"] for layer in layers(spec, "rule")]
    assert placed == [{"period_label": "2025-02", "date": "2025-02-10; 2025-02-20",
                       "label": "Price change; Webinar", "kind": "pricing; webinar",
                       "count": 2}]
    assert spec["usermeta"]["funnelboard"]["annotations"] == 2
    none_inside = charts.time_chart(result([row("2025-01", 3)]), annotations=notes)
    assert layers(none_inside, "rule") == []


def places_of(text: str, node: Any, path: tuple[str, ...] = ()) -> set[str]:
    """Where ``text`` occurs in a spec, as key paths without list indexes."""
    if isinstance(node, dict):
        return set().union(*(places_of(text, v, (*path, k)) for k, v in node.items()))
    if isinstance(node, list):
        return set().union(*(places_of(text, v, path) for v in node))
    return {"/".join(path)} if isinstance(node, str) and text in node else set()


def test_user_text_stays_data_even_after_compiling_to_vega() -> None:
    evil = "</script><script>alert('x')</script>"
    rows = by_channel({evil: [1, 2, 3], "b": [4, 5, 6]}, THREE_MONTHS)
    spec = charts.time_chart(result(rows, dims=("channel",)),
                             annotations=[Annotation(dt.date(2025, 1, 5), evil)])
    assert evil in {p["series"] for p in points(spec)}
    # in the compiled Vega spec the text is a data value, a legend's domain entry or usermeta,
    # never part of an expression, a signal or a mark property
    vega = vlc.vegalite_to_vega(spec, vl_version=vegalite_version(spec))
    assert places_of(evil, vega) == {
        "data/values/channel", "data/values/series",
        "data/values/label", "scales/domain", "usermeta/funnelboard/series"}
    text = charts.spec_json(spec)
    assert "<" not in text and ">" not in text  # safe to embed in a <script> block
    assert json.loads(text) == spec


def test_an_empty_result_says_so_instead_of_drawing_axes() -> None:
    spec = charts.time_chart(result([]))
    assert spec["data"]["values"] == [{"message": "No data in this period range."}]


# -- cohort heatmap --------------------------------------------------------------------------


def funnel_rows() -> list[dict[str, Any]]:
    """Two cohorts through three stages; numerator ÷ denominator is the step conversion."""
    out = []
    for period, created, counts, partial in (("2025-01", 100, (40, 10, 5), False),
                                             ("2025-02", 50, (20, 0, 0), True)):
        previous = created
        for stage, count in zip(("lead", "mql", "sql"), counts, strict=True):
            out.append(row(period, count, partial=partial, stage=stage, numerator=count,
                           denominator=previous))
            previous = count
    return out


def test_cohort_heatmap_has_one_cell_per_cohort_and_stage_with_its_conversion() -> None:
    spec = charts.cohort_heatmap(result(funnel_rows(), metric="funnel", label="Funnel",
                                        dims=("stage",)))
    cells = {(c["cohort"], c["stage"]): c for c in points(spec)}
    assert len(cells) == 6
    assert cells[("2025-01", "mql")]["conversion"] == pytest.approx(0.25)
    assert cells[("2025-01", "sql")]["conversion"] == pytest.approx(0.5)
    assert cells[("2025-01", "lead")]["conversion"] == pytest.approx(0.4)
    assert cells[("2025-01", "lead")]["first_stage"] is True
    assert cells[("2025-01", "mql")]["first_stage"] is False
    # 0 of 0 has no conversion; a running cohort is starred
    assert cells[("2025-02 *", "sql")]["conversion"] is None
    assert cells[("2025-02 *", "sql")]["conversion_text"] == "—"
    assert (cells[("2025-01", "sql")]["count_text"], cells[("2025-01", "sql")]["conversion_text"]
            ) == ("5", "50.0%")
    assert spec["usermeta"]["funnelboard"]["stages"] == ["lead", "mql", "sql"]  # funnel order
    coloured = [layer for layer in layers(spec, "rect") if "color" in layer["encoding"]]
    assert coloured[0]["transform"] == [
        {"filter": "!datum.first_stage && isValid(datum.conversion)"}]


def test_cohort_heatmap_refuses_a_result_without_stages() -> None:
    with pytest.raises(UsageError, match="needs a funnel result"):
        charts.cohort_heatmap(result([row("2025-01", 1)]))


# -- bars ------------------------------------------------------------------------------------


def test_bar_chart_ranks_categories_and_leaves_out_those_without_a_value() -> None:
    rows = [{"channel": "webinar", "value": 120.0, "n": 4},
            {"channel": "paid_search", "value": 310.0, "n": 9},
            {"channel": "events", "value": None, "n": 0}]
    spec = charts.bar_chart(rows, category="channel", value="value", unit="currency",
                            title="Cost per MQL", currency="USD", value_label="Cost per MQL")
    assert [(b["category"], b["value"], b["value_text"]) for b in points(spec)] == [
        ("paid_search", 310.0, "USD 310"), ("webinar", 120.0, "USD 120")]
    assert spec["title"]["subtitle"] == ["1 without a value not shown."]
    assert layers(spec, "bar")[0]["encoding"]["x"]["title"] == "Cost per MQL (USD)"


def test_mrr_movements_stack_losses_below_zero_with_the_net_marked() -> None:
    def movement(key: str, label: str, values: list[float]) -> MetricResult:
        return result([row(p, v) for p, v in zip(THREE_MONTHS, values, strict=True)],
                      metric=key, label=label, unit="currency")

    parts = [movement("new_mrr", "New MRR", [100, 50, 0]),
             movement("expansion_mrr", "Expansion MRR", [20, 0, 10]),
             movement("churned_mrr", "Churned MRR", [30, 80, 5])]
    combined = charts.combine(parts, negative=charts.MRR_LOSSES, label="MRR movements")
    spec = charts.stacked_bar(combined, dim="movement", currency="USD")
    got = {(p["period_label"], p["part"]): p["value"] for p in points(spec)}
    assert got[("2025-01", "Churned MRR")] == -30 and got[("2025-02", "New MRR")] == 50
    assert len(got) == 9
    nets = {n["period_label"]: n["net"] for n in data_of(spec, "tick")}
    assert nets == {"2025-01": 90, "2025-02": -30, "2025-03": 5}
    assert spec["usermeta"]["funnelboard"]["parts"] == ["New MRR", "Expansion MRR",
                                                        "Churned MRR"]
    with pytest.raises(UsageError, match="not broken down by 'segment'"):
        charts.stacked_bar(combined, dim="segment")


def test_combine_refuses_unlike_results() -> None:
    money = result([row("2025-01", 1)], unit="currency")
    with pytest.raises(UsageError, match="only like results"):
        charts.combine([money, result([row("2025-01", 1)], metric="rate", unit="ratio")])


# -- validity and rendering ------------------------------------------------------------------


def every_kind_of_spec() -> list[dict[str, Any]]:
    rows = by_channel({"a": [1, 2, 3], "b": [4, 5, 6]}, THREE_MONTHS, partial_last=True)
    targeted = [row("2025-01", 40, target=50.0), row("2025-02", 20, partial=True,
                                                        target=50.0, projection=35.0)]
    note = [Annotation(dt.date(2025, 2, 3), "Launch")]
    return [
        charts.time_chart(result(rows, dims=("channel",)), annotations=note),
        charts.time_chart(result(rows, dims=("channel",)), kind="bar"),
        charts.time_chart(result(targeted, with_target=True), annotations=note),
        charts.time_chart(result(targeted, with_target=True), kind="bar"),
        charts.time_chart(result([])),
        charts.cohort_heatmap(result(funnel_rows(), metric="funnel", dims=("stage",))),
        charts.bar_chart([{"c": "x", "v": 1.0}], category="c", value="v", unit="count"),
        charts.stacked_bar(result(rows, dims=("channel",)), dim="channel"),
    ]


def test_every_spec_is_valid_vega_lite() -> None:
    schema = load_schema()  # the Vega-Lite schema Altair ships (JSON Schema draft 7)
    validator = validators.validator_for(schema)(schema)
    specs = every_kind_of_spec()
    for spec in specs:
        validator.validate(spec)  # raises on an invalid spec
    with pytest.raises(ValidationError):
        validator.validate({**specs[0], "mark": "nonsense"})


def test_svg_export_draws_the_axis_labels() -> None:
    spec = charts.time_chart(result([row(p, 3) for p in THREE_MONTHS], label="MQLs"))
    svg = charts.to_svg(spec)
    assert svg.lstrip().startswith("<svg")
    assert "2025-02" in svg and "MQLs" in svg


def test_png_export_is_a_png() -> None:
    spec = charts.cohort_heatmap(result(funnel_rows(), metric="funnel", dims=("stage",)))
    png = charts.to_png(spec, scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 1000


def test_export_uses_the_vega_lite_version_the_spec_was_written_for() -> None:
    spec = charts.time_chart(result([row("2025-01", 1)]))
    major_minor = spec["$schema"].rsplit("/v", 1)[1].rsplit(".", 2)[0]
    assert vegalite_version(spec) == major_minor


def test_vega_bundle_is_built_once_and_defines_vega_embed() -> None:
    bundle = charts.vega_bundle()
    assert bundle is charts.vega_bundle()  # cached, not rebuilt per request
    assert bundle.startswith("(() => {") and "window.vegaEmbed=" in bundle
    etag = charts.bundle_etag()
    assert etag.startswith('"') and len(etag) == 18 and etag == charts.bundle_etag()
    assert "#vg-tooltip-element.visible" in charts.chart_css()
