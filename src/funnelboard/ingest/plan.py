"""Decide, from a file's header and the mapping, where each source column goes.

The plan names, for every canonical column, the raw SQL expression that feeds it (a source
column, a constant, or nothing), and lists the source columns kept in ``extras``, ignored by
the mapping, or renamed because their header appeared twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from funnelboard.errors import SourceError
from funnelboard.ingest.dialect import normalise_header
from funnelboard.ingest.mapping import Mapping
from funnelboard.ingest.sqltext import lit
from funnelboard.issues import Issue
from funnelboard.schema import Column, Table


@dataclass
class ColumnPlan:
    """Where the data of one target column comes from."""

    column: Column
    source: str | None  # raw SQL expression (a ``c<i>`` column or a literal), None = absent
    header: str | None  # the source header, for messages


@dataclass
class Plan:
    table: Table
    headers: list[str]  # source headers, deduplicated, in file order (c0, c1, ...)
    columns: list[ColumnPlan]
    extras: list[tuple[str, str]] = field(default_factory=list)  # (header, c<i>)
    has_extras_column: str | None = None  # c<i> of a JSON ``extras`` column (our exports)
    notes: list[Issue] = field(default_factory=list)

    def target(self, name: str) -> ColumnPlan:
        for cp in self.columns:
            if cp.column.name == name:
                return cp
        raise KeyError(name)

    @property
    def present(self) -> list[ColumnPlan]:
        return [cp for cp in self.columns if cp.source is not None]


def _dedupe(headers: list[str], file: str, notes: list[Issue]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(headers):
        name = h.strip() or f"column_{i + 1}"
        key = normalise_header(name)
        if key in seen:
            seen[key] += 1
            new = f"{name}_{seen[key]}"
            notes.append(Issue("warning", "duplicate_header",
                               f"The header '{name}' appears more than once; the copy in "
                               f"column {i + 1} is kept as '{new}'.", file=file, row=None,
                               column=name))
            name = new
        else:
            seen[key] = 1
        out.append(name)
    return out


def make_plan(table: Table, headers: list[str], mapping: Mapping, *, stage_columns: list[Column],
              file: str) -> Plan:
    """Match headers to canonical columns (case- and space-insensitive), through the mapping."""
    notes: list[Issue] = []
    headers = _dedupe(headers, file, notes)
    targets = [*table.columns, *stage_columns]
    by_name = {c.name: c for c in targets}
    sources: dict[str, tuple[str, str]] = {}  # target -> (c<i>, header)
    extras: list[tuple[str, str]] = []
    extras_json: str | None = None
    for i, header in enumerate(headers):
        ref = f"c{i}"
        key = normalise_header(header)
        if key in mapping.rename:
            wanted = mapping.rename[key]
        elif key in by_name:
            wanted = [key]
        elif key == "extras":
            extras_json = ref
            continue
        else:
            extras.append((header, ref))
            continue
        if wanted == [""]:
            notes.append(Issue("info", "column_ignored",
                               f"The column '{header}' is ignored, as the mapping says.",
                               file=file, column=header))
            continue
        for target in wanted:
            if target in sources:
                raise SourceError(
                    f"{file}: the columns '{sources[target][1]}' and '{header}' both map to "
                    f"'{target}'. Keep one, or map the other elsewhere with --map."
                )
            sources[target] = (ref, header)
    plans = []
    for col in targets:
        if col.name in sources:
            ref, header = sources[col.name]
            plans.append(ColumnPlan(col, ref, header))
        elif col.name in mapping.constants:
            plans.append(ColumnPlan(col, lit(mapping.constants[col.name]), "(constant)"))
        else:
            plans.append(ColumnPlan(col, None, None))
    plan = Plan(table, headers, plans, extras, extras_json, notes)
    if extras:
        names = ", ".join(f"'{h}'" for h, _ in extras[:8])
        more = f" and {len(extras) - 8} more" if len(extras) > 8 else ""
        notes.append(Issue(
            "info", "extra_columns",
            f"{len(extras)} column(s) are not part of {table.name} and are kept in 'extras': "
            f"{names}{more}. Map them with --map 'Header=column' if they belong to a column.",
            file=file, count=len(extras)))
    return plan


def check_required(plan: Plan, file: str) -> None:
    """A missing required column rejects the file before anything is written."""
    missing = [cp.column.name for cp in plan.columns
               if cp.column.required and cp.source is None and cp.column.name in
               plan.table.column_names]
    if plan.table.name == "ad_account_engagement" and not any(
        plan.target(n).source for n in ("account_id", "company_domain", "company_name")
    ):
        missing.append("account_id (or company_domain / company_name)")
    if missing:
        found = ", ".join(f"'{h}'" for h in plan.headers[:12]) or "none"
        raise SourceError(
            f"{file} has no column for the required {plan.table.name} column(s) "
            f"{', '.join(missing)}. Its headers are: {found}. Rename the header(s), or map "
            "them with --map 'Your header=column' or a --mapping file."
        )
