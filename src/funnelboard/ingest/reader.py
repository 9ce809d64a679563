"""Turn an input file (CSV, XLSX, Parquet) into something DuckDB can scan as text columns.

The result, :class:`SourceFile`, names a UTF-8 CSV (the original file when it already is one)
or a Parquet file, with the header, where data starts, and how to number rows. Every value is
read as text; typing happens later in SQL so that each bad value can be reported.
"""

from __future__ import annotations

import csv
import datetime as dt
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from funnelboard.errors import SourceError
from funnelboard.ingest import dialect as dialect_mod
from funnelboard.ingest import encoding as enc_mod
from funnelboard.issues import Issue

Progress = Callable[[int, int], None]
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
XLSX_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
PARQUET_SUFFIXES = {".parquet", ".pq"}


@dataclass
class SourceFile:
    """A file ready to be scanned by DuckDB, with what we learnt while reading it."""

    original: Path
    format: str  # csv | xlsx | parquet
    scan_path: Path
    header: list[str]
    delimiter: str = ","
    header_line: int = 1
    #: CSV records up to and including the header, blank lines counted (DuckDB's ``skip``);
    #: differs from ``header_line`` when a line above the header holds a quoted line break
    header_record: int = 1
    #: the scan file carries its own source row numbers in a leading ``__line`` column
    line_column: bool = False
    encoding: str = "UTF-8"
    newlines: int = 0
    ends_with_newline: bool = True
    notes: list[Issue] = field(default_factory=list)

    def describe(self) -> str:
        if self.format == "csv":
            name = dialect_mod.DELIMITER_NAMES.get(self.delimiter, self.delimiter)
            return f"CSV, {self.encoding}, {name}-separated, header on line {self.header_line}"
        if self.format == "xlsx":
            return f"Excel workbook, header on row {self.header_line}"
        return "Parquet"


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in XLSX_SUFFIXES:
        return "xlsx"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise SourceError(
        f"{path.name}: funnelboard reads .csv, .tsv, .txt, .xlsx and .parquet files; "
        f"'{suffix or 'no extension'}' is not one of them. Save the file as CSV or XLSX."
    )


def open_source(
    path: Path,
    workdir: Path,
    *,
    known_columns: set[str],
    delimiter: str | None = None,
    encoding: str | None = None,
    header_line: int | None = None,
    sheet: str | None = None,
    max_bytes: int,
    max_xlsx_bytes: int,
    progress: Progress | None = None,
) -> SourceFile:
    """Read enough of ``path`` to scan it; transcode or convert into ``workdir`` if needed."""
    if not path.is_file():
        raise SourceError(f"{path}: no such file.")
    size = path.stat().st_size
    fmt = file_format(path)
    limit = max_xlsx_bytes if fmt == "xlsx" else max_bytes
    if size > limit:
        raise SourceError(
            f"{path.name} is {size / 1e6:,.1f} MB, above the limit of {limit / 1e6:,.0f} MB "
            "for this kind of file. Split it, or raise [import] max_file_mb / max_xlsx_mb in "
            "funnelboard.toml."
        )
    if fmt == "parquet":
        return SourceFile(path, "parquet", path, header=[])
    if fmt == "xlsx":
        return _open_xlsx(path, workdir, known_columns, header_line, sheet, max_xlsx_bytes)
    return _open_csv(path, workdir, known_columns, delimiter, encoding, header_line, progress)


def _open_csv(
    path: Path,
    workdir: Path,
    known: set[str],
    delimiter: str | None,
    encoding: str | None,
    header_line: int | None,
    progress: Progress | None,
) -> SourceFile:
    info = enc_mod.detect(path, forced=encoding, progress=progress)
    head = enc_mod.read_head_text(path, info.encoding)
    d = dialect_mod.detect(
        head, name=path.name, delimiter=delimiter, known_columns=known,
        header_line=header_line, truncated=info.size > 256 * 1024,
    )
    scan = path
    if info.needs_transcode:
        scan = workdir / "transcoded.csv"
        enc_mod.transcode(path, info.encoding, scan, progress)
    src = SourceFile(
        path, "csv", scan, list(d.header), delimiter=d.delimiter, header_line=d.header_line,
        header_record=dialect_mod.record_ordinal(head, d.delimiter, d.header_line),
        encoding=info.label, newlines=info.newlines, ends_with_newline=info.ends_with_newline,
    )
    if info.encoding == "cp1252":
        src.notes.append(Issue("info", "encoding_fallback",
                               "The file is not UTF-8; it was read as Windows-1252 (Excel's "
                               "'CSV (Comma delimited)'). Check accented characters.",
                               file=path.name))
    if d.preamble:
        src.notes.append(Issue(
            "info", "preamble_skipped",
            f"{len(d.preamble)} line(s) above the header were skipped: "
            + "; ".join(p[:60] for p in d.preamble[:3]),
            file=path.name, row=1, count=len(d.preamble)))
    return src


