"""Funnel benchmark: ``Workspace.funnel`` against hand-written DuckDB SQL and plain pandas.

The query is the cohort funnel of the demo data: month × channel, the five default stages,
cumulative rule, as of a fixed date after the data. For each size (demo contacts plus as many
stage-events rows) a workspace is built once (``Workspace.init`` + import of both CSVs; cached
next to the CSVs, keyed by size, seed and generator) and then three implementations run, each
in a fresh subprocess so that its peak RSS (``VmHWM``) is its own:

* **engine**: ``ws.funnel(grain="month", by=["channel"], as_of=AS_OF)`` (Ibis over the
  workspace's DuckDB file, channel derivation, period grid and result shaping included);
* **SQL**: one hand-written DuckDB query on the same kind of connection (``ws.connection()``),
  with the channel derived in SQL by ``ChannelRules.sql_case`` from the same inputs the engine
  uses; it also runs in the engine's process, alternating with ``ws.funnel`` on its connection;
* **pandas**: the needed columns of ``contacts`` and ``stage_events`` fetched into pandas
  (``fetch_df``), then filters, ``groupby``/``unstack`` and a final ``groupby``; the channel
  rules run on the distinct input combinations with ``ChannelRules.classify``. Timed with and
  without the load into pandas.

Each run is a warm-up followed by ``--repeat`` timed runs (best reported, warm-up too). Before
anything is timed the three answers are compared cell by cell (period × channel × stage →
count, plus the contacts created per period × channel); a difference is reported and stops
the benchmark. Targets: engine ≤ 1.25× the SQL, pandas ≥ 4× the engine.

Usage (``make bench`` runs the first line)::

    python bench/bench_funnel.py                           # 1M contacts
    python bench/bench_funnel.py --rows 1000000 10000000   # 1M and 10M (10M: 3-9 min to build once)

Options: ``--rows N [N ...]`` (default 1000000); ``--seed`` (default 1); ``--repeat`` timed runs
after the warm-up (default 3); ``--rounds`` alternating processes per implementation (default
1); ``--cache-dir`` (default ``$TMPDIR/funnelboard-bench``, shared
with ``bench_import.py``; delete the ``funnel-ws-*`` folders after a schema or generator
change); ``--docs PATH`` (default ``docs/benchmarks.md``) and ``--no-docs``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import ensure_csv, generator, machine  # noqa: E402

#: The funnel's as-of date: after every contact and stage entry of the demo generator (its
#: contacts end on 2025-12-31; stage entries run a few months past that).
AS_OF = dt.date(2026, 12, 31)
SQL_TARGET = 1.25
PANDAS_TARGET = 4.0
START = "<!-- bench:funnel:start -->"
END = "<!-- bench:funnel:end -->"
KINDS = ("engine", "sql", "pandas")
#: What ``_text`` in funnelboard.metrics.dimensions trims (Ibis's ``strip`` on DuckDB).
STRIP = " \t\n\r\x0b\x0c"


# -- shared helpers (parent and children) ----------------------------------------------------

def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb() -> float:
    """VmHWM: peak RSS of this process since exec (ru_maxrss would include the parent's)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


Cells = dict[tuple[str, str | None, str], int]


def cell_list(cells: Cells) -> list[list[Any]]:
    return [[p, ch, st, n] for (p, ch, st), n in sorted(cells.items(), key=str) if n]


def workspace_rules(settings: Any) -> Any:
    """The workspace's channel rules, as the engine reads them (the defaults when unset)."""
    from funnelboard.channels import default_channel_settings, parse_channel_settings

    return parse_channel_settings(settings.channels or default_channel_settings())


# -- the hand-written SQL --------------------------------------------------------------------

def funnel_sql(settings: Any, as_of: dt.date) -> str:
    """The cohort funnel (month × channel, cumulative rule) as one DuckDB query.

    Per contact: the first entry of each configured stage up to the as-of date (local dates:
    the session zone is the workspace's); reached stage *k* = coalesce(e_k, least(later e's)).
    Channel: the stored one (trimmed, non-empty), else ``ChannelRules.sql_case`` over the
    first-touch UTMs when utm_source or utm_medium is set, else source / source_detail.
    """
    from funnelboard.channels.text import sql_literal

    rules = workspace_rules(settings)
    stages = list(settings.stages)
    day = f"DATE '{as_of.isoformat()}'"
    strip = sql_literal(STRIP)

    def text(col: str) -> str:
        return f"nullif(trim({col}, {strip}), '')"

    utm = f"({text('utm_source')} IS NOT NULL OR {text('utm_medium')} IS NOT NULL)"
    derived = rules.sql_case(
        f"CASE WHEN {utm} THEN utm_source ELSE source END",
        f"CASE WHEN {utm} THEN utm_medium END",
        f"CASE WHEN {utm} THEN utm_campaign ELSE source_detail END")
    firsts = ",\n    ".join(
        f"min(entered_at) FILTER (WHERE stage = {sql_literal(s)}) AS e_{i}"
        for i, s in enumerate(stages))
    reached = []
    for k in range(len(stages)):
        later = [f"e.e_{j}" for j in range(k + 1, len(stages))]
        expr = f"e.e_{k}"
        if later:
            rest = later[0] if len(later) == 1 else "least(" + ", ".join(later) + ")"
            expr = f"coalesce({expr}, {rest})"
        reached.append(f"count({expr}) AS n_{k}")
    stage_list = ", ".join(sql_literal(s) for s in stages)
    return f"""
WITH firsts AS (
  SELECT contact_id,
    {firsts}
  FROM stage_events
  WHERE stage IN ({stage_list}) AND CAST(entered_at AS DATE) <= {day}
  GROUP BY contact_id
), c AS (
  SELECT contact_id, created_at,
    coalesce({text('channel')}, {derived}) AS channel
  FROM contacts
  WHERE CAST(created_at AS DATE) <= {day}
)
SELECT date_trunc('month', CAST(c.created_at AS DATE)) AS period, c.channel,
  count(*) AS created,
  {", ".join(reached)}
FROM c LEFT JOIN firsts e ON e.contact_id = c.contact_id
GROUP BY ALL
"""  # noqa: S608  (literals only: dates, stage keys and rule values go through sql_literal)


def sql_cells(rows: list[tuple[Any, ...]], stages: tuple[str, ...]) -> Cells:
    cells: Cells = {}
    for period, channel, created, *reached in rows:
        key = (_iso(period), channel or None)
        cells[(*key, "_created")] = int(created)
        for s, n in zip(stages, reached, strict=True):
            cells[(*key, s)] = int(n)
    return cells


def _iso(value: Any) -> str:
    return (value.date() if isinstance(value, dt.datetime) else value).isoformat()


# -- the pandas implementation ---------------------------------------------------------------

def pandas_load(con: Any) -> tuple[Any, Any]:
    contacts = con.execute("SELECT contact_id, created_at, channel, source, source_detail, "
                           "utm_source, utm_medium, utm_campaign FROM contacts").fetch_df()
    events = con.execute("SELECT contact_id, stage, entered_at FROM stage_events").fetch_df()
    return contacts, events


def pandas_funnel(contacts: Any, events: Any, settings: Any, as_of: dt.date) -> Any:
    """The same funnel in straightforward pandas; returns the aggregated DataFrame."""
    import pandas as pd

    stages = list(settings.stages)
    zone = settings.timezone
    # local date <= as_of  <=>  instant < local midnight after as_of
    cutoff = pd.Timestamp(as_of + dt.timedelta(days=1)).tz_localize(zone)

    ev = events[events["stage"].isin(stages) & (events["entered_at"] < cutoff)]
    first = (ev.groupby(["contact_id", "stage"], sort=False)["entered_at"].min()
             .unstack("stage").reindex(columns=stages))
    reached = pd.DataFrame(index=first.index)
    for k, s in enumerate(stages):
        later = stages[k + 1:]
        r = first[s]
        if later:
            r = r.fillna(first[later].min(axis=1))
        reached[s] = r

    c = contacts[contacts["created_at"] < cutoff]

    def text(col: str) -> Any:
        v = c[col].str.strip(STRIP)
        return v.where(v != "")

    stored = text("channel")
    utm = text("utm_source").notna() | text("utm_medium").notna()
    keys = pd.DataFrame({
        "s": c["utm_source"].where(utm, c["source"]).fillna(""),
        "m": c["utm_medium"].where(utm).fillna(""),
        "c": c["utm_campaign"].where(utm, c["source_detail"]).fillna(""),
    })[stored.isna()]
    combos = keys.drop_duplicates()
    rules = workspace_rules(settings)
    combos["derived"] = [rules.classify(s or None, m or None, k or None).channel
                         for s, m, k in combos.itertuples(index=False)]
    derived = keys.merge(combos, on=["s", "m", "c"], how="left")["derived"]
    derived.index = keys.index
    channel = stored.fillna(derived)

    period = c["created_at"].dt.tz_convert(zone).dt.tz_localize(None).dt.to_period("M")
    df = pd.DataFrame({"contact_id": c["contact_id"], "period": period, "channel": channel})
    df = df.join(reached, on="contact_id")
    return df.groupby(["period", "channel"], dropna=False).agg(
        _created=("contact_id", "size"), **{s: (s, "count") for s in stages})


def pandas_cells(agg: Any, stages: tuple[str, ...]) -> Cells:
    cells: Cells = {}
    for (period, channel), row in agg.iterrows():
        key = (period.start_time.date().isoformat(), channel if isinstance(channel, str) else None)
        for s in ("_created", *stages):
            cells[(*key, s)] = int(row[s])
    return cells


# -- children --------------------------------------------------------------------------------

def child(kind: str, ws_dir: str, as_of_text: str, repeat: int, out_dir: str) -> None:
    """One implementation in this (fresh) process; prints ``BENCH_JSON {...}``."""
    from funnelboard.workspace import Workspace

    as_of = dt.date.fromisoformat(as_of_text)
    t0 = time.perf_counter()
    ws = Workspace.open(ws_dir)
    con = ws.connection()
    open_s = time.perf_counter() - t0
    stages = ws.settings.stages
    runs: list[dict[str, float]] = []
    cells: Cells = {}
    extra: dict[str, Any] = {}
    peak = 0.0

    if kind == "engine":
        calls: list[list[Any]] = []

        def one() -> Any:
            calls.clear()
            return ws.funnel(grain="month", by=["channel"], as_of=as_of)

        # time every engine query, warm-up included (the wrapper costs nothing measurable)
        eng = ws.engine()
        plain = eng.execute

        def timed(expr: Any, _plain: Any = plain) -> Any:
            s = time.perf_counter()
            try:
                return _plain(expr)
            finally:
                calls.append([query_label(expr), time.perf_counter() - s])

        eng.execute = timed  # type: ignore[method-assign]
        for i in range(1 + repeat):
            c0, w0 = cpu(), time.perf_counter()
            result = one()
            runs.append({"seconds": time.perf_counter() - w0, "cpu_seconds": cpu() - c0,
                         "queries": list(calls), "warmup": i == 0})
        for r in result.rows:
            key = (r["period"].isoformat(), r.get("channel"))
            cells[(*key, r["stage"])] = int(r["value"])
            if r["stage"] == stages[0]:
                cells[(*key, "_created")] = int(r["denominator"])
        extra["notes"] = list(result.notes)
        peak = peak_rss_mb()  # before the SQL runs below add to it
        # The SQL in this same process and connection, alternating with the engine (pairs),
        # so that both see the same caches, settings and load.
        sql = funnel_sql(ws.settings, as_of)
        same: dict[str, list[float]] = {"engine": [], "sql": []}
        for _ in range(repeat):
            w0 = time.perf_counter()
            con.execute(f"SET TimeZone = '{ws.settings.timezone}'")
            con.execute(sql).fetchall()
            same["sql"].append(time.perf_counter() - w0)
            w0 = time.perf_counter()
            one()
            same["engine"].append(time.perf_counter() - w0)
        extra["same_process"] = same
        extra["profile"] = engine_profile(ws, as_of, Path(out_dir))
    elif kind == "sql":
        sql = funnel_sql(ws.settings, as_of)
        zone = ws.settings.timezone
        for i in range(1 + repeat):
            c0, w0 = cpu(), time.perf_counter()
            con.execute(f"SET TimeZone = '{zone}'")
            rows = con.execute(sql).fetchall()
            runs.append({"seconds": time.perf_counter() - w0, "cpu_seconds": cpu() - c0,
                         "warmup": i == 0})
        cells = sql_cells(rows, stages)
        (Path(out_dir) / "funnel-sql.sql").write_text(sql, encoding="utf-8")
    else:
        for i in range(1 + repeat):
            gc.collect()
            c0, w0 = cpu(), time.perf_counter()
            contacts, events = pandas_load(con)
            loaded = time.perf_counter() - w0
            agg = pandas_funnel(contacts, events, ws.settings, as_of)
            runs.append({"seconds": time.perf_counter() - w0, "cpu_seconds": cpu() - c0,
                         "load_seconds": loaded, "warmup": i == 0})
            extra["frames"] = {"contacts": len(contacts), "stage_events": len(events)}
            del contacts, events
        cells = pandas_cells(agg, stages)
    ws.close()
    print("BENCH_JSON", json.dumps({
        "kind": kind, "open_seconds": open_s, "runs": runs, "cells": cell_list(cells),
        "peak_rss_mb": peak or peak_rss_mb(), "load_avg": os.getloadavg()[0], **extra}))


def query_label(expr: Any) -> str:
    """What an engine query is: the distinct channel inputs (the rules' inputs ``fb_s`` …) or
    the funnel aggregation. The engine keeps the channel inputs until the data changes, so
    they are normally queried in a process's first call only."""
    return "inputs" if "fb_s" in expr.columns else "aggregation"


def query_seconds(queries: list[Any], label: str) -> float | None:
    """Seconds of the ``label`` queries of a run; ``None`` when it ran none. Results measured
    before the queries were labelled list plain seconds: channel inputs, then aggregation."""
    if queries and not isinstance(queries[0], list):
        queries = [["inputs", queries[0]], *[["aggregation", q] for q in queries[1:]]]
    times = [float(q[1]) for q in queries if q[0] == label]
    return sum(times) if times else None


def engine_profile(ws: Any, as_of: dt.date, out_dir: Path) -> dict[str, Any]:
    """Where ``ws.funnel``'s time goes: its queries' SQL, Ibis compile time, and EXPLAIN
    ANALYZE of each query (written to ``out_dir``). Runs after the timed runs."""
    import ibis

    eng = ws.engine()
    exprs: list[Any] = []
    plain = type(eng).execute

    def capture(expr: Any) -> Any:
        exprs.append(expr)
        return plain(eng, expr)

    eng.execute = capture
    t0 = time.perf_counter()
    ws.funnel(grain="month", by=["channel"], as_of=as_of)
    total = time.perf_counter() - t0
    eng.execute = lambda expr: plain(eng, expr)
    con = ws.connection()
    queries = []
    for n, expr in enumerate(exprs):
        s = time.perf_counter()
        sql = str(ibis.to_sql(expr, dialect="duckdb"))
        compile_s = time.perf_counter() - s
        s = time.perf_counter()
        con.execute(f"SET TimeZone = '{ws.settings.timezone}'")
        con.execute(sql).fetchall()
        raw_s = time.perf_counter() - s
        plan = con.execute("EXPLAIN ANALYZE " + sql).fetchall()
        path = out_dir / f"funnel-engine-q{n + 1}.txt"
        path.write_text(sql + "\n\n" + "\n".join(str(p[-1]) for p in plan), encoding="utf-8")
        queries.append({"compile_seconds": compile_s, "raw_sql_seconds": raw_s,
                        "sql_head": " ".join(sql.split())[:160], "explain": str(path)})
    return {"total_seconds": total, "queries": queries}


# -- parent ----------------------------------------------------------------------------------

def run_child(kind: str, ws_dir: Path, as_of: dt.date, repeat: int,
              out_dir: Path) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(ws_dir), as_of.isoformat(),
         str(repeat), str(out_dir)],
        capture_output=True, text=True, env=env, check=False)
    found = re.findall(r"BENCH_JSON (\{.*\})", proc.stdout)
    if proc.returncode != 0 or not found:
        return {"kind": kind, "error": (proc.stderr or proc.stdout)[-4000:]}
    out: dict[str, Any] = json.loads(found[-1])
    return out


