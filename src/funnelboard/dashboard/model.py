"""What a dashboard page is made of, independent of HTML.

A :class:`Page` holds :class:`Section` cards. Every number in a section carries the metric key
and query parameters it came from, so the web layer can link it to its definition, its
drill-down and ``/api/v1/metrics/{key}`` with the same parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Column:
    """A table column: ``unit`` drives formatting (count, currency, ratio, days, text …)."""

    key: str
    label: str
    unit: str = "text"
    #: metric key whose definition the header shows on hover
    metric: str | None = None


@dataclass
class Table:
    columns: list[Column]
    rows: list[dict[str, Any]]
    #: per row and column: query parameters of the drill-down behind the cell, when there is one
    drill: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)

    def column_keys(self) -> list[str]:
        return [c.key for c in self.columns]


@dataclass
class Tile:
    """One headline number: a metric over the filtered range, with its comparison."""

    metric: str
    label: str
    unit: str
    value: Any
    definition: str
    direction: str = "up"
    leading: bool | None = None
    previous: Any = None
    delta: Any = None
    delta_pct: Any = None
    n: Any = None
    numerator: Any = None
    denominator: Any = None
    #: the query parameters that reproduce the value with /api/v1/metrics/{metric}
    params: dict[str, Any] = field(default_factory=dict)
    target: Any = None
    attainment: Any = None
    status: str | None = None
    #: drill-down parameters (None when the metric has no record list)
    drill: dict[str, Any] | None = None


@dataclass
class Section:
    """A card on a page. ``kind``: tiles, chart, table, text."""

    id: str
    title: str
    kind: str
    note: str = ""
    tiles: list[Tile] = field(default_factory=list)
    #: a Vega-Lite spec (kind chart); the table holds the same numbers for export
    chart: dict[str, Any] | None = None
    table: Table | None = None
    #: the metric keys shown, for the definitions panel
    metrics: list[str] = field(default_factory=list)
    #: half-width card in the grid
    wide: bool = True


@dataclass
class Page:
    key: str
    title: str
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)
