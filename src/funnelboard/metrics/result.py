"""What every metric returns: tidy rows plus the metadata that explains them.

Rows follow metrics.md ("Result rows"): ``period`` and ``period_end`` (local dates), one key
per breakdown dimension, ``value``, ``numerator``, ``denominator``, ``n``, ``partial`` and
``extra``; comparison fields are added when asked for. ``value`` is ``None`` only when the
metric is undefined (an empty denominator), never NaN.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from funnelboard.metrics.query import MetricQuery

if TYPE_CHECKING:
    import pandas as pd

#: Row keys in their documented order (dimensions go after ``period_end``).
BASE_FIELDS = ("period", "period_end", "value", "numerator", "denominator", "n", "partial")
COMPARE_FIELDS = ("previous_value", "delta", "delta_pct", "previous_numerator",
                  "previous_denominator")
#: added by ``with_target`` (metrics.md §7)
TARGET_FIELDS = ("target", "attainment", "pacing", "projection", "status")


@dataclass
class MetricResult:
    metric: str
    label: str
    unit: str
    direction: str
    definition: str
    query: MetricQuery
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    aggregation: str = ""
    settings_version: str = ""
    #: breakdown dimensions present in the rows, in order (``stage`` for funnels)
    dims: tuple[str, ...] = ()

    def columns(self) -> list[str]:
        cols = ["period", "period_end", *self.dims, "value", "numerator", "denominator", "n",
                "partial"]
        if self.query.compare:
            cols.extend(COMPARE_FIELDS)
        if self.query.with_target:
            cols.extend(TARGET_FIELDS)
        return cols

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO 8601 text, numbers as numbers, null where undefined."""
        return {
            "metric": self.metric, "label": self.label, "unit": self.unit,
            "direction": self.direction, "aggregation": self.aggregation,
            "definition": self.definition,
            "query": {**self.query.to_dict(), "settings_version": self.settings_version},
            "notes": list(self.notes),
            "rows": [{k: _json_value(v) for k, v in row.items()} for row in self.rows],
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def to_arrow(self) -> pa.Table:
        """One column per row field; ``extra`` as JSON text."""
        cols = self.columns()
        data: dict[str, list[Any]] = {c: [r.get(c) for r in self.rows] for c in cols}
        data["extra"] = [json.dumps(_json_value(r.get("extra") or {})) for r in self.rows]
        return pa.table(data) if self.rows else pa.table(
            {c: pa.array([], pa.null()) for c in [*cols, "extra"]})

    def to_pandas(self) -> pd.DataFrame:
        return self.to_arrow().to_pandas()

    def __len__(self) -> int:
        return len(self.rows)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if hasattr(value, "as_integer_ratio") and not isinstance(value, int | float):
        return float(value)  # Decimal
    return value