BUILD_CHILD = r"""
import re, sys, time
from pathlib import Path
from funnelboard.workspace import Workspace
ws_dir, contacts, events = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
Workspace.init(ws_dir).close()
# 10M demo contacts (~2.7 GB) exceed the default upload limit of 2048 MB
settings = ws_dir / "funnelboard.toml"
text = settings.read_text(encoding="utf-8")
settings.write_text(re.sub(r"(?m)^max_file_mb = \d+", "max_file_mb = 100000", text),
                    encoding="utf-8")
with Workspace.open(ws_dir) as ws:
    for table, path in (("contacts", contacts), ("stage_events", events)):
        t0 = time.perf_counter()
        r = ws.import_file(table, path)
        print(f"  imported {table}: {r.status}, {r.rows_accepted:,} rows in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        if r.status not in ("imported", "no_changes"):
            raise SystemExit(f"import of {table} failed: {r.status}")
    print("COUNTS", *ws.query("SELECT (SELECT count(*) FROM contacts), "
                              "(SELECT count(*) FROM stage_events), "
                              "(SELECT max(created_at) FROM contacts), "
                              "(SELECT max(entered_at) FROM stage_events)")[0], sep="|")
"""


def ensure_workspace(cache: Path, rows: int, seed: int) -> tuple[Path, dict[str, Any]]:
    """The cached workspace of ``rows`` demo contacts and ``rows`` stage-events rows."""
    contacts = ensure_csv(cache, "contacts", rows, seed)
    events = ensure_csv(cache, "stage_events", rows, seed)
    name = generator("contacts")[0]
    ws_dir = cache / f"funnel-ws-{rows}-seed{seed}-{name}"
    done = ws_dir / "bench-complete.json"
    if done.exists():
        return ws_dir, json.loads(done.read_text(encoding="utf-8"))
    shutil.rmtree(ws_dir, ignore_errors=True)
    print(f"building the {rows:,}-contact workspace {ws_dir} ...", flush=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", BUILD_CHILD, str(ws_dir), str(contacts),
                           str(events)], capture_output=True, text=True, env=env, check=False)
    print(proc.stdout.replace("COUNTS", "  counts").rstrip(), flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"building the workspace failed:\n{proc.stderr[-3000:]}")
    counts = proc.stdout.split("COUNTS|", 1)[1].strip().split("|")
    info = {"contacts": int(counts[0]), "stage_events": int(counts[1]),
            "max_created_at": counts[2], "max_entered_at": counts[3],
            "build_seconds": round(time.perf_counter() - t0, 1)}
    done.write_text(json.dumps(info), encoding="utf-8")
    return ws_dir, info


