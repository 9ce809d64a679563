"""One import, end to end: read -> map -> type -> validate -> quarantine -> merge + ledger.

Everything before the final transaction works on temporary tables, so a rejected or dry-run
import writes nothing. The raw file is stored under ``raw/`` by content hash first; then one
transaction writes the rows, the quarantine and the ledger row together. A crash at any moment
leaves the file's rows all there or none.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from funnelboard.errors import SourceError, UsageError
from funnelboard.ingest import checks, coerce, merge, rules, stage, typing_step
from funnelboard.ingest.dialect import normalise_header
from funnelboard.ingest.mapping import Mapping
from funnelboard.ingest.plan import Plan, check_required, make_plan
from funnelboard.ingest.rawcopy import RawCopy
from funnelboard.ingest.reader import open_source
from funnelboard.ingest.result import ImportResult
from funnelboard.ingest.sqltext import ident, lit
from funnelboard.issues import Issue
from funnelboard.schema import Column, Table, get_table
from funnelboard.settings import Settings
from funnelboard.store import ledger

Progress = Callable[[str, int, int], None]
TEMP_TABLES = ("_typed", "_issues", "_good", "_prep", "_new",
               "_diff", "_old", "_stage_new", "_marks")


@dataclass
class ImportOptions:
    mapping: Mapping = field(default_factory=Mapping)
    timezone: str | None = None
    max_bad_rows: str | None = None
    append: bool = False
    dry_run: bool = False
    as_of: dt.date | None = None
    display_name: str | None = None
    progress: Progress | None = None

    def ledger_options(self) -> dict[str, Any]:
        return {"timezone": self.timezone, "max_bad_rows": self.max_bad_rows,
                "append": self.append}


def stage_columns(table: Table, settings: Settings) -> list[Column]:
    if table.name != "contacts":
        return []
    return [Column(f"{s}_at", "ts", f"when the contact first entered the {s} stage")
            for s in settings.stages]


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def parse_max_bad_rows(text: str | None, total: int) -> int | None:
    """``--max-bad-rows 50`` or ``--max-bad-rows 2%`` -> the largest allowed count."""
    if text is None:
        return None
    raw = text.strip()
    try:
        if raw.endswith("%"):
            share = float(raw[:-1])
            if not 0 <= share <= 100:
                raise ValueError
            return int(total * share / 100)
        value = int(raw)
        if value < 0:
            raise ValueError
        return value
    except ValueError:
        raise UsageError(f"--max-bad-rows '{text}' should be a count such as 50 or a share "
                         "such as 2%.") from None


def _check_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--timezone '{name}' is not a time zone; use an IANA name such as "
                         "Europe/Berlin or America/New_York.") from None


class Importer:
    """Runs imports on one open workspace connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, settings: Settings, raw_dir: Path,
                 tmp_dir: Path) -> None:
        self.con = con
        self.settings = settings
        self.raw_dir = raw_dir
        self.tmp_dir = tmp_dir
        self._raw: RawCopy | None = None

    def run(self, table_name: str, path: Path, options: ImportOptions) -> ImportResult:
        table = get_table(table_name)
        name = options.display_name or path.name
        result = ImportResult(table.name, name)
        extra_cols = stage_columns(table, self.settings)
        options.mapping.check(table, extra_columns={c.name for c in extra_cols})
        max_bad = options.max_bad_rows
        parse_max_bad_rows(max_bad, 0)  # usage errors before any work
        if options.timezone:
            _check_zone(options.timezone)
        if options.append and table.name != "web_traffic":
            raise UsageError(
                f"--append is for web_traffic only (session-level files that add up); an "
                f"import into {table.name} replaces or updates rows, so appending would count "
                "them twice."
            )
        started = dt.datetime.now(dt.UTC)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        # --timezone is the most specific choice, then the mapping's, then the workspace's
        zone = options.timezone or options.mapping.timezone or self.settings.timezone
        with tempfile.TemporaryDirectory(dir=self.tmp_dir) as work:
            try:
                self._set_zone(zone)
                self._stage(table, path, Path(work), options, result, extra_cols)
                if result.status == "rejected":
                    self._record_rejection(result, path, options, started)
                    return result
                if options.dry_run:
                    result.status = "dry_run"
                    return result
                self._commit(table, path, options, result, started, extra_cols)
            except SourceError as exc:
                result.status = "rejected"
                result.issues.add(Issue("error", "file_rejected", exc.message, file=name))
                self._record_rejection(result, path, options, started)
            finally:
                self._cleanup()
                self._set_zone(self.settings.timezone)
        return result

    # -- steps ---------------------------------------------------------------------------

    def _set_zone(self, zone: str) -> None:
        self.con.execute(f"SET TimeZone = {lit(zone)}")

    def _progress(self, options: ImportOptions, step: str, done: int, total: int) -> None:
        if options.progress:
            options.progress(step, done, total)

    def _stage(self, table: Table, path: Path, work: Path, options: ImportOptions,
               result: ImportResult, extra_cols: list[Column]) -> None:
        con, mapping, file = self.con, options.mapping, result.file
        known = {normalise_header(c) for c in table.column_names} | {c.name for c in extra_cols}
        known |= mapping.sources_for()
        limits = self.settings.limits
        # hash and raw/ copy in one background read while the rows are staged and typed
        self._raw = RawCopy(path, self.raw_dir, copy=not options.dry_run)
        src = open_source(
            path, work, known_columns=known, delimiter=mapping.delimiter,
            encoding=mapping.encoding, header_line=mapping.header_row, sheet=mapping.sheet,
            max_bytes=limits.max_file_mb * 1_000_000,
            max_xlsx_bytes=limits.max_xlsx_mb * 1_000_000,
            progress=lambda d, t: self._progress(options, "reading", d, t),
        )
        self._progress(options, "staging", 0, 1)
        staged = stage.load_raw(con, src)
        if len(src.header) > limits.max_columns:
            raise SourceError(f"{file} has {len(src.header)} columns, more than the limit of "
                              f"{limits.max_columns}.")
        result.dialect = src.describe()
        plan = make_plan(table, src.header, mapping, stage_columns=extra_cols, file=file)
        check_required(plan, file)
        issues = result.issues
        issues.add(Issue("info", "dialect", f"Read as {result.dialect}.", file=file))
        issues.extend(src.notes)
        issues.extend(plan.notes)
        issues.extend(stage.drop_summary_rows(con, len(src.header), file))
        coerce.install_macros(con)
        self._progress(options, "typing", 0, 1)
        reading = typing_step.decide_reading(con, plan, mapping, file,
                                               delimiter=src.delimiter)
        issues.extend(reading.notes)
        typing_step.build_typed(con, plan, mapping, reading)
        self._progress(options, "validating", 0, 1)
        rules.collect_issues(con, rules.row_rules(plan, self.settings))
        self._add_rejects(staged)
        # Bad rows leave _typed; _good is a view, so a clean file is not copied again.
        con.execute("DELETE FROM _typed WHERE __rec IN (SELECT __rec FROM _issues WHERE __rec "
                    "IS NOT NULL)")
        con.execute("CREATE OR REPLACE TEMP VIEW _good AS SELECT * FROM _typed")
        good = merge.scalar(con, "SELECT count(*) FROM _good")
        bad = merge.scalar(con, "SELECT count(DISTINCT coalesce(__rec, -__line)) "
                          "FROM _issues")
        result.rows_read = staged.rows + len(staged.rejected)
        result.rows_accepted, result.rows_quarantined = good, bad
        limit = parse_max_bad_rows(options.max_bad_rows, result.rows_read)
        verdict: Issue | None = None
        if good == 0 and bad == 0:
            verdict = Issue("error", "no_good_rows",
                            f"{file} has a header but no data rows, so nothing was imported.",
                            file=file)
        elif good == 0:
            verdict = Issue("error", "no_good_rows",
                            f"{file} has no row that passed validation, so nothing was "
                            "imported. Fix the issues above and import it again.", file=file)
        elif limit is not None and bad > limit:
            verdict = Issue("error", "too_many_bad_rows",
                            f"{bad} of {result.rows_read} rows failed validation, more than "
                            f"--max-bad-rows {options.max_bad_rows}; the file was rejected.",
                            file=file, count=bad)
        result.status = "rejected" if verdict else "imported"
        issues.extend(self._quarantine_summary(file, plan, rejected=verdict is not None))
        percent = frozenset(n for n, f in reading.formats.items() if coerce.PERCENT in f)
        issues.extend(rules.coercion_notes(con, plan, file, percent_columns=percent))
        as_of = options.as_of or dt.date.today()
        issues.extend(checks.warnings(con, plan, self.settings, as_of=as_of, file=file))
        if verdict:
            issues.add(verdict)
        if options.dry_run:
            result.preview = self._preview(plan)
        self._plan, self._src = plan, src
        result.content_hash = self._raw.digest()

    def _add_rejects(self, staged: stage.Staged) -> None:
        for line, kind, text in staged.rejected:
            message = ("has more fields than the header" if "MANY" in kind.upper()
                       else "has fewer fields than the header") + f": {text[:200]}"
            self.con.execute("INSERT INTO _issues VALUES (NULL, ?, NULL, 'wrong_field_count', ?)",
                             [line, message])

    def _quarantine_summary(self, file: str, plan: Plan, *, rejected: bool) -> list[Issue]:
        rows = self.con.execute(
            f"""SELECT i.column_name, i.rule, arg_min(i.message, i.__line), count(*),
                   min(i.__line), arg_min({self._raw_value_sql(plan)}, i.__line)
            FROM _issues i LEFT JOIN _raw r USING (__rec)
            GROUP BY ALL ORDER BY min(i.__line)"""
        ).fetchall()
        out = []
        for column, rule, message, count, first, value in rows:
            header = plan.target(column).header if column else None
            shown = f"'{value}' " if value is not None and rule != "missing_value" else ""
            where = f"'{header or column}' " if column else "The row "
            text = f"{where}{shown}{message}"
            fate = "not imported" if rejected else "sent to quarantine"
            if count > 1:
                text += f" ({count} rows, first on line {first}; {fate})"
            else:
                text += f" ({fate})"
            out.append(Issue("error", rule, text, file=file, row=int(first),
                             column=header or column, value=value, count=int(count)))
        return out

    def _raw_value_sql(self, plan: Plan) -> str:
        whens = " ".join(f"WHEN {lit(cp.column.name)} THEN r.{cp.source}" for cp in plan.present
                         if cp.source and cp.source.startswith("c"))
        return f"CASE i.column_name {whens} ELSE NULL END" if whens else "NULL"

    def _preview(self, plan: Plan, limit: int = 10) -> list[dict[str, Any]]:
        cols = [ident(cp.column.name) for cp in plan.columns if cp.source is not None]
        if not cols:
            return []
        cur = self.con.execute(f"SELECT __line, {', '.join(cols)}, extras FROM _good "
                               f"ORDER BY __rec LIMIT {int(limit)}")
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def _commit(self, table: Table, path: Path, options: ImportOptions, result: ImportResult,
                started: dt.datetime, extra_cols: list[Column]) -> None:
        con, plan = self.con, self._plan
        present_stages = [c.name[:-3] for c in extra_cols if plan.target(c.name).source]
        result.issues.extend(merge.prepare(con, table, file=result.file))
        if options.append and self._already_appended(table, result.content_hash):
            result.status = "no_changes"
            result.rows_unchanged = result.rows_accepted
            return
        # the original bytes, kept by content hash, are in raw/ before the commit
        assert self._raw is not None  # started by _stage
        raw = self._raw.store(path.suffix)
        self._progress(options, "writing", 0, 1)
        con.execute("BEGIN TRANSACTION")
        try:
            import_id = ledger.next_import_id(con)
            if table.kind == "entity":
                counts = merge.apply_entity(con, table, import_id, present_stages)
            else:
                counts = merge.apply_additive(con, table, import_id, append=options.append)
            result.import_id = import_id
            result.rows_inserted, result.rows_updated = counts.inserted, counts.updated
            result.rows_unchanged, result.rows_removed = counts.unchanged, counts.removed
            if not counts.changed:
                result.status = "no_changes"
            self._write_quarantine(import_id, table, plan)
            self._write_labels(table, plan, options.mapping)
            ledger.write_entry(con, self._entry(result, options, started, raw))
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            result.import_id = None
            raise

    def _already_appended(self, table: Table, digest: str) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM _imports WHERE table_name = ? AND content_hash = ? AND "
            "status = 'imported' AND json_extract(options, '$.append')::BOOLEAN",
            [table.name, digest]).fetchone()
        return bool(row and row[0])

    def _write_quarantine(self, import_id: int, table: Table, plan: Plan) -> None:
        row_json = "json_object(" + ", ".join(
            f"{lit(h)}, r.c{i}" for i, h in enumerate(plan.headers)) + ")" \
            if plan.headers else "NULL"
        self.con.execute(
            f"""INSERT INTO _quarantine
            SELECT {int(import_id)}, {lit(table.name)}, i.__line, i.column_name,
                   {self._raw_value_sql(plan)}, i.rule, i.message,
                   CASE WHEN i.__rec IS NULL THEN json_object('line', i.message)
                        ELSE {row_json} END
            FROM _issues i LEFT JOIN _raw r USING (__rec) ORDER BY i.__line"""
        )

    def _write_labels(self, table: Table, plan: Plan, mapping: Mapping) -> None:
        for cp in plan.present:
            if cp.column.type != "slug" or not cp.source:
                continue
            # distinct cells first: a slug column holds few of them, so cleaning and fb_slug
            # run on hundreds of values instead of once per row
            # (a table, not a subquery: the optimiser would merge the two DISTINCTs)
            v = typing_step.cleaned(cp, mapping, source="nullif(trim(__cell), '')")
            self.con.execute("CREATE OR REPLACE TEMP TABLE _cells AS "
                             f"SELECT DISTINCT {cp.source} AS __cell FROM _raw")
            self.con.execute(
                f"""INSERT OR REPLACE INTO _labels
                SELECT DISTINCT {lit(table.name)}, {lit(cp.column.name)}, fb_slug(v), v
                FROM (SELECT {v} AS v FROM _cells) WHERE v IS NOT NULL AND fb_slug(v) <> v"""
            )
        self.con.execute("DROP TABLE IF EXISTS _cells")

    def _entry(self, result: ImportResult, options: ImportOptions, started: dt.datetime,
               raw: str | None) -> dict[str, Any]:
        return {
            "import_id": result.import_id, "table_name": result.table,
            "file_name": result.file, "content_hash": result.content_hash, "raw_file": raw,
            "mapping": options.mapping.to_dict(), "options": options.ledger_options(),
            "settings_version": self.settings.version, "started_at": started,
            "finished_at": dt.datetime.now(dt.UTC), "rows_read": result.rows_read,
            "rows_accepted": result.rows_accepted, "rows_quarantined": result.rows_quarantined,
            "rows_inserted": result.rows_inserted, "rows_updated": result.rows_updated,
            "rows_unchanged": result.rows_unchanged, "rows_removed": result.rows_removed,
            "status": result.status, "dialect": result.dialect,
            # notes included: how the file was read, what was skipped and every coercion
            # (percent read, time dropped, ...) stay on record with the import
            "issues": [i.to_dict() for i in result.issues if i.code != "dialect"][:200],
        }

    def _record_rejection(self, result: ImportResult, path: Path, options: ImportOptions,
                          started: dt.datetime) -> None:
        """A rejected file leaves a ledger row (and nothing else) so the history is complete."""
        if options.dry_run:
            return
        with contextlib.suppress(OSError, RuntimeError):
            if not result.content_hash:
                result.content_hash = (self._raw.digest() if self._raw is not None
                                       else file_hash(path))
        self.con.execute("BEGIN TRANSACTION")
        try:
            result.import_id = ledger.next_import_id(self.con)
            ledger.write_entry(self.con, self._entry(result, options, started, None))
            self.con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                self.con.execute("ROLLBACK")
            raise

    def _cleanup(self) -> None:
        if self._raw is not None:
            self._raw.discard()  # a no-op once stored
            self._raw = None
        for name in ("_new", "_good"):
            with contextlib.suppress(duckdb.Error):
                self.con.execute(f"DROP VIEW IF EXISTS {name}")
        with contextlib.suppress(duckdb.Error):
            stage.drop_staging(self.con)
        for name in TEMP_TABLES:
            with contextlib.suppress(duckdb.Error):
                self.con.execute(f"DROP TABLE IF EXISTS {name}")

