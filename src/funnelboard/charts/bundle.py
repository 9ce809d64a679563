"""The JavaScript that draws charts in the browser, served by the app itself (no CDN).

vl-convert ships Vega, Vega-Lite and vega-embed inside its wheel; :func:`vega_bundle` asks it
for one script, once per process, and :func:`bundle_etag` names that exact text so a server
can answer ``If-None-Match`` with 304.

The bundle as vl-convert writes it declares hundreds of short names (``n``, ``t``, ``fs`` …) at
the top level of a classic script, where they would clash with any other script's top-level
names; it is wrapped in a function so that only ``window.vegaEmbed`` (and the ``window.vega``
and ``window.vegaLite`` slots, which this vl-convert version leaves ``null``) are global.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import vl_convert as vlc

#: The rules vega-embed would insert as inline ``<style>`` elements (blocked by a
#: Content-Security-Policy without ``'unsafe-inline'`` in ``style-src``). Charts are embedded
#: with those styles off (``EMBED_OPTIONS``), so the page serves these from its stylesheet.
CHART_CSS = """\
.vega-embed { position: relative; display: block; width: 100%; box-sizing: border-box; }
.vega-embed .chart-wrapper.fit-x { width: 100%; }
.vega-embed .chart-wrapper.fit-y { height: 100%; }
#vg-tooltip-element {
  visibility: hidden; position: fixed; z-index: 1000; padding: 8px; max-width: 360px;
  font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  color: #222; background: rgba(255, 255, 255, 0.97); border: 1px solid #d9d9d9;
  border-radius: 4px; box-shadow: 2px 2px 6px rgba(0, 0, 0, 0.12);
}
#vg-tooltip-element.visible { visibility: visible; }
#vg-tooltip-element h2 { margin: 0 0 8px; font-size: 13px; }
#vg-tooltip-element table { border-spacing: 0; }
#vg-tooltip-element td { padding: 2px 0; overflow: hidden; text-overflow: ellipsis; }
#vg-tooltip-element td.key { color: #707070; max-width: 150px; text-align: right;
  padding-right: 6px; }
#vg-tooltip-element td.value { display: block; max-width: 300px; max-height: 7em;
  text-align: left; }
"""


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script defining ``window.vegaEmbed``.

    Built from the files inside the vl-convert wheel (nothing is downloaded); the first call
    takes about two seconds, later calls return the cached text.
    """
    return "(() => {\n" + vlc.javascript_bundle(None) + "\n})();\n"  # type: ignore[arg-type]


def bundle_etag() -> str:
    """A strong ETag for :func:`vega_bundle` (the first 16 hex digits of its SHA-256)."""
    return _etag(vega_bundle())


@lru_cache(maxsize=1)
def _etag(text: str) -> str:
    return '"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] + '"'


def chart_css() -> str:
    """The stylesheet rules charts need when vega-embed's inline styles are off."""
    return CHART_CSS


def versions() -> dict[str, str]:
    """The library versions inside the bundle (for an about page or a bug report)."""
    return {"vega": str(vlc.get_vega_version()), "vega-embed": str(vlc.get_vega_embed_version()),
            "vega-lite": ", ".join(str(v) for v in vlc.get_vegalite_versions())}
