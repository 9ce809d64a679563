"""Rich rendering shared by the commands: results, issues, and plain tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from funnelboard.ingest.result import ImportResult
from funnelboard.issues import Issue

console = Console()
err_console = Console(stderr=True)

LEVEL_STYLE = {"error": "red", "warning": "yellow", "info": "dim"}


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    console.print(t)


def issue_line(issue: Issue) -> str:
    where = issue.location()
    prefix = f"[{LEVEL_STYLE[issue.level]}]{issue.level}[/]"
    return f"{prefix} {issue.code}: {issue.message}" + (f" [dim]({where})[/]" if where else "")


def import_results(results: list[ImportResult], *, verbose: bool = False) -> None:
    cols = ["file", "status", "read", "accepted", "quarantined", "inserted", "updated",
            "unchanged", "replaced"]
    rows = []
    for r in results:
        style = {"rejected": "red", "no_changes": "dim", "dry_run": "cyan"}.get(r.status, "green")
        rows.append([r.file, f"[{style}]{r.status}[/]", r.rows_read, r.rows_accepted,
                     r.rows_quarantined, r.rows_inserted, r.rows_updated, r.rows_unchanged,
                     r.rows_removed])
    t = Table(title=f"Import into {results[0].table}" if results else None)
    for c in cols:
        t.add_column(c, justify="right" if c not in ("file", "status") else "left")
    for row in rows:
        t.add_row(*(str(v) for v in row))
    console.print(t)
    for r in results:
        shown = [i for i in r.issues if verbose or i.level != "info" or i.code in (
            "dialect", "summary_rows_skipped", "preamble_skipped", "extra_columns",
            "encoding_fallback", "decimal_comma", "comment_rows_skipped", "percent_read",
            "time_dropped", "empty_rows_skipped", "rows_summed")]
        if shown:
            console.print(f"[bold]{r.file}[/] - {r.message}")
        for issue in shown:
            console.print("  " + issue_line(issue), highlight=False)
        if r.preview:
            names = list(r.preview[0])
            table(f"Preview of {r.file} (first {len(r.preview)} rows after mapping)", names,
                  [[row[n] for n in names] for row in r.preview])