def compare(results: dict[str, dict[str, Any]]) -> list[str]:
    """Cell-by-cell differences between the three answers (zero cells left out)."""
    sets = {k: {(p, ch, st): n for p, ch, st, n in r["cells"]} for k, r in results.items()}
    problems = []
    base = sets["engine"]
    for other in ("sql", "pandas"):
        cells = sets[other]
        diff = sorted(k for k in set(base) | set(cells) if base.get(k) != cells.get(k))
        if diff:
            problems.append(f"engine and {other} differ in {len(diff)} of "
                            f"{len(set(base) | set(cells))} cells, e.g. "
                            + "; ".join(f"{k}: engine {base.get(k)}, {other} {cells.get(k)}"
                                        for k in diff[:8]))
    return problems


def summarise(rows: int, info: dict[str, Any], res: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def timed(kind: str) -> list[dict[str, Any]]:
        return [r for r in res[kind]["runs"] if not r["warmup"]] or res[kind]["runs"]

    def best(kind: str, field: str = "seconds") -> float:
        return min(float(r[field]) for r in timed(kind))

    def best_run(kind: str) -> dict[str, Any]:
        run: dict[str, Any] = min(timed(kind), key=lambda r: r["seconds"])
        return run

    def warmup(kind: str) -> float:
        """The best first run of a process (with several rounds, the least disturbed one)."""
        return min(float(r["seconds"]) for r in res[kind]["runs"] if r["warmup"])

    p = best_run("pandas")
    e = best_run("engine")
    same = res["engine"]["same_process"]
    queries = e.get("queries") or []
    first = min((r for r in res["engine"]["runs"] if r["warmup"]), key=lambda r: r["seconds"])
    prof = res["engine"].get("profile", {})
    return {
        "rows": rows, "contacts": info["contacts"], "stage_events": info["stage_events"],
        "cells": len(res["engine"]["cells"]),
        "engine_s": round(e["seconds"], 3), "engine_cpu_s": round(best("engine", "cpu_seconds"), 2),
        "engine_warmup_s": round(warmup("engine"), 3),
        "engine_queries_s": [[label, round(q, 3)] for label, q in queries],
        "engine_warmup_queries_s": [[label, round(q, 3)] for label, q in first.get("queries", [])],
        "engine_compile_s": [round(q["compile_seconds"], 3) for q in prof.get("queries", [])],
        "sql_s": round(best("sql"), 3), "sql_cpu_s": round(best("sql", "cpu_seconds"), 2),
        "sql_warmup_s": round(warmup("sql"), 3),
        "pandas_s": round(p["seconds"], 2), "pandas_load_s": round(p["load_seconds"], 2),
        "pandas_cpu_s": round(best("pandas", "cpu_seconds"), 1),
        "pandas_warmup_s": round(warmup("pandas"), 2),
        "engine_rss_mb": round(res["engine"]["peak_rss_mb"]),
        "sql_rss_mb": round(res["sql"]["peak_rss_mb"]),
        "pandas_rss_mb": round(res["pandas"]["peak_rss_mb"]),
        "ratio_sql": round(e["seconds"] / best("sql"), 2),
        "ratio_sql_cpu": round(best("engine", "cpu_seconds") / best("sql", "cpu_seconds"), 2),
        "same_engine_s": round(min(same["engine"]), 3), "same_sql_s": round(min(same["sql"]), 3),
        "ratio_same": round(min(same["engine"]) / min(same["sql"]), 2),
        "ratio_pandas": round(p["seconds"] / e["seconds"], 1),
        "ratio_pandas_compute": round((p["seconds"] - p["load_seconds"]) / e["seconds"], 1),
        "load_min": round(min(r["load_min"] for r in res.values()), 1),
        "load_max": round(max(r["load_max"] for r in res.values()), 1),
        "repeat": len(timed("engine")), "rounds": res["engine"]["rounds"],
    }


def same_cell(r: dict[str, Any]) -> str:
    if "ratio_same" not in r:
        return "–"
    return f"{r['ratio_same']:.2f}× ({r['same_engine_s']:.2f} / {r['same_sql_s']:.2f})"


def load_range(r: dict[str, Any]) -> str:
    lo, hi = r.get("load_min", r.get("load_avg", 0)), r.get("load_max", r.get("load_avg", 0))
    return f"{lo:.1f}" if lo == hi else f"{lo:.1f}–{hi:.1f}"


def print_results(results: list[dict[str, Any]], info: dict[str, str]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(140, Console().width))
    t = Table(title=f"Funnel benchmark (month × channel, cumulative) — {info['cpu']}, "
                    f"{info['cores']} cores, {info['ram']}, DuckDB {info['duckdb']}, "
                    f"{info['date']}")
    for col in ("contacts", "engine s", "SQL s", "engine ÷ SQL (≤1.25×)", "same process",
                "pandas s (excl. load)",
                "pandas ÷ engine (≥4×)", "peak RSS MB engine / SQL / pandas", "load"):
        t.add_column(col, justify="right")
    for r in results:
        ok_sql = r["ratio_sql"] <= SQL_TARGET
        ok_pd = r["ratio_pandas"] >= PANDAS_TARGET
        t.add_row(f"{r['rows']:,}", f"{r['engine_s']:.2f} ({r['engine_warmup_s']:.2f})",
                  f"{r['sql_s']:.2f} ({r['sql_warmup_s']:.2f})",
                  f"[{'green' if ok_sql else 'red'}]{r['ratio_sql']:.2f}×[/]", same_cell(r),
                  f"{r['pandas_s']:.2f} ({r['pandas_s'] - r['pandas_load_s']:.2f})",
                  f"[{'green' if ok_pd else 'red'}]{r['ratio_pandas']:.1f}×[/]",
                  f"{r['engine_rss_mb']:,} / {r['sql_rss_mb']:,} / {r['pandas_rss_mb']:,}",
                  load_range(r))
    console.print(t)
    console.print("(best warm-up run in parentheses; engine queries, best run: "
                  + "; ".join(f"{r['rows']:,}: " + " + ".join(f"{label} {q:.2f}" for label, q
                                                             in r["engine_queries_s"])
                              for r in results) + " s)")


def render_docs(results: list[dict[str, Any]], info: dict[str, str]) -> str:
    lines = [
        START, "",
        f"Measured {info['date']} on {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, "
        f"{info['os']}, Python {info['python']}, DuckDB {info['duckdb']}; as of "
        f"{AS_OF.isoformat()}. Seconds are the best of the timed runs (*runs*: per "
        "implementation, each process's warm-up excluded); the best warm-up (a process's "
        "first call) is in parentheses.", "",
        "| contacts | stage_events rows | cells | runs | engine s | SQL s "
        "| engine ÷ SQL (≤ 1.25×) | pandas s incl. load | pandas s excl. load "
        "| pandas ÷ engine (≥ 4×) | CPU s engine / SQL / pandas | engine ÷ SQL, CPU "
        "| engine ÷ SQL, same process | peak RSS MB engine / SQL / pandas | load |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in sorted(results, key=lambda r: r["rows"]):
        lines.append(
            f"| {r['contacts']:,} | {r['stage_events']:,} | {r['cells']:,} "
            f"| {r['repeat']} | {r['engine_s']:.2f} ({r['engine_warmup_s']:.2f}) "
            f"| {r['sql_s']:.2f} ({r['sql_warmup_s']:.2f}) | {r['ratio_sql']:.2f}× "
            f"| {r['pandas_s']:.1f} ({r['pandas_warmup_s']:.1f}) "
            f"| {r['pandas_s'] - r['pandas_load_s']:.1f} | {r['ratio_pandas']:.1f}× "
            f"| {r['engine_cpu_s']:.1f} / {r['sql_cpu_s']:.1f} / {r['pandas_cpu_s']:.1f} "
            f"| {r['ratio_sql_cpu']:.2f}× | {same_cell(r)} "
            f"| {r['engine_rss_mb']:,} / {r['sql_rss_mb']:,} / {r['pandas_rss_mb']:,} "
            f"| {load_range(r)} |")
    lines += ["", "Engine time per query (best run; the rest is Python: Ibis expression "
              "building, period grid, result rows). The engine keeps the distinct channel "
              "inputs until the data changes, so a timed run normally has none; the best "
              "warm-up's query is in parentheses:", "",
              "| contacts | distinct channel inputs s | funnel aggregation s | rest s |",
              "|--:|--:|--:|--:|"]
    for r in sorted(results, key=lambda r: r["rows"]):
        best_q = r["engine_queries_s"]
        inputs = query_seconds(best_q, "inputs")
        warm = query_seconds(r.get("engine_warmup_queries_s") or [], "inputs")
        shown = f"{inputs:.2f}" if inputs is not None else "–"
        if warm is not None and inputs is None:
            shown += f" ({warm:.2f})"
        aggregation = query_seconds(best_q, "aggregation") or 0.0
        lines.append(f"| {r['contacts']:,} | {shown} | {aggregation:.2f} | "
                     f"{r['engine_s'] - (inputs or 0.0) - aggregation:.2f} |")
    lines += ["", "*load*: the 1-minute load average at the end of each process (lowest–highest); "
              "it includes the benchmark's own process, about 1–2 while DuckDB runs on 2 threads, "
              "so more than ~2 on 2 cores means other work competed for the CPU and wall times "
              "are inflated.", ""]
    data = {"machine": info, "results": results}
    lines += [f"<!-- bench:funnel:data {json.dumps(data)} -->", "", END]
    return "\n".join(lines)


DOC_SECTION = """## Funnel query: engine vs DuckDB SQL vs pandas (`bench_funnel.py`)

```sh
python bench/bench_funnel.py                           # what `make bench` runs: 1M contacts
python bench/bench_funnel.py --rows 1000000 10000000   # 1M and 10M (10M: ~10 min to build once)
```

The cohort funnel (month × channel, the five default stages, cumulative rule, as of
2026-12-31, after all the data) over N demo contacts and N stage-events rows (the same CSVs as
the import benchmark, imported once into a cached workspace; the contacts' own stage columns
add their entries to `stage_events` too), each implementation in a fresh subprocess:

* **engine**: `ws.funnel(grain="month", by=["channel"], as_of=...)`: Ibis expression, the
  query of distinct channel inputs (rules classified in Python; the engine keeps the lookup
  until the data changes, so only a process's first call, the warm-up, runs it), the
  aggregation, the period grid and the result rows;
* **SQL**: one hand-written DuckDB query on the same connection (`ws.connection()`): first
  entry per stage, reached = `coalesce(e_k, least(later e's))`, channel = the stored one,
  else `ChannelRules.sql_case` over the UTMs (or source / source detail). It runs in its own
  process (for its peak RSS) and also in the engine's process after the engine's timed runs,
  alternating with `ws.funnel` on the same connection (*engine ÷ SQL, same process*: best
  engine ÷ best SQL of those pairs, engine / SQL seconds in parentheses);
* **pandas**: `fetch_df` of the needed columns of `contacts` and `stage_events`, filters,
  `groupby().min().unstack()`, the rules on the distinct channel inputs
  (`ChannelRules.classify`), `groupby().agg()`.

Before timing, the three answers are compared cell by cell (period × channel × stage → count,
and contacts created per period × channel); the benchmark stops on any difference. Reported:
the best of 3 timed runs after a warm-up per process (`--repeat`; `--rounds N` alternates N
fresh processes per implementation, which evens out bursts of load from elsewhere), the best
warm-up (a process's first call), the least CPU seconds of a timed run (steadier than wall
time on a busy machine), peak RSS of each subprocess (`VmHWM`), the range of 1-minute load
averages. Targets: engine ≤ 1.25× the SQL, pandas (including its load) ≥ 4× the engine. The
workspace keeps its default `import.memory_limit_mb` (768 MB), which DuckDB applies to the
engine's and the SQL's queries (and to the pandas run's fetches).

### Results

"""


def update_docs(path: Path, results: list[dict[str, Any]], info: dict[str, str]) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    old: list[dict[str, Any]] = []
    m = re.search(r"<!-- bench:funnel:data (.*?) -->", text)
    if m:
        prev = json.loads(m.group(1))
        if prev.get("machine", {}).get("cpu") == info["cpu"]:
            old = prev["results"]
    measured = {r["rows"] for r in results}
    merged = [r for r in old if r["rows"] not in measured] + results
    if START not in text:
        text = text.rstrip() + "\n\n" + DOC_SECTION + START + "\n" + END + "\n"
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1] if END in rest else "\n"
    path.write_text(head + render_docs(merged, info) + tail, encoding="utf-8")
    print(f"updated {path}")


def measure(cache: Path, rows: int, seed: int, repeat: int, rounds: int) -> dict[str, Any]:
    ws_dir, info = ensure_workspace(cache, rows, seed)
    print(f"workspace: {info['contacts']:,} contacts, {info['stage_events']:,} stage entries "
          f"(latest created {info['max_created_at']}, latest entry {info['max_entered_at']})",
          flush=True)
    out_dir = cache / f"funnel-profile-{rows}"
    out_dir.mkdir(exist_ok=True)
    res: dict[str, dict[str, Any]] = {}
    # Rounds alternate the three implementations, so a burst of load elsewhere on the machine
    # does not fall on one of them only; each child is a fresh process.
    for n in range(rounds):
        for kind in KINDS:
            print(f"  {kind} (round {n + 1}/{rounds}) ...", flush=True)
            out = run_child(kind, ws_dir, AS_OF, repeat, out_dir)
            if "error" in out:
                raise SystemExit(f"{kind} failed on {rows:,} contacts:\n{out['error']}")
            times = ", ".join(f"{r['seconds']:.2f}" for r in out["runs"])
            print(f"    runs {times} s (CPU "
                  + ", ".join(f"{r['cpu_seconds']:.2f}" for r in out["runs"])
                  + f"), peak RSS {out['peak_rss_mb']:,.0f} MB, load {out['load_avg']:.1f}",
                  flush=True)
            if kind not in res:
                res[kind] = {**out, "rounds": 1, "load_min": out["load_avg"],
                             "load_max": out["load_avg"]}
                continue
            prev = res[kind]
            if {tuple(c) for c in out["cells"]} != {tuple(c) for c in prev["cells"]}:
                raise SystemExit(f"{kind} gave different answers in two rounds")
            prev["runs"] += out["runs"]
            prev["rounds"] += 1
            prev["peak_rss_mb"] = max(prev["peak_rss_mb"], out["peak_rss_mb"])
            prev["load_min"] = min(prev["load_min"], out["load_avg"])
            prev["load_max"] = max(prev["load_max"], out["load_avg"])
            if "profile" in out:
                prev["profile"] = out["profile"]
            for side, times in out.get("same_process", {}).items():
                prev["same_process"][side] += times
    (out_dir / "funnel-runs.json").write_text(json.dumps(res), encoding="utf-8")
    problems = compare(res)
    if problems:
        raise SystemExit("the implementations disagree:\n" + "\n".join(problems))
    print(f"  all three agree on {len(res['engine']['cells']):,} non-zero cells", flush=True)
    for q in res["engine"].get("profile", {}).get("queries", []):
        print(f"    engine query: compile {q['compile_seconds']:.3f} s, bare SQL "
              f"{q['raw_sql_seconds']:.2f} s, plan in {q['explain']}", flush=True)
    return summarise(rows, info, res)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs after the warm-up")
    ap.add_argument("--rounds", type=int, default=1,
                    help="fresh processes per implementation, alternating (best run counts)")
    ap.add_argument("--cache-dir", type=Path,
                    default=Path(tempfile.gettempdir()) / "funnelboard-bench")
    ap.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args(argv)
    info = machine()
    results = []
    for rows in args.rows:
        print(f"funnel on {rows:,} demo contacts", flush=True)
        results.append(measure(args.cache_dir, rows, args.seed, args.repeat, args.rounds))
        r = results[-1]
        print(f"  engine {r['engine_s']:.2f} s, SQL {r['sql_s']:.2f} s ({r['ratio_sql']:.2f}×), "
              f"pandas {r['pandas_s']:.2f} s ({r['ratio_pandas']:.1f}× the engine)", flush=True)
    print_results(results, info)
    if not args.no_docs:
        update_docs(args.docs, results, info)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        try:
            child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
        except Exception:
            traceback.print_exc()
            raise SystemExit(1) from None
        raise SystemExit(0)
    raise SystemExit(main())
