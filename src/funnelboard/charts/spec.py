"""Turning an Altair chart into the plain, self-contained Vega-Lite dict every caller gets.

Charts are built with named data (:func:`named`) and the rows are put in as ``values`` only in
the finished dict: Altair would otherwise copy every row several times while it assembles the
layers, which costs more than everything else together. A spec is one JSON object whose data
sits where it is drawn; it carries the theme and fills its container's width.
"""

from __future__ import annotations

import json
from typing import Any

import altair as alt

from funnelboard.charts.theme import config

#: vega-embed options for a page whose Content-Security-Policy forbids eval and inline styles:
#: ``ast`` makes Vega interpret expressions instead of compiling them with ``Function``; the
#: default styles (inserted as inline ``<style>`` elements) are off, so the page's own
#: stylesheet must carry them (see :func:`funnelboard.charts.bundle.chart_css`).
EMBED_OPTIONS: dict[str, Any] = {
    "ast": True,
    "actions": False,
    "defaultStyle": False,
    "tooltip": {"disableDefaultStyle": True},
}


def named(name: str) -> alt.NamedData:
    """A placeholder for the dataset ``name``, filled in by :func:`finish`."""
    return alt.NamedData(name=name)


def finish(chart: alt.TopLevelMixin, *, kind: str, data: dict[str, list[dict[str, Any]]],
           height: int | None = None, title: str = "", subtitle: list[str] | None = None,
           meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The finished spec: ``data`` inline, theme, container width, and what the chart shows.

    ``usermeta.funnelboard`` tells the page which chart this is; ``usermeta.embedOptions`` are
    read by vega-embed, so even a bare ``vegaEmbed(el, spec)`` renders without eval.
    """
    props: dict[str, Any] = {"width": "container"}
    if height is not None:
        props["height"] = height
    if title or subtitle:
        props["title"] = alt.TitleParams(text=title or " ", subtitle=subtitle or alt.Undefined)
    spec = chart.properties(**props).to_dict(validate=False)
    spec = _inline_datasets(spec, data)
    spec["config"] = config()
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    spec["usermeta"] = {"embedOptions": EMBED_OPTIONS,
                        "funnelboard": {"chart": kind, **(meta or {})}}
    return spec


def _inline_datasets(spec: dict[str, Any],
                     data: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    datasets = {**spec.pop("datasets", {}), **data}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("data")
            if isinstance(ref, dict) and ref.get("name") in datasets:
                rest = {k: v for k, v in ref.items() if k != "name"}
                node = {**node, "data": {"values": datasets[ref["name"]], **rest}}
            return {k: v if k == "data" else walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(spec)  # type: ignore[no-any-return]


def empty(title: str, message: str) -> dict[str, Any]:
    """A chart with nothing to draw says so in words instead of showing empty axes."""
    chart = alt.Chart(named("message")).mark_text(fontSize=13, color="#666666").encode(
        text="message:N")
    return finish(chart, kind="empty", data={"message": [{"message": message}]}, height=80,
                  title=title)


def spec_json(spec: dict[str, Any]) -> str:
    """The spec as JSON that is safe inside HTML: ``<``, ``>`` and ``&`` are written as
    ``\\u003c`` …, so a label such as ``</script>`` cannot end a ``<script>`` block it is
    embedded in. JSON readers get the same text back."""
    text = json.dumps(spec, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
