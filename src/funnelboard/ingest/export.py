"""Write a canonical table to CSV, XLSX or Parquet, so that importing the file back changes nothing.

An export is the user's way out of funnelboard (and a backup they can edit in a spreadsheet), so
two promises hold for every table and format:

* **Round trip.** Importing the file into the same workspace reports "no changes"; importing it
  into an empty one stores the same rows. Each value is written in a form the importer reads back
  exactly: timestamps as ISO 8601 UTC with ``Z``, money as plain decimals, doubles with every
  significant digit, optional key columns stored as '' as empty cells, ``extras`` as its JSON
  text, contact-owned stage entries as the contact's wide ``<stage>_at`` columns (and only the
  other ``stage_events`` rows in that table's export).
* **No formula injection (T16).** A spreadsheet must never run a name such as ``=HYPERLINK(..)``.
  In CSV and XLSX a text value that a spreadsheet would read as a formula gets a leading ``'``;
  the importer removes exactly that ``'`` again (``fb_unescape`` in :mod:`coerce`), which is why
  the pattern below mirrors it. Numbers are never escaped, so ``-5`` stays a number.

CSV and Parquet are written by DuckDB's ``COPY`` (streaming, formatting done in SQL); XLSX by
xlsxwriter in constant-memory mode from batches of rows, so no table is ever held in memory.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from funnelboard.errors import UsageError
from funnelboard.ingest.coerce import PLACEHOLDERS
from funnelboard.ingest.sqltext import ident, lit, lit_list
from funnelboard.schema import Table, get_table
from funnelboard.settings import Settings

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
#: Excel's last row is 1,048,576; one is the header.
XLSX_MAX_ROWS = 1_048_575
BATCH_ROWS = 10_000
#: What ``fb_unescape`` accepts after the apostrophe: a value matching this gets one in CSV and
#: XLSX. It covers = + - @, tab and CR at the start, also after leading whitespace.
FORMULA_START = r"^\s*[=+\-@\t\r]"
#: Largest integer a spreadsheet number (a double) holds exactly.
EXACT_INT = 2**53


@dataclass(frozen=True)
class _Col:
    name: str
    type: str  # a schema column type, or "extras"
    expr: str  # SQL over the row source (aliases t and s)


def export_table(con: duckdb.DuckDBPyConnection, settings: Settings, table: str, out: Path, *,
                 fmt: str | None = None) -> int:
    """Write ``table`` to ``out`` (format from ``fmt`` or the suffix); return the rows written.

    The file appears complete or not at all: it is written next to ``out`` and renamed.
    """
    spec = get_table(table)
    out = Path(out)
    kind = _format(out, fmt)
    if not out.parent.is_dir():
        raise UsageError(f"Cannot write {out}: the folder {out.parent} does not exist.")
    cols = _columns(con, settings, spec)
    source, order = _source(spec, settings), _order(spec)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        if kind == "xlsx":
            rows = _write_xlsx(con, spec, cols, source, order, tmp)
        else:
            render = _csv_value if kind == "csv" else _parquet_value
            select = ", ".join(f"{render(c)} AS {ident(c.name)}" for c in cols)
            options = "HEADER, DELIMITER ','" if kind == "csv" else "FORMAT parquet"
            row = con.execute(f"COPY (SELECT {select} FROM {source} ORDER BY {order}) "
                              f"TO {lit(str(tmp))} ({options})").fetchone()
            rows = int(row[0]) if row else 0
        tmp.replace(out)
    except (OSError, duckdb.IOException) as exc:
        raise UsageError(f"Cannot write {out}: {_reason(exc)}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return rows


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc).splitlines()[0]


def export_columns(con: duckdb.DuckDBPyConnection, settings: Settings, table: str) -> list[str]:
    """The header an export of ``table`` would have now (for callers that describe it)."""
    spec = get_table(table)
    return [c.name for c in _columns(con, settings, spec)]


def _format(out: Path, fmt: str | None) -> str:
    if fmt is not None:
        kind = fmt.strip().lower().lstrip(".")
        if kind not in FORMATS.values():
            raise UsageError(f"Unknown export format '{fmt}'; use csv, xlsx or parquet.")
        return kind
    kind_of = FORMATS.get(out.suffix.lower())
    if kind_of is None:
        raise UsageError(
            f"Cannot tell the export format of '{out.name}': name the file .csv, .xlsx or "
            ".parquet (or pass the format explicitly)."
        )
    return kind_of


# -- which rows and columns -------------------------------------------------------------------


def _source(spec: Table, settings: Settings) -> str:
    """The rows to export as ``t`` (and, for contacts, their owned stage entries as ``s``).

    Contact-owned ``stage_events`` rows travel as the contact's ``<stage>_at`` cells (importing
    the contact recreates them), so the ``stage_events`` export holds only the other rows.
    """
    if spec.name == "stage_events":
        return f"(SELECT * FROM {ident(spec.name)} WHERE NOT coalesce(_from_contact, false)) t"
    if spec.name == "contacts" and settings.stages:
        firsts = ", ".join(
            f"min(entered_at) FILTER (WHERE stage = {lit(s)}) AS {ident(s + '_at')}"
            for s in settings.stages)
        owned = (f"SELECT contact_id AS __contact, {firsts} FROM stage_events "
                 "WHERE _from_contact GROUP BY contact_id")
        return f"{ident(spec.name)} t LEFT JOIN ({owned}) s ON s.__contact = t.contact_id"
    return f"{ident(spec.name)} t"


def _order(spec: Table) -> str:
    return ", ".join(f"t.{ident(k)}" for k in spec.key)


def _columns(con: duckdb.DuckDBPyConnection, settings: Settings, spec: Table) -> list[_Col]:
    cols = [_Col(c.name, c.type, f"t.{ident(c.name)}") for c in spec.columns]
    if spec.name == "contacts":
        cols += [_Col(f"{s}_at", "ts", f"s.{ident(s + '_at')}") for s in settings.stages]
    row = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {_source(spec, settings)} "
                      "WHERE t.extras IS NOT NULL LIMIT 1)").fetchone()
    if row and row[0]:
        cols.append(_Col("extras", "extras", "CAST(t.extras AS VARCHAR)"))
    return cols


# -- values -----------------------------------------------------------------------------------


def _escaped(x: str, when: str) -> str:
    """``x`` with a leading ``'`` where ``when`` holds; '' (an optional key) as empty."""
    return f"(CASE WHEN {when} THEN '''' || {x} ELSE nullif({x}, '') END)"


