"""The one look every chart shares: a colour-blind-safe palette, system fonts, quiet axes.

The theme travels inside each spec as its ``config`` (nothing is registered globally), so a
spec renders the same in the browser, in a PNG for a report and in a test.
"""

from __future__ import annotations

from typing import Any

import altair as alt

#: Okabe & Ito's palette for colour-vision deficiency, ordered so that neighbours contrast
#: (yellow and black last: yellow is faint on white, black reads as "total").
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#B8A000",
           "#404040")
#: "Other" and neutral cells: a grey that no palette colour is mistaken for.
NEUTRAL = "#B0B0B0"
#: Targets and their pacing band.
TARGET_COLOUR = "#333333"
BAND_COLOUR = "#E69F00"
#: Annotations: a muted purple that reads as "note", not as data.
ANNOTATION_COLOUR = "#7A5195"
FONT = ('system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, '
        '"Liberation Sans", sans-serif')
#: Width used when a chart is exported (a page gives the browser chart its card's width).
EXPORT_WIDTH = 720


def config() -> dict[str, Any]:
    """The Vega-Lite ``config`` block of every funnelboard chart."""
    return {
        "font": FONT,
        "background": "white",
        "view": {"stroke": None},
        "padding": 8,
        "axis": {
            "labelColor": "#4a4a4a", "titleColor": "#333333", "labelFontSize": 11,
            "titleFontSize": 12, "titleFontWeight": "normal", "gridColor": "#ececec",
            "domainColor": "#9a9a9a", "tickColor": "#9a9a9a", "labelOverlap": True,
        },
        "legend": {
            "orient": "bottom", "labelFontSize": 11, "titleFontSize": 11,
            "titleFontWeight": "normal", "symbolType": "circle", "labelLimit": 180,
            "columns": 4,
        },
        "title": {
            "anchor": "start", "fontSize": 14, "fontWeight": 600, "color": "#222222",
            "subtitleColor": "#666666", "subtitleFontSize": 11, "offset": 10,
        },
        "range": {"category": list(PALETTE)},
        "line": {"strokeWidth": 2},
        "point": {"size": 36},
        "tick": {"thickness": 2},
        "text": {"fontSize": 11},
    }


def partial_encoding() -> dict[str, Any]:
    """Bar encodings for a period still running: a pale fill and a dashed outline in the
    series' own colour (a paler colour alone could be taken for another series)."""
    return {
        "fillOpacity": alt.condition("datum.partial", alt.value(0.35), alt.value(1.0)),
        "strokeWidth": alt.condition("datum.partial", alt.value(1.5), alt.value(0)),
        "strokeDash": alt.condition("datum.partial", alt.value([4, 2]), alt.value([1, 0])),
    }
