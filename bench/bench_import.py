"""Import benchmark: funnelboard's importer against DuckDB's bare CSV load.

For each table (contacts, stage_events) and each size it measures, each in a fresh subprocess
(so that peak RSS is that run's alone):

* **funnelboard**: ``Workspace.init(tmp)`` then ``ws.import_file(table, csv)``, validation,
  quarantine, merge and ledger included (the timer covers ``import_file`` only);
* **DuckDB**: ``CREATE TABLE t AS SELECT * FROM read_csv(csv)`` into a new database file.

The CSV is read once before each run, so both start with it in the page cache.

It reports wall time, rows/s, the ratio funnelboard ÷ DuckDB (target ≤ 2×), the importer's peak
RSS (target < 1 GB at 1M rows) and funnelboard's time per import phase, prints a Rich table and
rewrites the results section of ``docs/benchmarks.md`` (rows for other sizes are kept).

Usage (``make bench`` runs the first line)::

    python bench/bench_import.py                          # 1M rows, both tables
    python bench/bench_import.py --rows 1000000 10000000  # 1M and 10M rows
    python bench/bench_import.py --tables contacts --profile   # + time per SQL statement

Options: ``--rows N [N ...]`` sizes (default 1000000); ``--tables`` (default both);
``--seed`` (default 1); ``--cache-dir`` where generated CSVs are kept between runs, keyed by
table, size, seed and generator (default ``$TMPDIR/funnelboard-bench``; delete it after the
generator changes); ``--profile`` adds a
third run per file that times every SQL statement of the import; ``--docs PATH`` (default
``docs/benchmarks.md``) and ``--no-docs``.

CSVs come from ``funnelboard.demo.write_contacts_csv`` / ``write_stage_events_csv`` when that
module has them, else from the vectorised generator in ``bench/datagen.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(Path(__file__).resolve().parent))

TABLES = ("contacts", "stage_events")
RATIO_TARGET = 2.0
RSS_TARGET_MB = 1024
START = "<!-- bench:results:start -->"
END = "<!-- bench:results:end -->"

FUNNELBOARD_CHILD = r"""
import json, re, resource, sys, time
from pathlib import Path
from funnelboard.workspace import Workspace
ws_dir, table, path, profile = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4] == "1"
memory_mb = sys.argv[5] if len(sys.argv) > 5 else ""
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def peak_rss_mb():
    # VmHWM starts afresh at exec; ru_maxrss would include the parent's RSS at fork time.
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
Workspace.init(ws_dir).close()
# Files above the default upload limit (2048 MB; 10M demo contacts are ~2.7 GB) need a higher one.
settings = Path(ws_dir) / "funnelboard.toml"
text = settings.read_text(encoding="utf-8")
text = re.sub(r"(?m)^max_file_mb = \d+", "max_file_mb = 100000", text)
if memory_mb:
    text = re.sub(r"(?m)^memory_limit_mb = \d+", f"memory_limit_mb = {int(memory_mb)}", text)
settings.write_text(text, encoding="utf-8")
ws = Workspace.open(ws_dir)
ws.connection()
phases = {}
t0 = time.perf_counter()
def progress(step, done, total):
    phases.setdefault(step, time.perf_counter() - t0)
statements = []
if profile:
    from funnelboard.ingest.pipeline import ImportOptions, Importer
    class Timed:
        def __init__(self, con):
            self._con = con
        def execute(self, sql, *args, **kwargs):
            s, c = time.perf_counter(), cpu()
            try:
                return self._con.execute(sql, *args, **kwargs)
            finally:
                statements.append((time.perf_counter() - s, cpu() - c,
                                   " ".join(str(sql).split())))
        def __getattr__(self, name):
            return getattr(self._con, name)
    imp = Importer(Timed(ws.connection()), ws.settings, ws.path / "raw", ws.path / ".tmp")
    c0 = cpu()
    t0 = time.perf_counter()
    result = imp.run(table, path, ImportOptions(progress=progress))
else:
    c0 = cpu()
    t0 = time.perf_counter()
    result = ws.import_file(table, path, progress=progress)
seconds = time.perf_counter() - t0
cpu_seconds = cpu() - c0
ws.close()
print("BENCH_JSON", json.dumps({
    "seconds": seconds, "cpu_seconds": cpu_seconds, "status": result.status,
    "rows_read": result.rows_read,
    "rows_accepted": result.rows_accepted, "rows_quarantined": result.rows_quarantined,
    "phases": phases, "statements": statements,
    "issues": [str(i.to_dict().get("message", ""))[:160] for i in result.issues
               if i.level != "info"],
    "peak_rss_mb": peak_rss_mb(),
}))
"""

DUCKDB_CHILD = r"""
import json, resource, sys, time
import duckdb
db, path = sys.argv[1], sys.argv[2]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def peak_rss_mb():
    # VmHWM starts afresh at exec; ru_maxrss would include the parent's RSS at fork time.
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
con = duckdb.connect(db)
c0 = cpu()
t0 = time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [path])
seconds = time.perf_counter() - t0
cpu_seconds = cpu() - c0
rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
con.close()
print("BENCH_JSON", json.dumps({
    "seconds": seconds, "cpu_seconds": cpu_seconds, "rows_read": rows,
    "peak_rss_mb": peak_rss_mb()}))
