"""Which function lists the records behind a metric's cells, and what its sides mean.

Every lister returns, for one cell (its period and the query's filters, which carry the cell's
dimension values), exactly the rows the metric counted or summed, built from the metric's own
expressions, so the drill-down agrees with the number. A metric has one side (``numerator``:
the records counted or summed) or two (``numerator`` and ``denominator`` of a ratio). A side
either counts its records, or sums an amount: then the records carry a column named
``counted`` (:data:`COUNTED`), each record's part of the number, in the metric's unit, and
the sum of that column over the records equals the cell's value (or numerator or denominator).

Modules register listers by kind (and, for kinds with several calculations, by ``calc`` or
``measure``); :func:`lister_for` finds them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from funnelboard.metrics.engine import Engine
from funnelboard.metrics.query import MetricQuery
from funnelboard.metrics.registry import MetricDef

#: (engine, metric, query, first day of the cell, last day of the cell, side) -> records, notes
ListRecords = Callable[[Engine, MetricDef, MetricQuery, dt.date, dt.date, str],
                       tuple[ir.Table, list[str]]]
SIDES = ("numerator", "denominator")
#: the column of a record's part of a summed number
COUNTED = "counted"


@dataclass(frozen=True)
class RecordList:
    """How the records of a metric are listed: ``sides`` maps each side to a plain label of
    what it lists ("won deals", "closed deals")."""

    list_records: ListRecords
    sides: dict[str, str]


_LISTERS: dict[tuple[str, str | None], RecordList] = {}


def record_key(*parts: ir.Value) -> ir.StringValue:
    """A readable key for records without an id of their own (cost rows, web traffic rows),
    from the columns that tell them apart (``-`` for an empty one)."""
    texts = [p.cast("string").coalesce("-") for p in parts]
    return ibis.literal("|").join(texts)


def lists(kind: str, *variants: str | None,
          sides: dict[str, str] | None = None) -> Callable[[ListRecords], ListRecords]:
    """Register the decorated function as the lister of metrics of ``kind`` (and of the given
    ``calc``/``measure`` variants of that kind; none given: every variant)."""

    def register(fn: ListRecords) -> ListRecords:
        entry = RecordList(fn, dict(sides or {"numerator": "records counted"}))
        for variant in variants or (None,):
            key = (kind, variant)
            if key in _LISTERS:
                raise RuntimeError(f"two record listers for {key}")
            _LISTERS[key] = entry
        return fn

    return register


def variant(metric: MetricDef) -> str | None:
    """The calculation of a metric inside its kind (``calc`` or ``measure``), if any."""
    value = metric.params.get("calc", metric.params.get("measure"))
    return None if value is None else str(value)


def lister_for(metric: MetricDef) -> RecordList | None:
    """The lister of ``metric``, or None when its records cannot be listed."""
    _load()
    return _LISTERS.get((metric.kind, variant(metric))) or _LISTERS.get((metric.kind, None))


_LOADED = False


def _load() -> None:
    """Import the lister modules once (they register themselves)."""
    global _LOADED
    if _LOADED:
        return
    import importlib
    import pkgutil

    import funnelboard.metrics.drill as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "registry":
            importlib.import_module(f"{package.__name__}.{module.name}")
    _LOADED = True
