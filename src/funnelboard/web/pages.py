"""The dashboard pages, their section downloads (CSV, XLSX, PNG, SVG) and static files."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from funnelboard.dashboard.filters import Filters
from funnelboard.dashboard.model import Page
from funnelboard.dashboard.pages import PAGES, PageSpec
from funnelboard.web import render
from funnelboard.web.access import allow, identify
from funnelboard.web.exports import CSV_TYPE, XLSX_TYPE, rows_csv, rows_xlsx, table_rows
from funnelboard.web.state import ServerState

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"app.css": "text/css", "app.js": "text/javascript"}


def nav() -> list[dict[str, str]]:
    items = [{"key": p.key, "title": p.title, "path": p.path} for p in PAGES]
    items += [{"key": "plan", "title": "Plan", "path": "/plan"},
              {"key": "data", "title": "Data", "path": "/data"}]
    return items


def server(request: Request) -> ServerState:
    return request.app.state.server  # type: ignore[no-any-return]


def filters_of(request: Request) -> Filters:
    state = server(request)
    return Filters.from_params(request.query_params, timezone=state.settings.timezone)


def build_page(request: Request, spec: PageSpec) -> tuple[Page, Filters]:
    """The page for the request's filters, from the cache when the same user asked before."""
    state = server(request)
    filters = filters_of(request)
    extra: dict[str, Any] = {}
    snapshot = request.query_params.get("snapshot")
    if spec.key == "funnel" and snapshot:
        extra["snapshot"] = snapshot[:40]
    key = state.cache.key(identify(request), "page", spec.key, filters.to_params(), extra)

    def compute() -> Page:
        with state.reader.snapshot():
            return spec.build(state.reader, filters, **extra)

    return state.cache.get_or_compute(key, compute), filters


def _page_route(spec: PageSpec) -> Any:
    def show(request: Request) -> Response:
        page, filters = build_page(request, spec)
        return render.page(request, "page.html", spec=spec, page=page, filters=filters,
                           params=filters.to_params(), definitions=_definitions(request, page),
                           currency=server(request).settings.reporting_currency,
                           snapshots=_snapshots(request) if spec.key == "funnel" else [])
    show.__name__ = f"page_{spec.key}"
    return show


def _definitions(request: Request, page: Page) -> dict[str, str]:
    """The definition of every metric a page shows, for the column headers' hover text."""
    from funnelboard.errors import FunnelboardError
    from funnelboard.metrics.registry import resolve

    keys = {k for s in page.sections for k in s.metrics}
    keys |= {c.metric for s in page.sections if s.table for c in s.table.columns if c.metric}
    out = {}
    for key in sorted(keys):
        try:
            out[key] = resolve(key, server(request).settings).definition
        except FunnelboardError:
            continue
    return out


def _snapshots(request: Request) -> list[dict[str, Any]]:
    return server(request).reader.query_dicts(
        "SELECT snapshot_id, taken_at, label, as_of FROM _snapshots "
        "ORDER BY snapshot_id DESC LIMIT 50")


for _spec in PAGES:
    router.add_api_route(_spec.path, _page_route(_spec), methods=["GET"],
                         dependencies=[allow("viewer")], name=f"page_{_spec.key}")


@router.get("/pages/{page_key}/sections/{section_id}.{fmt}", dependencies=[allow("viewer")])
def section_download(request: Request, page_key: str, section_id: str, fmt: str) -> Response:
    """A section's table as CSV/XLSX, or its chart as PNG/SVG, for the same filters."""
    spec = next((p for p in PAGES if p.key == page_key), None)
    if spec is None or fmt not in ("csv", "xlsx", "png", "svg"):
        raise HTTPException(404, "There is no such download.")
    page, filters = build_page(request, spec)
    section = page.section(section_id)
    if section is None:
        raise HTTPException(404, "There is no such section on this page.")
    name = f"{page_key}-{section_id}-{filters.start}-{filters.end}"
    state = server(request)
    identity = identify(request)
    state.auth.audit(identity.email if identity else None, "export",
                     object=f"{page_key}/{section_id}.{fmt}")
    if fmt in ("png", "svg"):
        if section.chart is None:
            raise HTTPException(404, "This section has no chart.")
        from funnelboard.charts import to_png, to_svg

        if fmt == "png":
            return Response(to_png(section.chart), media_type="image/png",
                            headers=_attachment(f"{name}.png"))
        return Response(to_svg(section.chart), media_type="image/svg+xml",
                        headers=_attachment(f"{name}.svg"))
    if section.table is None:
        raise HTTPException(404, "This section has no table.")
    header, rows = table_rows(section.table)
    if fmt == "csv":
        return Response(rows_csv(header, rows), media_type=CSV_TYPE,
                        headers=_attachment(f"{name}.csv"))
    return Response(rows_xlsx(header, rows, section_id), media_type=XLSX_TYPE,
                    headers=_attachment(f"{name}.xlsx"))


def _attachment(filename: str) -> dict[str, str]:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in filename)
    return {"content-disposition": f'attachment; filename="{safe}"'}


@lru_cache(maxsize=4)
def _static(name: str) -> bytes:
    return (STATIC / name).read_bytes()


@router.get("/static/{name}", dependencies=[allow("public")])
def static(name: str) -> Response:
    """The app's own CSS and JS, and the vega bundle (no CDN: the dashboard works offline)."""
    if name == "vega.js":
        from funnelboard.charts import bundle_etag, vega_bundle

        return Response(vega_bundle(), media_type="text/javascript",
                        headers={"cache-control": "public, max-age=86400",
                                 "etag": bundle_etag()})
    if name not in STATIC_FILES:
        raise HTTPException(404, "There is no such file.")
    body = _static(name)
    if name == "app.css":
        from funnelboard.charts import chart_css

        body += b"\n" + chart_css().encode()
    return Response(body, media_type=STATIC_FILES[name],
                    headers={"cache-control": "public, max-age=3600"})
