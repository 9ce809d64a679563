"""Jinja2 environment and the formatting filters pages use (autoescaped everywhere, T17)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from funnelboard.dashboard.format import format_value

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
ENV = TEMPLATES.env
ENV.autoescape = True
ENV.filters["fmt"] = format_value


def _query(params: dict[str, Any]) -> str:
    return urlencode(params, doseq=True)


def _json_script(value: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block: ``<``, ``>`` and ``&`` are
    escaped so data can never close the element (T17)."""
    text = json.dumps(value, default=_json_default)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


ENV.filters["query"] = _query
ENV.filters["json_script"] = _json_script


def page(request: Request, template: str, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    identity = getattr(request.state, "identity", None)
    nav_pages = request.app.state.nav
    return TEMPLATES.TemplateResponse(
        request, template, {"identity": identity, "nav": nav_pages, **context},
        status_code=status_code)
