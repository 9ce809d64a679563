"""``funnelboard`` command line. Every command: parse, call one service, render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from funnelboard import services
from funnelboard.cli import render
from funnelboard.cli.users_cli import tokens_app, users_app
from funnelboard.errors import UsageError
from funnelboard.metrics.result import MetricResult
from funnelboard.workspace import Workspace

app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode="rich",
                  help="funnelboard: one trustworthy B2B SaaS funnel from your exports.")
channels_app = typer.Typer(no_args_is_help=True, help="Channel rules: test and audit them.")
app.add_typer(channels_app, name="channels")
metrics_app = typer.Typer(no_args_is_help=True, help="Metrics: list the catalogue, compute one.")
app.add_typer(metrics_app, name="metrics")
snapshot_app = typer.Typer(no_args_is_help=True,
                           help="Snapshots of the cohort funnel: take, list, show, diff.")
app.add_typer(snapshot_app, name="snapshot")
targets_app = typer.Typer(no_args_is_help=True,
                          help="Targets (OKRs, quotas, plans): set one, list them; "
                          "'metrics show KEY --with-target' shows attainment and pacing.")
app.add_typer(targets_app, name="targets")
plan_app = typer.Typer(help="Plan: work up the funnel from a revenue goal; the report card.")
app.add_typer(plan_app, name="plan")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class State:
    workspace: Path | None = None
    as_of: dt.date | None = None


WorkspaceOpt = Annotated[Path | None, typer.Option(
    "--workspace", "-w", envvar="FUNNELBOARD_WORKSPACE",
    help="Workspace folder (default: $FUNNELBOARD_WORKSPACE, else the current folder).")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="Evaluate as of this date (YYYY-MM-DD); later data is ignored.")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table or json.")]
DataFormatOpt = Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")]
StartOpt = Annotated[str | None, typer.Option(
    "--start", help="First day of the range (YYYY-MM-DD, inclusive).")]
EndOpt = Annotated[str | None, typer.Option(
    "--end", help="Last day of the range (YYYY-MM-DD, inclusive).")]
GrainOpt = Annotated[str, typer.Option(
    "--grain", help="day, week, month, quarter or year (fiscal quarters and years).")]
ByOpt = Annotated[list[str] | None, typer.Option(
    "--by", help="Break down by a dimension, e.g. --by channel (repeatable).")]
FilterOpt = Annotated[list[str] | None, typer.Option(
    "--filter", help="Keep DIM=VALUE, e.g. --filter channel=webinar (repeatable; values of one "
    "dimension are ORed, dimensions ANDed; (none) is an empty value).")]
BasisOpt = Annotated[str | None, typer.Option(
    "--basis", help="cohort (by contact creation period) or period (by the date a stage was "
    "reached); default: the metric's own (cohort for funnel counts, period for cost per "
    "stage).")]
RuleOpt = Annotated[str, typer.Option(
    "--rule", help="cumulative (a later stage implies the earlier ones) or strict.")]
LevelOpt = Annotated[str, typer.Option("--level", help="contact or account.")]
CompareOpt = Annotated[str | None, typer.Option(
    "--compare", help="previous (the period before) or yoy (a year earlier).")]
TransitionOpt = Annotated[str | None, typer.Option(
    "--transition", help="cohort_maturity only: the transition, e.g. lead_to_customer.")]
ProbabilityOpt = Annotated[str | None, typer.Option(
    "--probability", help="weighted_pipeline only: crm (the deals' probabilities, default) or "
    "history (the historical stage-to-win rate).")]


HostOpt = Annotated[str, typer.Option("--host", help="Address to listen on (loopback by "
                                      "default; any other needs FUNNELBOARD_SECRET_KEY).")]
PortOpt = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")]


@app.callback()
@render.friendly
def _global(ctx: typer.Context, workspace: WorkspaceOpt = None, as_of: AsOfOpt = None) -> None:
    render.reset_consoles()
    ctx.obj = State(workspace, services.parse_as_of(as_of))
    _hand_to_server(ctx, workspace)


def _hand_to_server(ctx: typer.Context, workspace: Path | None) -> None:
    """While a server holds the workspace, it runs the command (DESIGN.md, "One writer")."""
    import sys

    from funnelboard.cli import forward
    from funnelboard.workspace import is_served, resolve_path

    if ctx.invoked_subcommand in forward.LOCAL_COMMANDS or ctx.resilient_parsing:
        return
    argv = sys.argv[1:]
    if any(a in ("--help", "-h") for a in argv):
        return
    folder = resolve_path(workspace or _argv_workspace(argv))
    if is_served(folder):  # this process is the server: run here
        return
    info = forward.running_server(folder)
    if info is None:
        return
    raise typer.Exit(forward.forward(info, forward.absolute_paths(argv, Path.cwd())))


def _argv_workspace(argv: list[str]) -> Path | None:
    for i, arg in enumerate(argv):
        if arg in ("-w", "--workspace") and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--workspace="):
            return Path(arg.split("=", 1)[1])
    return None


def _state(ctx: typer.Context, workspace: Path | None = None, as_of: str | None = None) -> State:
    base: State = ctx.obj or State()
    return State(workspace or base.workspace, services.parse_as_of(as_of) or base.as_of)


def _check_format(fmt: str, allowed: tuple[str, ...] = ("table", "json")) -> None:
    if fmt not in allowed:
        raise UsageError(f"--format '{fmt}' is not one of {', '.join(allowed)}.")


@app.command()
@render.friendly
def init(ctx: typer.Context,
         directory: Annotated[Path | None, typer.Argument(help="Folder to create.")] = None,
         workspace: WorkspaceOpt = None, as_of: AsOfOpt = None) -> None:
    """Create a workspace: funnelboard.toml, the database, app.sqlite and raw/."""
    folder = directory or _state(ctx, workspace, as_of).workspace or Path.cwd()
    Workspace.init(folder).close()
    render.console.print(f"Created workspace in [bold]{folder}[/]. Next: funnelboard -w "
                         f"{folder} import contacts contacts.csv")


def _progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn(
        "{task.percentage:>3.0f}%"), TimeElapsedColumn(), console=render.err_console,
        transient=True)


@app.command("import")
@render.friendly
def import_(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(help="Canonical table, e.g. contacts.")],
    files: Annotated[list[Path] | None, typer.Argument(help="CSV, XLSX or Parquet files.")] = None,
    map_: Annotated[list[str] | None, typer.Option(
        "--map", help="Rename a header: --map 'Record ID=contact_id' (repeatable).")] = None,
    mapping: Annotated[Path | None, typer.Option(
        "--mapping", help="A mapping TOML file (see docs/importing.md).")] = None,
    timezone: Annotated[str | None, typer.Option(
        "--timezone", help="Zone of times without an offset (default: the workspace's).")] = None,
    max_bad_rows: Annotated[str | None, typer.Option(
        "--max-bad-rows", help="Reject the file when more rows fail: a count or a share (2%).",
    )] = None,
    append: Annotated[bool, typer.Option(
        "--append", help="web_traffic: add rows instead of replacing the date range.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show the mapped first rows and every issue; write nothing.")] = False,
    template: Annotated[bool, typer.Option(
        "--template", help="Write an empty template of TABLE to FILE (.csv or .xlsx), or "
        "print its header.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show every note.")] = False,
    fmt: FormatOpt = "table",
    workspace: WorkspaceOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Import files into a canonical table (all-or-nothing per file, idempotent).

    Exit status: 0 imported (rows may be quarantined), 1 a file was rejected, 2 usage error.
    """
    _check_format(fmt)
    files = files or []
    state = _state(ctx, workspace, as_of)
    if template:
        _template(table, files, state)
        return
    if not files:
        raise UsageError("Give at least one file to import, e.g. funnelboard import contacts "
                         "contacts.csv.")
    maps = services.build_mapping(mapping, map_ or [])
    with Workspace.open(state.workspace) as ws, _progress_bar() as bar:
        task = bar.add_task("importing", total=None)

        def progress(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total or None)

        results = services.import_files(
            ws, table, files, mapping=maps, timezone=timezone, max_bad_rows=max_bad_rows,
            append=append, dry_run=dry_run, as_of=state.as_of, progress=progress)
    if fmt == "json":
        render.print_json([r.to_dict() for r in results])
    else:
        render.import_results(results, verbose=verbose)
    if any(r.status == "rejected" for r in results):
        raise typer.Exit(1)


