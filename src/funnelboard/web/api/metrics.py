"""``/api/v1/metrics``, ``/api/v1/metrics/{key}``, ``/api/v1/funnel`` and the drill-down
``/api/v1/records/{key}``: the CLI's query options as query parameters, the same JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from funnelboard.errors import UsageError
from funnelboard.metrics.registry import all_metrics, resolve
from funnelboard.metrics.totals import range_total
from funnelboard.web.access import allow, identify
from funnelboard.web.state import ServerState

router = APIRouter(tags=["metrics"])


class ErrorOut(BaseModel):
    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No valid token or session."},
    403: {"model": ErrorOut, "description": "The token's scope or the user's role is too low."},
    422: {"model": ErrorOut, "description": "A parameter is not valid; the detail says which."},
}


class MetricInfo(BaseModel):
    key: str
    label: str
    group: str
    leading: str
    unit: str
    direction: str
    aggregation: str
    time_basis: str
    dimensions: list[str]
    definition: str


class ResultOut(BaseModel):
    """A MetricResult (docs/metrics-engine.md): metadata, the query and the rows."""

    metric: str
    label: str
    unit: str
    direction: str
    aggregation: str
    definition: str
    query: dict[str, Any]
    rows: list[dict[str, Any]]
    notes: list[str]
    model_config = {"extra": "allow"}


class RecordsOut(BaseModel):
    metric: str
    label: str
    side: str
    #: every side of the metric and what it lists
    sides: dict[str, str]
    total: int
    #: the sum of the records' ``counted`` column when the number is a sum, else null
    counted: float | None
    offset: int
    limit: int
    sort: str | None
    descending: bool
    columns: list[str]
    rows: list[dict[str, Any]]
    notes: list[str]


def server(request: Request) -> ServerState:
    return request.app.state.server  # type: ignore[no-any-return]


Text = Annotated[str | None, Query(max_length=200)]
Texts = Annotated[list[str] | None, Query(max_length=200)]


def query_options(start: str | None, end: str | None, as_of: str | None, grain: str | None,
                  by: list[str] | None, filter: list[str] | None, basis: str | None,
                  rule: str | None, level: str | None, compare: str | None = None,
                  transition: str | None = None, probability: str | None = None,
                  with_target: bool = False) -> dict[str, Any]:
    """The options of ``Workspace.metric`` from query parameters (checked by make_query)."""
    options: dict[str, Any] = {"start": start, "end": end, "as_of": as_of, "grain": grain,
                               "by": by or None, "filters": filter or None, "basis": basis,
                               "rule": rule, "level": level, "compare": compare,
                               "transition": transition, "probability": probability,
                               "with_target": with_target or None}
    return {k: v for k, v in options.items() if v not in (None, "")}


@router.get("/metrics", dependencies=[allow("viewer")], response_model=list[MetricInfo],
            responses=ERRORS)
def list_metrics(request: Request, group: Text = None) -> list[MetricInfo]:
    """Every metric this workspace defines, with its metadata and definition."""
    settings = server(request).settings
    out = []
    for m in all_metrics(settings):
        if group and m.group != group:
            continue
        out.append(MetricInfo(key=m.key, label=m.label, group=m.group,
                              leading=m.leading_label, unit=m.unit, direction=m.direction,
                              aggregation=m.aggregation, time_basis=m.time_basis,
                              dimensions=list(m.dimensions), definition=m.definition))
    return out


@router.get("/metrics/{key}", dependencies=[allow("viewer")], response_model=ResultOut,
            responses=ERRORS)
def metric(request: Request, key: Annotated[str, Path(max_length=100)],
           start: Text = None, end: Text = None, as_of: Text = None, grain: Text = None,
           by: Texts = None, filter: Texts = None, basis: Text = None, rule: Text = None,
           level: Text = None, compare: Text = None, transition: Text = None,
           probability: Text = None, with_target: bool = False,
           total: bool = False) -> Response:
    """One metric, as ``funnelboard metrics show KEY --format json`` prints it.

    ``filter`` is ``DIMENSION=VALUE`` (repeatable); ``total=true`` combines the periods into
    one row per breakdown value (sums for flows, Σ numerator ÷ Σ denominator for ratios, the
    last period for stocks)."""
    options = query_options(start, end, as_of, grain, by, filter, basis, rule, level, compare,
                            transition, probability, with_target)
    return _cached_json(request, ("metric", key, total, _frozen(options)),
                        lambda: _metric_dict(request, key, options, total))


def _metric_dict(request: Request, key: str, options: dict[str, Any],
                 total: bool) -> dict[str, Any]:
    state = server(request)
    result = state.reader.metric(key, **options)
    if total:
        result = range_total(result)
    return result.to_dict()


@router.get("/funnel", dependencies=[allow("viewer")], response_model=ResultOut,
            responses=ERRORS)
def funnel(request: Request, start: Text = None, end: Text = None, as_of: Text = None,
           grain: Text = None, by: Texts = None, filter: Texts = None, basis: Text = None,
           rule: Text = None, level: Text = None, compare: Text = None) -> Response:
    """The funnel: every stage's count per period, with the conversion from the previous
    stage (as ``funnelboard funnel --format json``)."""
    options = query_options(start, end, as_of, grain, by, filter, basis, rule, level, compare)
    return _cached_json(request, ("funnel", _frozen(options)),
                        lambda: server(request).reader.funnel(**options).to_dict())


@router.get("/records/{key}", dependencies=[allow("viewer")], response_model=RecordsOut,
            responses=ERRORS)
def records(request: Request, key: Annotated[str, Path(max_length=100)],
            cell_start: Annotated[str, Query(max_length=20)],
            cell_end: Annotated[str, Query(max_length=20)],
            start: Text = None, end: Text = None, as_of: Text = None, grain: Text = None,
            by: Texts = None, filter: Texts = None, basis: Text = None, rule: Text = None,
            level: Text = None, side: Annotated[str, Query(max_length=20)] = "numerator",
            sort: Text = None, desc: bool = False,
            offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    """The records behind one result cell (``cell_start`` … ``cell_end`` with the filters
    that name the cell's dimension values), paged and sorted by one of the record columns."""
    options = query_options(start, end, as_of, grain, by, filter, basis, rule, level)
    page = records_page(request, key, options, cell_start, cell_end, side=side, sort=sort,
                        descending=desc, offset=offset, limit=limit)
    return JSONResponse(page)


def records_page(request: Request, key: str, options: dict[str, Any], cell_start: str,
                 cell_end: str, **paging: Any) -> dict[str, Any]:
    from funnelboard.metrics.query import make_query, parse_date
    from funnelboard.metrics.records import fetch

    state = server(request)
    first = parse_date(cell_start, "cell_start")
    last = parse_date(cell_end, "cell_end")
    if first is None or last is None:
        raise UsageError("cell_start and cell_end are required: the first and last day of "
                         "the result cell whose records you want (YYYY-MM-DD).")

    def compute() -> dict[str, Any]:
        query = make_query(key, timezone=state.settings.timezone, **options)
        with state.reader.snapshot():
            return fetch(state.reader.engine(), query, first, last, **paging).to_dict()

    ident = state.cache.key(identify(request), "records", key, _frozen(options), cell_start,
                            cell_end, _frozen(paging))
    result: dict[str, Any] = state.cache.get_or_compute(ident, compute)
    return result


def _frozen(options: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                        for k, v in options.items()))


def _cached_json(request: Request, parts: tuple[Any, ...], compute: Any) -> Response:
    state = server(request)
    key = state.cache.key(identify(request), *parts)
    body = state.cache.get_or_compute(key, compute)
    return JSONResponse(body)


def metric_exists(request: Request, key: str) -> bool:
    try:
        resolve(key, server(request).settings)
    except Exception:
        return False
    return True
