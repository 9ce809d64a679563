"""Load a source file into a temporary all-text table ``_raw`` with source row numbers.

``_raw`` has ``__rec`` (record order), ``__line`` (the 1-based physical line of the original
file, header included; the sheet row for workbooks) and one text column ``c<i>`` per source
column. Lines DuckDB could not split into the header's fields are returned as quarantine rows;
a quote that never closes rejects the whole file.

``_raw`` is a view over ``_raw_text`` (the cells as read) that numbers records by ``rowid``:
DuckDB keeps a file's insertion order, and ``row_number() OVER ()`` would run on one thread and
cost as much again as reading the file. Summary rows are hidden through ``_dropped``; when lines
and records differ, ``_line_numbers`` gives each record its physical line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from funnelboard.errors import SourceError
from funnelboard.ingest.reader import SourceFile, record_lines
from funnelboard.ingest.sqltext import ident, lit
from funnelboard.issues import Issue


@dataclass
class Staged:
    rows: int
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # line, code, text
    notes: list[Issue] = field(default_factory=list)
    #: physical start line of every CSV record of the file (blank lines included, as DuckDB
    #: counts them), when lines and records differ
    line_map: list[int] | None = None


def _csv_scan(src: SourceFile, ncols: int, *, parallel: bool) -> str:
    cols = {f"c{i}": "VARCHAR" for i in range(ncols)}
    if src.line_column:
        cols = {"__line": "BIGINT", **cols}
    spec = "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in cols.items()) + "}"
    skip = 0 if src.line_column else src.header_record
    return (
        f"read_csv({lit(str(src.scan_path))}, columns={spec}, header=false, skip={skip}, "
        f"delim={lit(src.delimiter)}, quote='\"', escape='\"', auto_detect=false, "
        f"null_padding=true, parallel={'true' if parallel else 'false'}, "
        "store_rejects=true, rejects_table='_rej', rejects_scan='_rejscan', "
        "max_line_size=4000000)"
    )


def load_raw(con: duckdb.DuckDBPyConnection, src: SourceFile) -> Staged:
    """Create ``_raw`` from ``src``; see the module docstring."""
    drop_staging(con)
    con.execute("CREATE TEMP TABLE _dropped (__rec BIGINT)")
    if src.format == "parquet":
        return _load_parquet(con, src)
    ncols = len(src.header)
    for parallel in (True, False):
        try:
            con.execute("CREATE TEMP TABLE _raw_text AS SELECT * FROM "
                        + _csv_scan(src, ncols, parallel=parallel))
            _define_raw(con, ncols, line_column=src.line_column,
                        header_line=int(src.header_line))
            break
        except duckdb.Error as exc:
            if parallel:
                # DuckDB's parallel scanner refuses padded short rows after quoted line breaks
                # and can fail on rejected lines next to them; one thread reads both.
                continue
            raise SourceError(f"{src.original.name} could not be read as CSV: "
                              f"{str(exc).splitlines()[0]}") from None
    try:
        rejects = con.execute(
            "SELECT line, error_type::VARCHAR, csv_line FROM _rej ORDER BY line").fetchall()
    except duckdb.CatalogException:
        rejects = []
    rows = int(con.execute("SELECT count(*) FROM _raw").fetchone()[0])  # type: ignore[index]
    staged = Staged(rows)
    for record, kind, _ in rejects:
        if kind.upper() in ("UNQUOTED VALUE", "INVALID STATE", "LINE SIZE OVER MAXIMUM"):
            at = int(record)
            if not src.line_column:  # DuckDB gives a record number: find its physical line
                starts = [start for start, _ in record_lines(src)]
                at = starts[at - 1] if 0 < at <= len(starts) else at
            raise SourceError(
                f"{src.original.name}, record starting near line {at}: "
                + ("a quoted value is never closed, so the rest of the file cannot be split "
                   "into rows. Fix the quote (or remove it) and import again."
                   if kind.upper() != "LINE SIZE OVER MAXIMUM"
                   else "a line is longer than 4 MB. Check that the file is a CSV export.")
            )
    if not src.line_column:
        _number_lines(con, src, staged, [int(r[0]) for r in rejects])
    staged.rejected = [
        (line, kind, text) for line, kind, text in _reject_lines(src, rejects, staged)
    ]
    return staged


def _number_lines(con: duckdb.DuckDBPyConnection, src: SourceFile, staged: Staged,
                  reject_records: list[int]) -> None:
    lines_total = src.newlines + (0 if src.ends_with_newline else 1)
    records = staged.rows + len(reject_records)
    if not reject_records and lines_total - src.header_line == records:
        return  # the default numbering (header line + record) is right
    # Quoted line breaks, blank lines or rejected lines: number records by parsing the file.
    # DuckDB numbers records from the top of the file and counts a blank line as one record.
    starts = list(record_lines(src))
    staged.line_map = [start for start, _ in starts]
    rejected = set(reject_records)
    kept = [start for i, (start, blank) in enumerate(starts, start=1)
            if i > src.header_record and not blank and i not in rejected]
    if len(kept) != staged.rows:
        raise SourceError(
            f"{src.original.name}: the file's rows could not be numbered reliably "
            f"({staged.rows} rows read, {len(kept)} records found). Check for stray quotes."
        )
    numbers = pa.table({"__rec": pa.array(range(1, len(kept) + 1), pa.int64()),
                        "__line": pa.array(kept, pa.int64())})
    con.register("_line_numbers_in", numbers)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _line_numbers AS "
                    "SELECT * FROM _line_numbers_in")
    finally:
        con.unregister("_line_numbers_in")
    _define_raw(con, len(src.header), line_column=False, header_line=0, numbered=True)


def _define_raw(con: duckdb.DuckDBPyConnection, ncols: int, *, line_column: bool,
                header_line: int, numbered: bool = False) -> None:
    """(Re)define the ``_raw`` view; see the module docstring."""
    cells = ", ".join(f"c{i}" for i in range(ncols)) or "NULL AS c0"
    source = "(SELECT rowid + 1 AS __rec, * FROM _raw_text)"
    if numbered:
        con.execute(
            "CREATE OR REPLACE TEMP VIEW _raw AS SELECT t.__rec, n.__line, "
            + ", ".join(f"t.c{i}" for i in range(ncols))
            + f" FROM {source} t JOIN _line_numbers n USING (__rec) "
            "WHERE t.__rec NOT IN (SELECT __rec FROM _dropped)"
        )
        return
    line = "__line" if line_column else f"__rec + {header_line}"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _raw AS SELECT __rec, {line} AS __line, {cells} "
        f"FROM {source} t WHERE __rec NOT IN (SELECT __rec FROM _dropped)"
    )


def drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Remove the staging view and tables of a previous file."""
    con.execute("DROP VIEW IF EXISTS _raw")
    for t in ("_raw_text", "_dropped", "_line_numbers", "_rej", "_rejscan"):
        con.execute(f"DROP TABLE IF EXISTS {t}")