def _template(table: str, files: list[Path], state: State) -> None:
    from funnelboard.ingest.templates import write_template
    from funnelboard.settings import Settings

    settings = Workspace.open(state.workspace).settings if state.workspace else Settings()
    out = files[0] if files else None
    written = write_template(table, out, settings)
    if out is None:
        render.console.print(written, highlight=False)
    else:
        render.console.print(f"Wrote the {table} template to {written}.")


@app.command()
@render.friendly
def imports(ctx: typer.Context,
            table: Annotated[str | None, typer.Option("--table", help="Only this table.")] = None,
            fmt: FormatOpt = "table", workspace: WorkspaceOpt = None,
            as_of: AsOfOpt = None) -> None:
    """List the import ledger."""
    _check_format(fmt)
    with Workspace.open(_state(ctx, workspace, as_of).workspace, read_only=True) as ws:
        rows = services.list_imports(ws, table)
    if fmt == "json":
        render.print_json(rows)
        return
    cols = ["import_id", "table_name", "file_name", "status", "rows_read", "rows_quarantined",
            "rows_inserted", "rows_updated", "rows_unchanged", "rows_removed", "started_at"]
    render.table("Imports", [c.removeprefix("rows_") for c in cols],
                 [[r[c] for c in cols] for r in rows])


