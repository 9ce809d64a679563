"""Charts: Vega-Lite specs built in Python from metric results (DESIGN.md, "Charts").

Every function returns a plain dict, a self-contained Vega-Lite spec with its data inline. The
browser draws it with the vega bundle the app serves (:func:`vega_bundle`); reports get PNG,
SVG or PDF from the same spec (:func:`to_png`, :func:`to_svg`, :func:`to_pdf`).
"""

from funnelboard.charts.annotations import Annotation
from funnelboard.charts.bars import MRR_LOSSES, MRR_MOVEMENTS, bar_chart, combine, stacked_bar
from funnelboard.charts.bundle import bundle_etag, chart_css, vega_bundle
from funnelboard.charts.export import to_pdf, to_png, to_svg
from funnelboard.charts.heatmap import cohort_heatmap
from funnelboard.charts.options import time_chart_options
from funnelboard.charts.spec import EMBED_OPTIONS, spec_json
from funnelboard.charts.timeline import time_chart

__all__ = [
    "EMBED_OPTIONS",
    "MRR_LOSSES",
    "MRR_MOVEMENTS",
    "Annotation",
    "bar_chart",
    "bundle_etag",
    "chart_css",
    "cohort_heatmap",
    "combine",
    "spec_json",
    "stacked_bar",
    "time_chart",
    "time_chart_options",
    "to_pdf",
    "to_png",
    "to_svg",
    "vega_bundle",
]