def _formula_like(x: str) -> str:
    return f"regexp_matches({x}, {lit(FORMULA_START)})"


def _text_value(c: _Col) -> str | None:
    """Text of the types every format writes as text (None for the others)."""
    x = c.expr
    if c.type == "ts":
        # fractional seconds only when present: .500000 -> .5, .000000 -> nothing
        return (f"(rtrim(rtrim(strftime(timezone('UTC', {x}), '%Y-%m-%dT%H:%M:%S.%f'), '0'), "
                f"'.') || 'Z')")
    if c.type == "date":
        return f"strftime({x}, '%Y-%m-%d')"
    if c.type == "bool":
        return f"(CASE WHEN {x} THEN 'true' WHEN NOT {x} THEN 'false' END)"
    if c.type == "extras":
        return x
    if c.type in ("id", "text", "slug"):
        return _escaped(x, _formula_like(x))
    return None


def _csv_value(c: _Col) -> str:
    text = _text_value(c)
    if text is not None:
        return text
    x = c.expr
    s = f"CAST({x} AS VARCHAR)"
    if c.type == "money":  # DECIMAL(20,4) prints 1234.5000; the contract writes 1234.5
        return f"(CASE WHEN contains({s}, '.') THEN rtrim(rtrim({s}, '0'), '.') ELSE {s} END)"
    if c.type in ("num", "ratio"):  # DuckDB prints doubles with all digits; 12.0 -> 12
        return f"regexp_replace({s}, '\\.0$', '')"
    return s


def _parquet_value(c: _Col) -> str:
    """Typed columns; text is escaped only where the importer would otherwise change it.

    Parquet is for programs, not spreadsheets, so ``=x`` stays as it is. Only a value that the
    importer's trimming or placeholder rule would alter (leading spaces before a formula sign,
    a literal ``--``) gets the ``'`` that makes it come back exactly.
    """
    x = c.expr
    if c.type in ("id", "text", "slug"):
        fragile = (f"{_formula_like(x)} AND (regexp_matches({x}, '^\\s') OR "
                   f"list_contains({lit_list(PLACEHOLDERS)}, {x}))")
        return _escaped(x, fragile)
    return x


def _xlsx_value(c: _Col) -> str:
    text = _text_value(c)
    return text if text is not None else c.expr


# -- XLSX -------------------------------------------------------------------------------------


def _write_xlsx(con: duckdb.DuckDBPyConnection, spec: Table, cols: list[_Col], source: str,
                order: str, path: Path) -> int:
    """Stream the rows into a workbook: text as strings (never formulas), numbers as numbers.

    Dates and timestamps are written as ISO text, so the import reads them back exactly rather
    than as Excel serial numbers in some zone.
    """
    import xlsxwriter

    count = con.execute(f"SELECT count(*) FROM {source}").fetchone()
    if count and count[0] > XLSX_MAX_ROWS:
        raise UsageError(f"{spec.name} has {count[0]:,} rows, more than an Excel sheet holds "
                         f"({XLSX_MAX_ROWS:,}). Export it as .csv or .parquet instead.")
    workbook = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
        "strings_to_urls": False,
    })
    try:
        sheet = workbook.add_worksheet(spec.name[:31])
        bold = workbook.add_format({"bold": True})
        for j, c in enumerate(cols):
            sheet.write_string(0, j, c.name, bold)
        sheet.freeze_panes(1, 0)
        select = ", ".join(f"{_xlsx_value(c)} AS {ident(c.name)}" for c in cols)
        cursor = con.execute(f"SELECT {select} FROM {source} ORDER BY {order}")
        rows = 0
        while batch := cursor.fetchmany(BATCH_ROWS):
            for values in batch:
                rows += 1
                for j, value in enumerate(values):
                    if value is not None:
                        _write_cell(sheet, rows, j, value, cols[j].name)
    finally:
        workbook.close()
    return rows


def _write_cell(sheet: Any, row: int, col: int, value: object, name: str) -> None:
    number = _as_number(value)
    if number is not None:
        sheet.write_number(row, col, number)
        return
    text = _plain(value)
    if sheet.write_string(row, col, text) == -2:
        raise UsageError(f"Row {row} of the export has a '{name}' value longer than the 32,767 "
                         "characters an Excel cell holds. Export it as .csv or .parquet "
                         "instead.")


def _as_number(value: object) -> float | int | None:
    """The value as a spreadsheet number when that number reads back exactly, else None.

    xlsxwriter writes 16 significant digits, so a double needing 17 (0.1 + 0.2), an integer
    above 2**53 or a decimal with more digits than a double holds is written as text instead.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    if isinstance(value, int):
        return value if abs(value) < EXACT_INT else None
    number = float(value)
    if float(f"{number:.16G}") != number:
        return None
    if isinstance(value, Decimal) and Decimal(repr(number)) != value:
        return None
    return number


def _plain(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return repr(value)
    return str(value)