@app.command()
@render.friendly
def quarantine(ctx: typer.Context,
               import_id: Annotated[int | None, typer.Argument(help="One import.")] = None,
               export: Annotated[Path | None, typer.Option(
                   "--export", help="Write the rejected rows, with their problems, to a CSV "
                   "you can fix and import again.")] = None,
               fmt: FormatOpt = "table", workspace: WorkspaceOpt = None,
               as_of: AsOfOpt = None) -> None:
    """Show rows that failed validation (or export them for fixing)."""
    _check_format(fmt)
    with Workspace.open(_state(ctx, workspace, as_of).workspace, read_only=True) as ws:
        if export:
            n = services.export_quarantine(ws, import_id, export)
            render.console.print(f"Wrote {n} rejected row(s) to {export}.")
            return
        rows = services.quarantine_rows(ws, import_id)
    if fmt == "json":
        render.print_json(rows)
        return
    cols = ["import_id", "table_name", "source_row", "column_name", "raw_value", "rule",
            "message"]
    render.table("Quarantine", [c.removesuffix("_name") for c in cols],
                 [[r[c] for c in cols] for r in rows])


@app.command()
@render.friendly
def export(ctx: typer.Context,
           table: Annotated[str, typer.Argument(help="Canonical table.")],
           file: Annotated[Path, typer.Argument(help="Output .csv, .xlsx or .parquet.")],
           workspace: WorkspaceOpt = None, as_of: AsOfOpt = None) -> None:
    """Write a canonical table as CSV, XLSX or Parquet (safe to open in a spreadsheet)."""
    with Workspace.open(_state(ctx, workspace, as_of).workspace, read_only=True) as ws:
        n = services.export_table(ws, table, file)
    render.console.print(f"Wrote {n} row(s) of {table} to {file}.")


