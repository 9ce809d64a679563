"""Static PNG, SVG and PDF of a chart spec, rendered by vl-convert (no browser, no network).

A spec made for a page fills its container (``width: "container"``); an image has no
container, so it is given :data:`~funnelboard.charts.theme.EXPORT_WIDTH`. The Vega-Lite version
is read from the spec's ``$schema`` so the renderer compiles the spec Altair wrote.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any

import vl_convert as vlc

from funnelboard.charts.theme import EXPORT_WIDTH
from funnelboard.errors import FunnelboardError

_SCHEMA_VERSION = re.compile(r"/v(\d+)\.(\d+)(?:\.\d+)?\.json$")


def to_png(spec: dict[str, Any], scale: float = 2) -> bytes:
    """The chart as PNG bytes; ``scale`` 2 gives a sharp image on high-density screens."""
    return bytes(vlc.vegalite_to_png(_static(spec), vl_version=vegalite_version(spec),
                                     scale=scale, allowed_base_urls=[]))


def to_svg(spec: dict[str, Any]) -> str:
    """The chart as an SVG document (text)."""
    return str(vlc.vegalite_to_svg(_static(spec), vl_version=vegalite_version(spec),
                                   allowed_base_urls=[]))


def to_pdf(spec: dict[str, Any], scale: float = 1) -> bytes:
    """The chart as a one-page PDF, for reports."""
    return bytes(vlc.vegalite_to_pdf(_static(spec), vl_version=vegalite_version(spec),
                                     scale=scale, allowed_base_urls=[]))


def vegalite_version(spec: dict[str, Any]) -> str | None:
    """``6.4`` for a spec whose ``$schema`` is Vega-Lite 6.4.x, when vl-convert has it.

    ``None`` lets vl-convert use its newest version; an unknown major version is an error,
    because compiling a spec with another major version can silently change it.
    """
    match = _SCHEMA_VERSION.search(str(spec.get("$schema", "")))
    if not match:
        return None
    major, minor = match.groups()
    wanted = f"{major}.{minor}"
    available = _available()
    if wanted in available:
        return wanted
    same_major = [v for v in available if v.split(".")[0] == major]
    if same_major:
        return max(same_major, key=lambda v: tuple(int(p) for p in v.split(".")))
    raise FunnelboardError(f"This chart was made for Vega-Lite {wanted}, which the installed "
                           "renderer (vl-convert) cannot draw; update vl-convert-python.")


@lru_cache(maxsize=1)
def _available() -> tuple[str, ...]:
    return tuple(str(v).lstrip("v") for v in vlc.get_vegalite_versions())


def _static(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy with a fixed width in place of the container's."""
    out = copy.deepcopy(spec)
    if out.get("width") == "container":
        out["width"] = EXPORT_WIDTH
    return out
