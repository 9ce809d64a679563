"""Tables as CSV or XLSX downloads, with spreadsheet formulas neutralised (T16): text that
starts with = + - @ (or a tab or carriage return) gets a leading apostrophe; numbers stay
numbers, so a real negative amount is still a number in Excel."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import xlsxwriter

from funnelboard.dashboard.model import Table
from funnelboard.services import safe_cell

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return str(value)
    return safe_cell(value)


def rows_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_cell(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def rows_xlsx(header: list[str], rows: list[list[Any]], sheet: str = "data") -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    for c, name in enumerate(header):
        ws.write_string(0, c, str(_cell(name)), bold)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, bool):
                ws.write_boolean(r, c, value)
            elif isinstance(value, int | float):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, str(_cell(value)))
    book.close()
    return buffer.getvalue()


def table_rows(table: Table) -> tuple[list[str], list[list[Any]]]:
    header = [c.label for c in table.columns]
    rows = [[row.get(c.key) for c in table.columns] for row in table.rows]
    return header, rows