@app.command()
@render.friendly
def rebuild(ctx: typer.Context, workspace: WorkspaceOpt = None, as_of: AsOfOpt = None) -> None:
    """Rebuild the database from raw/ and the import ledger."""
    with _progress_bar() as bar:
        task = bar.add_task("rebuilding", total=None)
        results = services.rebuild(
            _state(ctx, workspace, as_of).workspace,
            progress=lambda s, d, t: bar.update(task, completed=d, total=t))
    rejected = [r for r in results if r.status == "rejected"]
    render.console.print(f"Rebuilt the database from {len(results)} import(s)"
                         + (f"; {len(rejected)} were rejected this time." if rejected else "."))
    if rejected:
        raise typer.Exit(1)


@channels_app.command("test")
@render.friendly
def channels_test(ctx: typer.Context,
                  source: Annotated[str | None, typer.Option("--source")] = None,
                  medium: Annotated[str | None, typer.Option("--medium")] = None,
                  campaign: Annotated[str | None, typer.Option("--campaign")] = None,
                  fmt: FormatOpt = "table", workspace: WorkspaceOpt = None,
                  as_of: AsOfOpt = None) -> None:
    """Show which rule turns a source / medium / campaign into a channel."""
    _check_format(fmt)
    match = services.channel_test(_state(ctx, workspace, as_of).workspace, source, medium,
                                  campaign)
    if fmt == "json":
        render.print_json(match)
        return
    render.console.print(f"channel [bold]{match['channel']}[/], motion {match['motion'] or '-'} "
                         f"- {match['rule']}", highlight=False)


@channels_app.command("audit")
@render.friendly
def channels_audit(ctx: typer.Context, fmt: FormatOpt = "table",
                   workspace: WorkspaceOpt = None, as_of: AsOfOpt = None) -> None:
    """List raw source values that fell to 'unassigned'."""
    _check_format(fmt)
    rows = services.channel_audit(_state(ctx, workspace, as_of).workspace)
    if fmt == "json":
        render.print_json(rows)
        return
    if not rows:
        render.console.print("Every source value maps to a channel.")
        return
    names = list(rows[0])
    render.table("Unassigned source values", names, [[r[n] for n in names] for r in rows])


@app.command()
@render.friendly
def demo(ctx: typer.Context,
         directory: Annotated[Path | None, typer.Argument(help="New workspace folder.")] = None,
         contacts: Annotated[int, typer.Option("--contacts", min=100)] = 50_000,
         seed: Annotated[int, typer.Option("--seed")] = 42,
         no_serve: Annotated[bool, typer.Option(
             "--no-serve", help="Only generate; do not start the dashboard.")] = False,
         host: HostOpt = "127.0.0.1", port: PortOpt = 8000,
         workspace: WorkspaceOpt = None, as_of: AsOfOpt = None) -> None:
    """Generate a realistic 3-year B2B SaaS company into a new workspace."""
    state = _state(ctx, workspace, as_of)
    folder = directory or state.workspace or Path("demo-workspace")
    with _progress_bar() as bar:
        task = bar.add_task("generating", total=None)
        summary = services.build_demo(
            folder, contacts=contacts, seed=seed, end=state.as_of,
            progress=lambda s, d, t: bar.update(task, description=s, completed=d, total=t))
    render.table(f"Demo company in {folder}", ["table", "rows", "status"],
                 [[r.table, r.rows_accepted, r.status] for r in summary])
    if not no_serve:
        _serve(folder, host, port, secure_cookies=False)


def _serve(folder: Path | None, host: str, port: int, *, secure_cookies: bool,
           monthly_snapshot: bool = True) -> None:
    from funnelboard.web.server import serve as run_server

    run_server(folder, host=host, port=port, secure_cookies=secure_cookies,
               monthly_snapshot=monthly_snapshot,
               announce=lambda text: render.console.print(text, highlight=False,
                                                          soft_wrap=True))


