"""The drill-down page: the records behind a number, paged, sortable, filterable, and
downloadable as CSV or XLSX (formulas neutralised)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from funnelboard.metrics.registry import resolve
from funnelboard.web import render
from funnelboard.web.access import allow, identify
from funnelboard.web.api.metrics import Text, Texts, query_options, records_page
from funnelboard.web.exports import CSV_TYPE, XLSX_TYPE, rows_csv, rows_xlsx
from funnelboard.web.state import ServerState

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def server(request: Request) -> ServerState:
    return request.app.state.server  # type: ignore[no-any-return]


@router.get("/records/{key}", dependencies=[allow("viewer")])
def records(request: Request, key: Annotated[str, Path(max_length=100)],
            cell_start: Annotated[str, Query(max_length=20)],
            cell_end: Annotated[str, Query(max_length=20)],
            start: Text = None, end: Text = None, as_of: Text = None, grain: Text = None,
            by: Texts = None, filter: Texts = None, basis: Text = None, rule: Text = None,
            level: Text = None, side: Annotated[str, Query(max_length=20)] = "numerator",
            sort: Text = None, desc: bool = False,
            offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
            format: Annotated[str, Query(max_length=10)] = "html") -> Response:
    state = server(request)
    metric = resolve(key, state.settings)
    options = query_options(start, end, as_of, grain, by, filter, basis, rule, level)
    if format in ("csv", "xlsx"):
        limit = state.settings.server.max_rows_per_response
        data = _all_rows(request, key, options, cell_start, cell_end, side, sort, desc, limit)
        header: list[str] = list(data["columns"])
        rows = [[r.get(c) for c in header] for r in data["rows"]]
        identity = identify(request)
        state.auth.audit(identity.email if identity else None, "export",
                         object=f"records/{key}.{format}", detail=f"{len(rows)} rows")
        name = f"{key}-{cell_start}-{cell_end}-{side}.{format}"
        disposition = {"content-disposition": f'attachment; filename="{name}"'}
        if format == "csv":
            return Response(rows_csv(header, rows), media_type=CSV_TYPE, headers=disposition)
        return Response(rows_xlsx(header, rows, key), media_type=XLSX_TYPE,
                        headers=disposition)
    data = records_page(request, key, options, cell_start, cell_end, side=side, sort=sort,
                        descending=desc, offset=offset, limit=PAGE_SIZE)
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset",
                                                                              "format")]
    return render.page(request, "records.html", metric=metric, data=data, key=key,
                       base=[(k, v) for k, v in request.query_params.multi_items()
                             if k not in ("offset", "sort", "desc", "format")],
                       params=params, offset=offset, page_size=PAGE_SIZE,
                       cell_start=cell_start, cell_end=cell_end, side=side, sort=sort,
                       desc=desc, filters=options.get("filters", []), currency="")


def _all_rows(request: Request, key: str, options: dict[str, Any], cell_start: str,
              cell_end: str, side: str, sort: str | None, desc: bool,
              limit: int) -> dict[str, Any]:
    """Every record (up to ``limit``), fetched a thousand at a time."""
    rows: list[dict[str, Any]] = []
    columns: list[str] = []
    offset = 0
    while len(rows) < limit:
        page = records_page(request, key, options, cell_start, cell_end, side=side, sort=sort,
                            descending=desc, offset=offset, limit=min(1000, limit - len(rows)))
        columns = page["columns"]
        rows.extend(page["rows"])
        offset += len(page["rows"])
        if not page["rows"] or offset >= page["total"]:
            break
    return {"columns": columns, "rows": rows}