"""

#: funnelboard's progress steps, in order, and what each phase covers.
PHASES = [
    ("read", None, "staging", "encoding/newline scan, dialect (the content hash and the raw/ "
     "copy run in a background thread from here until the write)"),
    ("stage", "staging", "typing", "_raw (read_csv CTAS), line numbers, summary rows"),
    ("type", "typing", "validating", "decide_reading + _typed"),
    ("validate", "validating", "writing",
     "row rules, _good, quarantine summary, warnings, merge.prepare, waiting for the hash"),
    ("write", "writing", None, "transaction: diff join, inserts, stages, quarantine, ledger; "
     "cleanup"),
]


# -- inputs ----------------------------------------------------------------------------------

def generator(table: str) -> tuple[str, Any]:
    try:
        from funnelboard import demo
    except Exception:  # the demo package may not exist yet
        demo = None
    fn = getattr(demo, f"write_{table}_csv", None) if demo else None
    if fn is not None:
        return "demo", fn
    import datagen

    return "local", getattr(datagen, f"write_{table}_csv")


def ensure_csv(cache: Path, table: str, rows: int, seed: int) -> Path:
    name, fn = generator(table)
    path = cache / f"{table}-{rows}-seed{seed}-{name}.csv"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        tmp = path.with_name(path.stem + ".part.csv")
        fn(tmp, rows, seed=seed)
        tmp.replace(path)
        print(f"generated {path.name} ({path.stat().st_size / 1e6:,.0f} MB) with the {name} "
              f"generator in {time.perf_counter() - t0:.1f} s", flush=True)
    return path


# -- runs ------------------------------------------------------------------------------------

def run_child(script: str, *args: str) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                          env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    found = re.findall(r"BENCH_JSON (\{.*\})", proc.stdout)
    if not found:
        raise SystemExit(f"benchmark child printed no result:\n{proc.stdout[-2000:]}")
    out = json.loads(found[-1])
    out["process_seconds"] = wall
    return out


def warm(path: Path) -> None:
    """Read the file once so that both runs start with it in the page cache (otherwise the
    first run pays the disk read and the second does not: at 10M rows that is seconds)."""
    with open(path, "rb") as fh:
        while fh.read(16 * 1024 * 1024):
            pass


def measure(table: str, path: Path, rows: int, *, profile: bool,
            memory_mb: int | None = None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="fb-bench-", dir=path.parent))
    memory = str(memory_mb or "")
    try:
        warm(path)
        fb = run_child(FUNNELBOARD_CHILD, str(work / "ws"), table, str(path), "0", memory)
        shutil.rmtree(work / "ws")
        warm(path)
        db = run_child(DUCKDB_CHILD, str(work / "bare.duckdb"), str(path))
        prof = None
        if profile:
            prof = run_child(FUNNELBOARD_CHILD, str(work / "ws"), table, str(path), "1",
                             memory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if fb["status"] not in ("imported", "no_changes"):
        print(f"warning: {table} {rows}: funnelboard's import was {fb['status']}: "
              + " | ".join(fb["issues"][:3]), file=sys.stderr)
    if fb["rows_read"] != rows or db["rows_read"] != rows:
        print(f"warning: {table} {rows}: funnelboard read {fb['rows_read']}, "
              f"DuckDB {db['rows_read']} rows", file=sys.stderr)
    return {
        "table": table, "rows": rows, "file_mb": round(path.stat().st_size / 1e6, 1),
        "fb_seconds": round(fb["seconds"], 2), "fb_cpu_seconds": round(fb["cpu_seconds"], 2),
        "fb_status": fb["status"],
        "fb_accepted": fb["rows_accepted"], "fb_peak_rss_mb": round(fb["peak_rss_mb"]),
        "duckdb_seconds": round(db["seconds"], 2),
        "duckdb_cpu_seconds": round(db["cpu_seconds"], 2),
        "load_avg": round(os.getloadavg()[0], 1),
        "duckdb_peak_rss_mb": round(db["peak_rss_mb"]),
        "ratio": round(fb["seconds"] / db["seconds"], 2),
        "phases": phase_times(fb["phases"], fb["seconds"]),
        "issues": fb["issues"][:5],
        "statements": top_statements(prof) if prof else None,
    }


def phase_times(marks: dict[str, float], total: float) -> dict[str, float]:
    out = {}
    for name, start, end, _ in PHASES:
        a = 0.0 if start is None else marks.get(start)
        b = total if end is None else marks.get(end)
        if a is not None and b is not None:
            out[name] = round(b - a, 2)
    return out


def top_statements(prof: dict[str, Any], n: int = 15) -> list[tuple[float, float, str]]:
    """The slowest statements of the profiled run: (wall s, CPU s, SQL)."""
    stmts = sorted(prof["statements"], key=lambda s: -s[0])[:n]
    wall = sum(s[0] for s in prof["statements"])
    cpu = sum(s[1] for s in prof["statements"])
    return [(round(prof["seconds"], 2), round(prof["cpu_seconds"], 2), "total import"),
            (round(prof["seconds"] - wall, 2), round(prof["cpu_seconds"] - cpu, 2),
             "Python outside SQL (encoding scan, hash, raw/ copy)"),
            *((round(w, 2), round(c, 2), text[:160]) for w, c, text in stmts)]


# -- output ----------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    import duckdb

    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with open("/proc/meminfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu, "cores": str(cores), "ram": f"{mem / 1024:.0f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(), "duckdb": duckdb.__version__,
        "date": dt.date.today().isoformat(),
    }


def fmt_rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds / 1e6:.2f}M" if seconds else "-"


def print_results(results: list[dict[str, Any]], info: dict[str, str]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(140, Console().width))
    t = Table(title=f"Import benchmark — {info['cpu']}, {info['cores']} cores, {info['ram']}, "
                    f"Python {info['python']}, DuckDB {info['duckdb']}, {info['date']}")
    for col in ("table", "rows", "CSV MB", "funnelboard s", "rows/s", "DuckDB s", "rows/s",
                "ratio (≤2×)", "CPU s fb / DuckDB", "peak RSS MB", "DuckDB RSS MB", "load"):
        t.add_column(col, justify="left" if col == "table" else "right")
    for r in results:
        ok_ratio = r["ratio"] <= RATIO_TARGET
        ok_rss = r["rows"] > 1_000_000 or r["fb_peak_rss_mb"] < RSS_TARGET_MB
        t.add_row(r["table"], f"{r['rows']:,}", f"{r['file_mb']:,.0f}", f"{r['fb_seconds']:.2f}",
                  fmt_rate(r["rows"], r["fb_seconds"]), f"{r['duckdb_seconds']:.2f}",
                  fmt_rate(r["rows"], r["duckdb_seconds"]),
                  f"[{'green' if ok_ratio else 'red'}]{r['ratio']:.2f}×[/]",
                  f"{r['fb_cpu_seconds']:.1f} / {r['duckdb_cpu_seconds']:.1f}",
                  f"[{'green' if ok_rss else 'red'}]{r['fb_peak_rss_mb']:,}[/]",
                  f"{r['duckdb_peak_rss_mb']:,}", f"{r['load_avg']:.1f}")
    console.print(t)
    p = Table(title="funnelboard time per import phase (s)")
    p.add_column("table")
    p.add_column("rows", justify="right")
    for name, *_ in PHASES:
        p.add_column(name, justify="right")
    for r in results:
        p.add_row(r["table"], f"{r['rows']:,}",
                  *(f"{r['phases'].get(name, 0):.2f}" for name, *_ in PHASES))
    console.print(p)
    for r in results:
        if r.get("statements"):
            s = Table(title=f"slowest statements: {r['table']} {r['rows']:,} rows")
            s.add_column("wall s", justify="right")
            s.add_column("CPU s", justify="right")
            s.add_column("statement")
            for sec, cpu_s, text in r["statements"]:
                s.add_row(f"{sec:.2f}", f"{cpu_s:.2f}", text)
            console.print(s)
        if r["issues"]:
            console.print(f"{r['table']} {r['rows']:,}: status {r['fb_status']}, "
                          f"{r['fb_accepted']:,} accepted; warnings: " + " | ".join(r["issues"]))


def render_docs(results: list[dict[str, Any]], info: dict[str, str]) -> str:
    lines = [
        START,
        "",
        f"Measured {info['date']} on {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, "
        f"{info['os']}, Python {info['python']}, DuckDB {info['duckdb']}.",
        "",
        "| table | rows | CSV MB | funnelboard s | rows/s | DuckDB s | rows/s | ratio (≤ 2×) "
        "| CPU s funnelboard / DuckDB | funnelboard peak RSS MB | DuckDB peak RSS MB | load |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in sorted(results, key=lambda r: (r["rows"], r["table"])):
        lines.append(
            f"| {r['table']} | {r['rows']:,} | {r['file_mb']:,.0f} | {r['fb_seconds']:.2f} | "
            f"{fmt_rate(r['rows'], r['fb_seconds'])} | {r['duckdb_seconds']:.2f} | "
            f"{fmt_rate(r['rows'], r['duckdb_seconds'])} | {r['ratio']:.2f}× | "
            f"{r.get('fb_cpu_seconds', 0):.1f} / {r.get('duckdb_cpu_seconds', 0):.1f} | "
            f"{r['fb_peak_rss_mb']:,} | {r['duckdb_peak_rss_mb']:,} | "
            f"{r.get('load_avg', 0):.1f} |")
    lines += ["", "funnelboard time per phase (seconds):", "",
              "| table | rows | " + " | ".join(n for n, *_ in PHASES) + " |",
              "|---|--:|" + "--:|" * len(PHASES)]
    for r in sorted(results, key=lambda r: (r["rows"], r["table"])):
        lines.append(f"| {r['table']} | {r['rows']:,} | "
                     + " | ".join(f"{r['phases'].get(n, 0):.2f}" for n, *_ in PHASES) + " |")
    lines += ["", "Phases: " + "; ".join(f"**{n}**: {d}" for n, _, _, d in PHASES) + ".",
              "", "*load* is the 1-minute load average when the row was measured; on a busy "
              "machine wall times grow, so compare the CPU seconds as well.", ""]
    data = {"machine": info, "results": [{k: v for k, v in r.items() if k != "statements"}
                                         for r in results]}
    lines += [f"<!-- bench:data {json.dumps(data)} -->", "", END]
    return "\n".join(lines)


DOC_HEAD = """# Import benchmarks