@app.command()
@render.friendly
def serve(ctx: typer.Context, host: HostOpt = "127.0.0.1", port: PortOpt = 8000,
          secure_cookies: Annotated[bool, typer.Option(
              "--secure-cookies", help="Mark cookies Secure (the server is reached over "
              "HTTPS, e.g. behind a reverse proxy).")] = False,
          no_monthly_snapshot: Annotated[bool, typer.Option(
              "--no-monthly-snapshot", help="Do not take the monthly funnel snapshot (it is "
              "taken at start and on the first day of each month otherwise).")] = False,
          workspace: WorkspaceOpt = None, as_of: AsOfOpt = None) -> None:
    """Serve the dashboard and the REST API (one process owns the workspace while it runs)."""
    state = _state(ctx, workspace, as_of)
    _serve(state.workspace, host, port, secure_cookies=secure_cookies,
           monthly_snapshot=not no_monthly_snapshot)


def _query(state: State, **options: Any) -> dict[str, Any]:
    """Metric query keyword arguments from the command's options and the global as-of."""
    return {**options, "as_of": state.as_of, "by": options.get("by") or [],
            "filters": options.get("filters") or []}


@metrics_app.command("list")
@render.friendly
def metrics_list(ctx: typer.Context,
                 group: Annotated[str | None, typer.Option(
                     "--group", help="Only this group, e.g. funnel.")] = None,
                 fmt: DataFormatOpt = "table", workspace: WorkspaceOpt = None,
                 as_of: AsOfOpt = None) -> None:
    """List every metric: key, label, group, leading or lagging, unit, aggregation, definition."""
    _check_format(fmt, ("table", "csv", "json"))
    rows = services.list_metrics(_state(ctx, workspace, as_of).workspace, group)
    if fmt == "json":
        render.print_json(rows)
    elif fmt == "csv":
        render.write_csv(services.metrics_list_csv(rows))
    else:
        render.metric_list(rows)


@metrics_app.command("show")
@render.friendly
def metrics_show(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Metric key, e.g. leads or lead_to_mql_rate.")],
    start: StartOpt = None, end: EndOpt = None, grain: GrainOpt = "month", by: ByOpt = None,
    filter_: FilterOpt = None, basis: BasisOpt = None, rule: RuleOpt = "cumulative",
    level: LevelOpt = "contact", compare: CompareOpt = None, transition: TransitionOpt = None,
    probability: ProbabilityOpt = None,
    with_target: Annotated[bool, typer.Option(
        "--with-target", help="Add target, attainment, pacing, projection and status to each "
        "period (from the targets table; see docs/targets.md).")] = False,
    fmt: DataFormatOpt = "table", workspace: WorkspaceOpt = None, as_of: AsOfOpt = None,
) -> None:
    """Compute one metric per period (and per dimension with --by).

    --format json prints the MetricResult (metric, label, unit, direction, aggregation,
    definition, query, notes, rows) and nothing else.
    """
    _check_format(fmt, ("table", "csv", "json"))
    state = _state(ctx, workspace, as_of)
    query = _query(state, start=start, end=end, grain=grain, by=by, filters=filter_,
                   basis=basis, rule=rule, level=level, compare=compare, transition=transition,
                   probability=probability, with_target=with_target)
    with Workspace.open(state.workspace, read_only=True) as ws:
        result = services.metric(ws, key, **query)
        fiscal_start = ws.settings.fiscal_year_start_month
    if not _print_data(result, fmt):
        render.metric_result(result, fiscal_start=fiscal_start)


@app.command("funnel")
@render.friendly
def funnel_(
    ctx: typer.Context,
    start: StartOpt = None, end: EndOpt = None, grain: GrainOpt = "month", by: ByOpt = None,
    filter_: FilterOpt = None, basis: BasisOpt = None, rule: RuleOpt = "cumulative",
    level: LevelOpt = "contact", compare: CompareOpt = None,
    fmt: DataFormatOpt = "table", workspace: WorkspaceOpt = None, as_of: AsOfOpt = None,
) -> None:
    """The cohort matrix: periods down, stages across; each cell the count and the conversion
    from the previous stage.

    --format json / csv give the funnel MetricResult (one row per period x stage).
    """
    _check_format(fmt, ("table", "csv", "json"))
    state = _state(ctx, workspace, as_of)
    query = _query(state, start=start, end=end, grain=grain, by=by, filters=filter_,
                   basis=basis, rule=rule, level=level, compare=compare)
    with Workspace.open(state.workspace, read_only=True) as ws:
        result = services.funnel(ws, **query)
        fiscal_start = ws.settings.fiscal_year_start_month
    if not _print_data(result, fmt):
        render.funnel_matrix(result, fiscal_start=fiscal_start)


