"""The drill-down lists exactly the records a number counts: for every cell of the demo's
results, the number of records equals the cell's count (or its numerator and denominator)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from funnelboard.errors import UsageError
from funnelboard.metrics.query import make_query
from funnelboard.metrics.records import FORMULA_PARTS, cell_of, drillable, fetch, sides_of
from funnelboard.metrics.registry import all_metrics, resolve
from funnelboard.settings import Settings
from funnelboard.workspace import Workspace
from records_support import RANGE
from records_support import cells as _cells


def _total(ws: Workspace, q: Any, row: dict[str, Any], side: str = "numerator") -> int:
    first, last = cell_of(row["period"], q)
    return fetch(ws.engine(), q, first, last, side=side, limit=1).total


@pytest.mark.parametrize(("key", "options", "field"), [
    ("mqls", {"grain": "quarter", "by": ["channel"]}, "value"),
    ("contacts_created", {"grain": "month"}, "value"),
    ("customers", {"grain": "quarter", "rule": "strict"}, "value"),
    ("sqls", {"grain": "quarter", "basis": "period"}, "value"),
    ("sessions", {"grain": "quarter"}, "n"),
    ("opportunities_created", {"grain": "quarter", "by": ["segment"]}, "value"),
    ("marketing_sourced_opportunities", {"grain": "quarter"}, "value"),
    ("bookings", {"grain": "quarter"}, "n"),
])
def test_record_count_equals_the_number(demo_ws: Workspace, key: str, options: dict[str, Any],
                                        field: str) -> None:
    checked = 0
    for row, q in _cells(demo_ws, key, **options):
        assert _total(demo_ws, q, row) == row[field], (key, row)
        checked += 1
    assert checked >= 4


@pytest.mark.parametrize("key", ["lead_to_mql_rate", "win_rate", "icp_share_mqls"])
def test_rate_sides_list_numerator_and_denominator(demo_ws: Workspace, key: str) -> None:
    nonzero = 0
    for row, q in _cells(demo_ws, key, grain="quarter"):
        assert _total(demo_ws, q, row, "numerator") == (row["numerator"] or 0)
        assert _total(demo_ws, q, row, "denominator") == (row["denominator"] or 0)
        nonzero += bool(row["denominator"])
    assert nonzero >= 2


def test_paging_and_sorting(demo_ws: Workspace) -> None:
    q = make_query("contacts_created", timezone="UTC", **RANGE)
    first = fetch(demo_ws.engine(), q, dt.date(2026, 3, 1), dt.date(2026, 3, 31),
                  sort="created", descending=True, limit=10)
    second = fetch(demo_ws.engine(), q, dt.date(2026, 3, 1), dt.date(2026, 3, 31),
                   sort="created", descending=True, offset=10, limit=10)
    times = [r["created"] for r in first.rows + second.rows]
    assert times == sorted(times, reverse=True) and len({r["contact_id"] for r in
                                                           first.rows + second.rows}) == 20
    with pytest.raises(UsageError, match="cannot be sorted by"):
        fetch(demo_ws.engine(), q, dt.date(2026, 3, 1), dt.date(2026, 3, 31), sort="nope")


def test_metrics_without_a_record_list_say_so(demo_ws: Workspace) -> None:
    q = make_query("ltv_to_cac", timezone="UTC", **RANGE)
    with pytest.raises(UsageError, match=r"does not list the records.*\(ltv, cac\)"):
        fetch(demo_ws.engine(), q, dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def test_every_metric_drills_into_records_or_names_its_parts() -> None:
    """A new metric needs a record lister, or an entry in FORMULA_PARTS whose parts drill."""
    settings = Settings()
    undrillable = {m.key for m in all_metrics(settings) if not drillable(m)}
    assert undrillable == set(FORMULA_PARTS)
    for parts in FORMULA_PARTS.values():
        for part in parts:
            assert drillable(resolve(part, settings)) or part in FORMULA_PARTS, part
    for m in all_metrics(settings):
        if m.key in FORMULA_PARTS:
            continue
        sides = sides_of(m)
        assert set(sides) in ({"numerator"}, {"numerator", "denominator"}), m.key
        assert all(label.strip() for label in sides.values()), m.key