`make bench` (`python bench/bench_import.py`) compares funnelboard's importer with DuckDB's bare
CSV load on generated contacts and stage-events CSVs. Each run is a fresh subprocess:

* **funnelboard**: `Workspace.init(tmp)` then `ws.import_file(table, path)` (encoding scan,
  staging, typing, row rules, quarantine, warnings, merge, ledger; one transaction);
* **DuckDB**: `CREATE TABLE t AS SELECT * FROM read_csv(path)` into a new database file.

The CSV is read once before each run, so both start with it in the page cache (the runs
measure the work, not the disk; until 2026-11-23 funnelboard ran first on a cold file and
DuckDB second on a warm one, which cost funnelboard seconds at 10M rows).

Targets: funnelboard at most 2× DuckDB's time, importer peak RSS under 1 GB at 1M rows.
Options: `--rows 1000000 10000000`, `--tables contacts`, `--profile` (time per SQL statement),
`--seed`, `--cache-dir`, `--no-docs`, `--memory-limit-mb N` (the measured workspace's
`import.memory_limit_mb`; implies `--no-docs`). Generated CSVs are cached in
`$TMPDIR/funnelboard-bench`.

## Results

"""


def update_docs(path: Path, results: list[dict[str, Any]], info: dict[str, str]) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else DOC_HEAD + START + "\n" + END
    old: list[dict[str, Any]] = []
    m = re.search(r"<!-- bench:data (.*?) -->", text)
    if m:
        prev = json.loads(m.group(1))
        if prev.get("machine", {}).get("cpu") == info["cpu"]:
            old = prev["results"]
    measured = {(r["table"], r["rows"]) for r in results}
    merged = [r for r in old if (r["table"], r["rows"]) not in measured] + results
    if START not in text:
        text = text.rstrip() + "\n\n## Results\n\n" + START + "\n" + END + "\n"
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1] if END in rest else "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head + render_docs(merged, info) + tail, encoding="utf-8")
    print(f"updated {path}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--tables", nargs="+", choices=TABLES, default=list(TABLES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache-dir", type=Path,
                    default=Path(tempfile.gettempdir()) / "funnelboard-bench")
    ap.add_argument("--profile", action="store_true", help="also time each SQL statement")
    ap.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md")
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--memory-limit-mb", type=int, default=None,
                    help="import.memory_limit_mb of the measured workspace (default: the "
                         "workspace default); implies --no-docs")
    args = ap.parse_args(argv)
    if args.memory_limit_mb:
        args.no_docs = True
    info = machine()
    results = []
    for rows in args.rows:
        for table in args.tables:
            path = ensure_csv(args.cache_dir, table, rows, args.seed)
            print(f"measuring {table} {rows:,} rows ...", flush=True)
            results.append(measure(table, path, rows, profile=args.profile,
                                   memory_mb=args.memory_limit_mb))
            r = results[-1]
            print(f"  funnelboard {r['fb_seconds']:.2f} s, DuckDB {r['duckdb_seconds']:.2f} s, "
                  f"ratio {r['ratio']:.2f}×, peak RSS {r['fb_peak_rss_mb']:,} MB", flush=True)
    print_results(results, info)
    if not args.no_docs:
        update_docs(args.docs, results, info)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
