"""Import templates: an empty file with exactly the headers an import of a table expects.

A template is the cheapest way to get a file into canonical format: the user pastes data under
the headers and imports it without a mapping. The CSV template is one header line; the XLSX one
also explains every column where the user looks at it (a comment on the header cell: meaning,
type, whether it is required, allowed values), bolds the required columns, keeps the header in
view while scrolling, and describes the table on an "About" sheet. Everything comes from the
schema declaration, so templates never drift from what the importer accepts.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from funnelboard.errors import UsageError
from funnelboard.schema import TYPE_HELP, Column, Table, get_table
from funnelboard.settings import Settings


def template_columns(table: str, settings: Settings) -> list[Column]:
    """The columns of a template: the canonical ones, then (contacts) the ``<stage>_at`` ones."""
    spec = get_table(table)
    cols = list(spec.columns)
    if spec.name == "contacts":
        cols += [Column(f"{s}_at", "ts", f"when the contact first entered the {s} funnel stage "
                        "(stored as a stage_events row owned by this contact)")
                 for s in settings.stages]
    return cols


def header_line(table: str, settings: Settings) -> str:
    """The CSV header line (no line break), as the CLI prints it."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([c.name for c in template_columns(table, settings)])
    return buf.getvalue()


def write_template(table: str, out: Path | None, settings: Settings) -> Path | str:
    """Write the template to ``out`` (.csv or .xlsx) and return its path.

    ``out=None`` writes nothing and returns the CSV header line.
    """
    spec = get_table(table)
    if out is None:
        return header_line(spec.name, settings)
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise UsageError(f"A template is written as .csv or .xlsx; '{out.name}' is neither. "
                         "Name the file accordingly.")
    if not out.parent.is_dir():
        raise UsageError(f"Cannot write {out}: the folder {out.parent} does not exist.")
    if suffix == ".csv":
        out.write_text(header_line(spec.name, settings) + "\n", encoding="utf-8")
    else:
        _write_xlsx(spec, template_columns(spec.name, settings), out)
    return out


def column_comment(table: Table, column: Column) -> str:
    """The help text of one header cell: meaning, type, required or not, allowed values."""
    lines = [f"{column.name}: {column.description}",
             f"Type {column.type}: {TYPE_HELP[column.type]}."]
    if column.required:
        lines.append("Required: every row needs a value.")
    elif column.name in table.key:
        lines.append("Optional (part of the key; empty is a value of its own).")
    else:
        lines.append("Optional.")
    if column.choices:
        lines.append("Allowed values: " + ", ".join(column.choices) + ".")
    if column.min is not None or column.max is not None:
        low = "" if column.min is None else f"at least {column.min:g}"
        high = "" if column.max is None else f"at most {column.max:g}"
        lines.append("Must be " + " and ".join(p for p in (low, high) if p) + ".")
    return "\n".join(lines)


def about_lines(table: Table) -> list[str]:
    """The "About" sheet: what the table is and how an import treats it."""
    key = ", ".join(table.key)
    lines = [f"Table: {table.name}", table.description, "", f"Key: {key}"]
    if table.kind == "entity":
        lines.append("Re-importing a row with the same key replaces it (the latest import wins).")
    else:
        scope = f" and the same {', '.join(table.scope)}" if table.scope else ""
        lines.append(
            f"Additive: rows with the same key are summed. An import replaces the stored rows "
            f"dated within the file's first-last {table.date_column}{scope}.")
    lines.append(
        "Required columns are in bold; hover over a header for its meaning and type. Columns "
        "that are not part of the table are kept in 'extras' and reported.")
    lines.extend(note.replace("`", "") for note in table.notes)
    return lines


def _write_xlsx(table: Table, cols: list[Column], out: Path) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(out), {"strings_to_numbers": False,
                                              "strings_to_formulas": False,
                                              "strings_to_urls": False})
    try:
        sheet = workbook.add_worksheet(table.name[:31])
        bold = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        plain = workbook.add_format({"bg_color": "#F2F2F2", "border": 1})
        for j, col in enumerate(cols):
            sheet.write_string(0, j, col.name, bold if col.required else plain)
            sheet.write_comment(0, j, column_comment(table, col),
                                {"x_scale": 2.2, "y_scale": 1.6})
            sheet.set_column(j, j, max(12, len(col.name) + 2))
        sheet.freeze_panes(1, 0)
        about = workbook.add_worksheet("About")
        title = workbook.add_format({"bold": True, "font_size": 13})
        wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        about.set_column(0, 0, 100)
        for i, line in enumerate(about_lines(table)):
            about.write_string(i, 0, line, title if i == 0 else wrap)
    finally:
        workbook.close()