def _print_data(result: MetricResult, fmt: str) -> bool:
    """Print a MetricResult as JSON or CSV (notes to stderr); False for the table format."""
    if fmt == "json":
        render.print_json(result.to_dict())
    elif fmt == "csv":
        render.write_csv(services.metric_csv(result))
        render.notes(result.notes)
    else:
        return False
    return True


@snapshot_app.command("take")
@render.friendly
def snapshot_take(ctx: typer.Context,
                  label: Annotated[str | None, typer.Option(
                      "--label", help="A name, e.g. 2025-03 for the monthly snapshot.")] = None,
                  fmt: FormatOpt = "table", workspace: WorkspaceOpt = None,
                  as_of: AsOfOpt = None) -> None:
    """Freeze the cohort funnel (total and by channel) and the snapshot metrics, timestamped."""
    _check_format(fmt)
    state = _state(ctx, workspace, as_of)
    with Workspace.open(state.workspace) as ws:
        snap = services.take_snapshot(ws, label, state.as_of)
    if fmt == "json":
        render.print_json(snap.header())
    else:
        render.snapshot_taken(snap.header())


@snapshot_app.command("list")
@render.friendly
def snapshot_list(ctx: typer.Context, fmt: FormatOpt = "table",
                  workspace: WorkspaceOpt = None, as_of: AsOfOpt = None) -> None:
    """List the snapshots: id, taken, label, as-of date, rows frozen."""
    _check_format(fmt)
    with Workspace.open(_state(ctx, workspace, as_of).workspace, read_only=True) as ws:
        rows = services.list_snapshots(ws)
    if fmt == "json":
        render.print_json(rows)
    else:
        render.snapshot_list(rows)


@snapshot_app.command("show")
@render.friendly
def snapshot_show(ctx: typer.Context,
                  snapshot_id: Annotated[str, typer.Argument(metavar="ID",
                                                             help="Snapshot id.")],
                  fmt: FormatOpt = "table", workspace: WorkspaceOpt = None,
                  as_of: AsOfOpt = None) -> None:
    """Show a snapshot: the frozen cohort funnel and metrics (JSON: everything frozen)."""
    _check_format(fmt)
    with Workspace.open(_state(ctx, workspace, as_of).workspace, read_only=True) as ws:
        snap = services.show_snapshot(ws, snapshot_id)
        fiscal_start = ws.settings.fiscal_year_start_month
    if fmt == "json":
        render.print_json(snap.to_dict())
    else:
        render.snapshot(snap, fiscal_start=fiscal_start)


@snapshot_app.command("diff")
@render.friendly
def snapshot_diff(ctx: typer.Context,
                  snapshot_id: Annotated[str, typer.Argument(
                      metavar="ID", help="The earlier snapshot.")],
                  other: Annotated[str, typer.Argument(
                      metavar="[ID2|now]", help="A later snapshot, or now (default): the "
                      "funnel as of today or --as-of.")] = "now",
                  fmt: FormatOpt = "table", workspace: WorkspaceOpt = None,
                  as_of: AsOfOpt = None) -> None:
    """Which cohort cells moved since a snapshot, biggest moves first, with a summary."""
    _check_format(fmt)
    state = _state(ctx, workspace, as_of)
    with Workspace.open(state.workspace, read_only=True) as ws:
        data = services.diff_snapshots(ws, snapshot_id, other, state.as_of)
        fiscal_start = ws.settings.fiscal_year_start_month
    if fmt == "json":
        render.print_json(data)
    else:
        render.snapshot_diff(data, fiscal_start=fiscal_start)