def _reject_lines(src: SourceFile, rejects: list[tuple[int, str, str]],
                  staged: Staged) -> list[tuple[int, str, str]]:
    """Physical line of each rejected record (DuckDB gives its record number)."""
    starts = staged.line_map
    out = []
    for line, kind, text in rejects:
        text = text.strip("\r\n")  # DuckDB includes the blank lines before the record
        if src.line_column:
            # workbook rows: the scan file's first field is the sheet row
            first = text.split(",", 1)[0]
            physical = int(first) if first.isdigit() else int(line)
        elif starts and 0 < int(line) <= len(starts):
            physical = starts[int(line) - 1]
        else:
            physical = int(line)
        out.append((physical, kind, text))
    return out


def _load_parquet(con: duckdb.DuckDBPyConnection, src: SourceFile) -> Staged:
    try:
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({lit(str(src.scan_path))})").fetchall()
    except duckdb.Error as exc:
        text = str(exc).splitlines()[0].replace(str(src.scan_path), src.original.name)
        raise SourceError(f"{src.original.name} could not be read as Parquet: {text}") from None
    names = [str(r[0]) for r in described]
    src.header = list(names)
    cols = ", ".join(f"{_parquet_text(ident(n), str(t))} AS c{i}"
                     for i, (n, t) in enumerate((r[0], r[1]) for r in described))
    con.execute(f"CREATE TEMP TABLE _raw_text AS SELECT {cols} "
                f"FROM read_parquet({lit(str(src.scan_path))})")
    _define_raw(con, len(names), line_column=False, header_line=1)
    rows = int(con.execute("SELECT count(*) FROM _raw").fetchone()[0])  # type: ignore[index]
    return Staged(rows)