def record_lines(src: SourceFile) -> Iterator[tuple[int, bool]]:
    """Physical start line of every record of the file, and whether it is blank.

    Only used when lines and records differ (quoted line breaks, blank lines, rejected lines).
    Records are counted from the top of the file, preamble included, and a blank line counts as
    one record: that is how DuckDB numbers the lines it rejects and the lines it skips.
    """
    with open(src.scan_path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=src.delimiter, quotechar='"', strict=False)
        line = 0
        for row in reader:
            start = line + 1
            line = reader.line_num
            yield start, not row


def _cell_text(value: Any, zone: dt.tzinfo | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value.total_seconds())
    return str(value)


def _check_zip(path: Path, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            expanded = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile:
        raise SourceError(f"{path.name} is not a valid .xlsx workbook (it is not a zip "
                          "archive). Open it in Excel and save it as .xlsx or CSV.") from None
    if expanded > 20 * max_bytes:
        raise SourceError(f"{path.name} expands to {expanded / 1e6:,.0f} MB when unpacked, "
                          "which is too large to read safely. Export it as CSV instead.")


def _open_xlsx(
    path: Path, workdir: Path, known: set[str], header_line: int | None, sheet: str | None,
    max_bytes: int,
) -> SourceFile:
    from python_calamine import CalamineWorkbook

    if path.suffix.lower() != ".xls":
        _check_zip(path, max_bytes)
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several private error types
        raise SourceError(f"{path.name} could not be opened as a workbook ({exc}).") from None
    names = list(wb.sheet_names)
    if sheet is not None and sheet not in names:
        raise SourceError(f"{path.name} has no sheet '{sheet}'; its sheets are "
                          f"{', '.join(names)}.")
    best: tuple[int, str, list[tuple[int, list[str]]]] | None = None
    for name in [sheet] if sheet else names:
        ws = wb.get_sheet_by_name(name)
        head: list[tuple[int, list[str]]] = []
        for i, row in enumerate(ws.iter_rows(), start=1):
            cells = [_cell_text(v) for v in row]
            if any(c.strip() for c in cells):
                head.append((i, cells))
            if len(head) >= 60:
                break
        hits = max((sum(dialect_mod.normalise_header(c) in known for c in r) for _, r in head),
                   default=0)
        if best is None or hits > best[0]:
            best = (hits, name, head)
    if best is None or not best[2]:
        raise SourceError(f"{path.name} has no rows in any sheet.")
    _, chosen, head = best
    width = max(len([c for c in r if c.strip()]) for _, r in head)
    rec = dialect_mod.pick_header(head, width, known, header_line)
    if rec is None:
        raise SourceError(f"{path.name}: could not find the header row.")
    hline, header = rec
    while header and not header[-1].strip():
        header.pop()
    out = workdir / "sheet.csv"
    ws = wb.get_sheet_by_name(chosen)
    with open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        for i, row in enumerate(ws.iter_rows(), start=1):
            if i <= hline:
                continue
            cells = [_cell_text(v) for v in row]
            while cells and not cells[-1].strip():
                cells.pop()
            if not cells:
                continue
            writer.writerow([i, *cells])
    src = SourceFile(path, "xlsx", out, [h.strip() for h in header], header_line=hline,
                     line_column=True, encoding="xlsx")
    if len(names) > 1:
        src.notes.append(Issue("info", "sheet_chosen",
                               f"Read sheet '{chosen}' of {len(names)} ({', '.join(names)}).",
                               file=path.name))
    if hline > 1:
        src.notes.append(Issue("info", "preamble_skipped",
                               f"{hline - 1} row(s) above the header were skipped.",
                               file=path.name, row=1, count=hline - 1))
    return src