@targets_app.command("set")
@render.friendly
def targets_set(
    ctx: typer.Context,
    metric: Annotated[str, typer.Argument(help="Metric key, e.g. mqls or bookings.")],
    period: Annotated[str, typer.Option(
        "--period", help="A fiscal year (2025: the fiscal year ending in 2025), a fiscal "
        "quarter (2025-Q3) or a month (2025-07).")],
    value: Annotated[str, typer.Option(
        "--value", help="The target in the metric's unit; a ratio as 0.25 or 25%.")],
    dimension: Annotated[list[str] | None, typer.Option(
        "--dimension", help="A target for one value of a dimension, e.g. channel=webinar "
        "(default: the total).")] = None,
    kind: Annotated[str | None, typer.Option(
        "--kind", help="okr, quota or plan (default: okr; a replaced row keeps its kind).")
    ] = None,
    fmt: FormatOpt = "table", workspace: WorkspaceOpt = None, as_of: AsOfOpt = None,
) -> None:
    """Set (or replace) one target: a metric, a period and optionally one dimension value.

    The row is written through the importer, so 'funnelboard imports' lists it as
    'targets set ...' and 'funnelboard rebuild' replays it.
    """
    _check_format(fmt)
    state = _state(ctx, workspace, as_of)
    with Workspace.open(state.workspace) as ws:
        done = services.set_target(ws, metric, period, value, dimension, kind, state.as_of)
        unit = services.metric_unit(ws, done["metric"])
    if fmt == "json":
        render.print_json(done)
    else:
        render.target_set(done, unit)


@targets_app.command("list")
@render.friendly
def targets_list(
    ctx: typer.Context,
    metric: Annotated[str | None, typer.Option("--metric", help="Only this metric key.")] = None,
    fmt: DataFormatOpt = "table", workspace: WorkspaceOpt = None, as_of: AsOfOpt = None,
) -> None:
    """List the targets: metric, period, grain, dimension value, target, kind and the import
    that wrote each (a file, or 'targets set ...')."""
    _check_format(fmt, ("table", "csv", "json"))
    with Workspace.open(_state(ctx, workspace, as_of).workspace, read_only=True) as ws:
        rows, notes = services.list_targets(ws, metric)
    if fmt == "json":
        render.print_json(rows)
    elif fmt == "csv":
        render.write_csv(services.targets_csv(rows))
    else:
        render.target_list(rows)
    render.notes(notes)


# -- planning ------------------------------------------------------------------------------------