def _parquet_text(col: str, type_name: str) -> str:
    """A Parquet value as text for typing. An instant (TIMESTAMP WITH TIME ZONE) is written in
    UTC with its offset: as text in the session zone, an offset with seconds (Africa/Monrovia
    before 1972 was -00:44:30) would be cut to minutes."""
    if type_name.upper() == "TIMESTAMP WITH TIME ZONE":
        return f"(CAST(timezone('UTC', {col}) AS VARCHAR) || '+00:00')"
    return f"CAST({col} AS VARCHAR)"


def drop_summary_rows(con: duckdb.DuckDBPyConnection, ncols: int, file: str) -> list[Issue]:
    """Remove "Total: ..." rows at the end (or a "Grand total" first row), empty rows and
    ``#`` comment lines (a first cell starting with ``#`` and nothing else on the line)."""
    if ncols == 0:
        return []
    first = "coalesce(" + ", ".join(f"nullif(trim(c{i}), '')" for i in range(ncols)) + ")" \
        if ncols > 1 else "nullif(trim(c0), '')"
    rest = ("coalesce(" + ", ".join(f"nullif(trim(c{i}), '')" for i in range(1, ncols)) + ")"
            if ncols > 2 else "nullif(trim(c1), '')" if ncols == 2 else "NULL")
    comment = f"(starts_with(ltrim(c0), '#') AND {rest} IS NULL)"
    # "Total", "Total: Campaigns", "Grand total", "Grand Totals (36 records)"; not "Total Recall"
    total = "'(?i)^\\s*(grand\\s+)?totals?\\s*($|[:(\\-])'"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _marks AS SELECT __rec, __line, {first} AS first_cell, "
        f"regexp_matches({first}, {total}) AS is_total, "
        f"coalesce({comment}, false) AS is_comment "
        "FROM _raw WHERE __rec <= 3 OR __rec > (SELECT max(__rec) - 200 FROM _raw) "
        # candidates for empty and comment rows, judged by the first cell alone: empty, or
        # starting with '#', a space or anything but printable ASCII (a row of a million
        # that starts with a plain letter or digit is neither, and its other cells are not
        # trimmed)
        "OR c0 IS NULL OR NOT (ascii(c0) BETWEEN 33 AND 126) OR starts_with(c0, '#')"
    )
    con.execute("UPDATE _marks SET first_cell = NULL WHERE is_comment")
    rows = con.execute(
        """
        WITH bounds AS (
            SELECT min(__rec) FILTER (WHERE NOT coalesce(is_total, false) AND first_cell IS NOT
                   NULL) AS lo,
                   max(__rec) FILTER (WHERE NOT coalesce(is_total, false) AND first_cell IS NOT
                   NULL) AS hi FROM _marks)
        SELECT __rec, __line, first_cell, first_cell IS NULL AND NOT is_comment AS empty,
               is_comment FROM _marks, bounds
        WHERE first_cell IS NULL
           OR (is_total AND (__rec > coalesce(hi, 0) OR __rec < coalesce(lo, 0)))
        ORDER BY __rec
        """
    ).fetchall()
    # Rows between real data that merely look like totals stay: only the edges are summaries.
    notes: list[Issue] = []
    totals = [r for r in rows if not r[3] and not r[4]]
    empties = [r for r in rows if r[3]]
    comments = [r for r in rows if r[4]]
    if totals:
        labels = "; ".join(sorted({str(r[2])[:40] for r in totals})[:6])
        notes.append(Issue("info", "summary_rows_skipped",
                           f"{len(totals)} summary row(s) were not loaded ({labels}).",
                           file=file, row=int(totals[0][1]), count=len(totals)))
    if empties:
        notes.append(Issue("info", "empty_rows_skipped",
                           f"{len(empties)} row(s) with no value in any column were skipped.",
                           file=file, row=int(empties[0][1]), count=len(empties)))
    if comments:
        notes.append(Issue("info", "comment_rows_skipped",
                           f"{len(comments)} comment line(s) starting with # were skipped.",
                           file=file, row=int(comments[0][1]), count=len(comments)))
    if rows:
        con.execute("INSERT INTO _dropped VALUES "
                    + ",".join(f"({int(r[0])})" for r in rows))
    con.execute("DROP TABLE IF EXISTS _marks")
    return notes