@plan_app.callback(invoke_without_command=True)
@render.friendly
def plan_(
    ctx: typer.Context,
    revenue: Annotated[str | None, typer.Option(
        "--revenue", help="The revenue goal for the year (new bookings): 10000000, 10M, "
        "$10M.")] = None,
    deal_size: Annotated[str | None, typer.Option(
        "--deal-size", help="Revenue per new customer, e.g. 1.1M.")] = None,
    deal_size_from_history: Annotated[bool, typer.Option(
        "--deal-size-from-history", help="Use the mean won new-business deal of the trailing "
        "months.")] = False,
    rate: Annotated[list[str] | None, typer.Option(
        "--rate", help="A conversion rate TRANSITION=R (repeatable): visit_to_lead, "
        "lead_to_mql, mql_to_sql, sql_to_opportunity, opportunity_to_customer; R a fraction "
        "(0.2) or a percentage (20%).")] = None,
    rates_from_history: Annotated[bool, typer.Option(
        "--rates-from-history", help="Use the trailing conversion rates and stage lags (a "
        "--rate given wins).")] = False,
    months: Annotated[int, typer.Option(
        "--months", help="Trailing whole months of history (default 12).")] = 12,
    visits: Annotated[str | None, typer.Option(
        "--visits", help="Forward mode: website visits per month.")] = None,
    leads: Annotated[str | None, typer.Option(
        "--leads", help="Forward mode: leads per month.")] = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="Plan per channel or motion, each with its own rates and its share of "
        "the goal.")] = None,
    period: Annotated[str | None, typer.Option(
        "--period", help="The fiscal year (named by the year it ends in); default: the one "
        "holding the as-of date.")] = None,
    seasonal: Annotated[bool, typer.Option(
        "--seasonal", help="Spread the year over the months by the historical share of new "
        "customers per month (default: flat).")] = False,
    referral_rate: Annotated[str | None, typer.Option(
        "--referral-rate", help="The flywheel: referral leads per existing customer per month "
        "(0.02 or 2%; 0 turns it off; default from history with --rates-from-history).")
    ] = None,
    customer_base: Annotated[str | None, typer.Option(
        "--customer-base", help="Customers at the start of the year, for the flywheel "
        "(default: paying customers from MRR).")] = None,
    save_as_targets: Annotated[bool, typer.Option(
        "--save-as-targets", help="Write the plan into the targets table (kind plan, "
        "monthly).")] = False,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="table, json, csv or xlsx.")] = "table",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write csv, json or xlsx to this file.")] = None,
    workspace: WorkspaceOpt = None, as_of: AsOfOpt = None,
) -> None:
    """Work up the funnel from a revenue goal (or down from a monthly volume).

    Reverse mode: --revenue → customers → opportunities → SQLs → MQLs → leads → visits, per
    year, quarter and month, exact and in whole deals, with the gap rounding leaves. Forward
    mode (--visits or --leads per month): what the volume yields, and the shortfall against
    --revenue. See docs/planning.md. 'funnelboard plan report' compares the year so far with
    the saved plan.
    """
    if ctx.invoked_subcommand is not None:
        return
    from funnelboard.plan.inputs import PlanRequest

    _check_format(fmt, ("table", "json", "csv", "xlsx"))
    if fmt == "xlsx" and output is None:
        raise UsageError("--format xlsx writes a file: give --output FILE.xlsx.")
    if output is not None and fmt == "table":
        raise UsageError("--output writes csv, json or xlsx; add --format csv, json or xlsx.")
    state = _state(ctx, workspace, as_of)
    request = PlanRequest(
        revenue=revenue, deal_size=deal_size, deal_size_from_history=deal_size_from_history,
        rates=tuple(rate or ()), rates_from_history=rates_from_history, months=months,
        visits=visits, leads=leads, by=by, period=period, seasonal=seasonal,
        referral_rate=referral_rate, customer_base=customer_base, as_of=state.as_of)
    data = services.plan(state.workspace, request, save_as_targets=save_as_targets)
    if output is not None:
        services.write_plan(data, fmt, output)
        render.console.print(f"Wrote the plan to {output}.", highlight=False)
    elif fmt == "json":
        render.print_json(data)
    elif fmt == "csv":
        render.write_csv(services.plan_csv(data))
    else:
        render.plan(data)
    if fmt != "table":
        render.notes([data["gap"]["text"], *data["notes"]])
    render.plan_saved(data)


@plan_app.command("report")
@render.friendly
def plan_report(
    ctx: typer.Context,
    period: Annotated[str | None, typer.Option(
        "--period", help="The fiscal year (named by the year it ends in); default: the one "
        "holding the as-of date.")] = None,
    fmt: DataFormatOpt = "table", workspace: WorkspaceOpt = None, as_of: AsOfOpt = None,
) -> None:
    """The year-to-date report card: actual vs plan per funnel stage and per channel,
    conversion rates and marketing ROI, biggest gaps first."""
    _check_format(fmt, ("table", "csv", "json"))
    state = _state(ctx, workspace, as_of)
    with Workspace.open(state.workspace, read_only=True) as ws:
        card = services.plan_report(ws, period, state.as_of)
    if fmt == "json":
        render.print_json(card)
    elif fmt == "csv":
        render.write_csv(services.plan_report_csv(card))
        render.notes(card["notes"])
    else:
        render.plan_report(card)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
