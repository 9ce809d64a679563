"""Catalogue benchmark: every metric on the 1M-contact demo, and three metrics against SQL.

On a demo workspace (``funnelboard.services.build_demo``: every canonical table, generated and
imported through the real import path; built once, timed, and cached) it measures:

* **(a) the full catalogue**: every metric ``all_metrics(settings)`` lists, computed once with
  ``ws.metric(key, grain="quarter", as_of=AS_OF)`` (a metric that refuses to run without a
  breakdown gets the ``--by`` of its example in ``funnelboard.metrics.examples``), timed per
  metric and reported per group (sum and the slowest three) with the total. A metric that
  fails is reported with its error, never left out. One fresh subprocess for the whole run.
* **(b) three representative metrics** side by side with hand-written DuckDB SQL in the same
  process, on the same connection (``ws.connection()``, ``SET TimeZone`` to the workspace
  zone first): ``win_rate`` by quarter, the five MRR movements by month (``new_mrr``,
  ``expansion_mrr``, ``contraction_mrr``, ``churned_mrr``, ``reactivation_mrr``) and
  ``cost_per_mql`` by channel by quarter. The SQL is written from the spec (metrics.md,
  data-contract.md "Derived semantics"), not from the engine's compiled SQL; the two answers
  are compared cell by cell first (so the benchmark is a cross-check of the engine), then
  both are timed (a warm-up each, then ``--repeat`` interleaved rounds; best reported) and
  the ratio engine ÷ SQL is checked against 1.5×. The engine's time is split into Ibis
  compilation, DuckDB execution (including the arrow fetch) and the rest (Python: building
  expressions, result shaping); its compiled SQL, a cProfile of one call and EXPLAIN ANALYZE
  of its slowest query go to ``<cache-dir>/catalogue-profile-<contacts>/``.
  One fresh subprocess per metric; peak RSS is measured per implementation (``VmHWM``, reset
  through ``/proc/self/clear_refs`` before each run).

Usage (``make bench`` runs the first line)::

    python bench/bench_catalogue.py                     # 1M demo contacts (build ~1 min)
    python bench/bench_catalogue.py --contacts 20000    # a quick run
    python bench/bench_catalogue.py --part compare      # only (b)

Options: ``--contacts N`` (default 1000000); ``--seed`` (default 1); ``--repeat`` timed rounds
after the warm-up (default 3); ``--part all|catalogue|compare``; ``--cache-dir`` (default
``$TMPDIR/funnelboard-bench``; the workspace is kept as
``catalogue-demo-<contacts>-seed<seed>-<end>-<generator hash>/``, rebuilt when the demo
generator's source changes; delete it after a schema change); ``--docs PATH`` (default
``docs/benchmarks.md``: the section between ``<!-- bench:catalogue:start -->`` and
``<!-- bench:catalogue:end -->`` is rewritten, results for other sizes are kept when the CPU is
the same) and ``--no-docs``.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import io
import json
import math
import os
import pstats
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import machine  # noqa: E402

#: The demo's last day and the as-of date of every query.
AS_OF = dt.date(2025, 6, 30)
RATIO_TARGET = 1.5
START = "<!-- bench:catalogue:start -->"
END = "<!-- bench:catalogue:end -->"
DATA = re.compile(r"<!-- bench:catalogue-data (.*?) -->")
#: What ``.strip()`` trims in Ibis's DuckDB SQL (``_text`` of the metric modules).
STRIP = " \t\n\r\x0b\x0c"
MOVEMENTS = ("new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr")
#: The three representative metrics of part (b), in the order they run.
COMPARED = ("win_rate", "mrr_movements", "cost_per_mql")
LABELS = {"win_rate": "`win_rate` by quarter",
          "mrr_movements": "MRR movements by month (5 metrics)",
          "cost_per_mql": "`cost_per_mql` by channel × quarter"}
#: An ad platform's channel when its campaign names none (metrics.md §3, written out again
#: here so the SQL does not borrow the engine's table).
PLATFORM_CHANNELS = {"google_ads": "paid_search", "bing": "paid_search",
                     "microsoft_ads": "paid_search", "linkedin": "paid_social",
                     "meta": "paid_social", "facebook": "paid_social", "x": "paid_social",
                     "twitter": "paid_social", "tiktok": "paid_social", "reddit": "paid_social"}


# -- process measurements ----------------------------------------------------------------------

def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb() -> float:
    """VmHWM: peak RSS of this process since exec or the last :func:`reset_peak`."""
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0); False when it cannot be reset."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def load_avg() -> float:
    return round(os.getloadavg()[0], 2)


# -- the demo workspace ------------------------------------------------------------------------

def generator_hash() -> str:
    """8 hex characters of the demo generator's source (a change rebuilds the workspace)."""
    h = hashlib.sha256()
    for path in sorted((SRC / "funnelboard" / "demo").rglob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:8]


def ensure_demo(cache: Path, contacts: int, seed: int) -> tuple[Path, dict[str, Any]]:
    """The cached demo workspace; built (and timed, in a fresh subprocess) when missing."""
    ws_dir = cache / f"catalogue-demo-{contacts}-seed{seed}-{AS_OF}-{generator_hash()}"
    done = ws_dir / "bench-complete.json"
    if done.exists():
        info = json.loads(done.read_text(encoding="utf-8"))
        info["cached"] = True
        return ws_dir, info
    shutil.rmtree(ws_dir, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    part = ws_dir.with_name(ws_dir.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    print(f"building the {contacts:,}-contact demo workspace {ws_dir} ...", flush=True)
    out = run_child("build", str(part), str(contacts), str(seed))
    if "error" in out:
        raise SystemExit(f"building the demo failed:\n{out['error']}")
    part.rename(ws_dir)
    info = {k: out[k] for k in ("seconds", "cpu_seconds", "peak_rss_mb", "load_avg", "tables",
                                "phases", "generator")}
    info["contacts"] = contacts
    info["seed"] = seed
    done.write_text(json.dumps(info, indent=1), encoding="utf-8")
    print(f"  built in {info['seconds']:.1f} s (peak RSS {info['peak_rss_mb']:,.0f} MB)",
          flush=True)
    info["cached"] = False
    return ws_dir, info


def child_build(ws_dir: str, contacts: str, seed: str) -> dict[str, Any]:
    from funnelboard.services import build_demo
    from funnelboard.workspace import Workspace

    phases: dict[str, float] = {}
    t0, c0 = time.perf_counter(), cpu()
    last = [t0, ""]

    def progress(label: str, done: int, total: int) -> None:
        # "importing <table>" steps are the import; everything before is generation
        step = label if label.startswith("importing ") else "generate"
        now = time.perf_counter()
        if step != last[1]:
            if last[1]:
                phases[str(last[1])] = phases.get(str(last[1]), 0.0) + now - float(last[0])
            last[0], last[1] = now, step
            print(f"  {now - t0:7.1f} s  {label}", file=sys.stderr, flush=True)

    build_demo(Path(ws_dir), contacts=int(contacts), seed=int(seed), end=AS_OF,
               progress=progress)
    seconds = time.perf_counter() - t0
    if last[1]:
        phases[str(last[1])] = phases.get(str(last[1]), 0.0) + time.perf_counter() - float(last[0])
    cpu_s = cpu() - c0
    with Workspace.open(ws_dir) as ws:
        con = ws.connection()
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT starts_with(table_name, '_') "
            "ORDER BY table_name").fetchall()]
        tables = {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]  # noqa: S608
                  for n in names}
    generate = phases.pop("generate", 0.0)
    return {"seconds": seconds, "cpu_seconds": cpu_s, "peak_rss_mb": peak_rss_mb(),
            "load_avg": load_avg(), "tables": tables,
            "phases": {"generate": round(generate, 1),
                       "import": round(sum(phases.values()), 1),
                       "slowest_imports": sorted(((k.removeprefix("importing "), round(v, 1))
                                                  for k, v in phases.items()),
                                                 key=lambda kv: -kv[1])[:4]},
            "generator": generator_hash()}


# -- engine instrumentation --------------------------------------------------------------------

class EngineTimer:
    """Wraps ``Engine.execute`` and the backend's ``compile`` of one workspace engine and
    accumulates, per measured call: queries, compile seconds, execute seconds (compile
    included) and the compiled SQL."""

    def __init__(self, ws: Any) -> None:
        self.engine = ws.engine()
        self.queries = 0
        self.compile_s = 0.0
        self.execute_s = 0.0
        self.sql: list[tuple[str, float, float]] = []  # (sql, compile s, execute s)
        self._compile_now = 0.0
        backend = self.engine.backend
        plain_compile = backend.compile
        plain_execute = self.engine.execute

        def compile_(*args: Any, **kwargs: Any) -> Any:
            s = time.perf_counter()
            out = plain_compile(*args, **kwargs)
            spent = time.perf_counter() - s
            self.compile_s += spent
            self._compile_now += spent
            self._last_sql = str(out)
            return out

        def execute(expr: Any) -> Any:
            self._compile_now = 0.0
            self._last_sql = ""
            s = time.perf_counter()
            try:
                return plain_execute(expr)
            finally:
                spent = time.perf_counter() - s
                self.execute_s += spent
                self.queries += 1
                self.sql.append((self._last_sql, self._compile_now, spent))

        backend.compile = compile_
        self.engine.execute = execute

    def reset(self) -> None:
        self.queries, self.compile_s, self.execute_s = 0, 0.0, 0.0
        self.sql = []

    def split(self, total: float) -> dict[str, Any]:
        return {"queries": self.queries, "compile_seconds": self.compile_s,
                "execute_seconds": self.execute_s - self.compile_s,
                "python_seconds": total - self.execute_s}


# -- (a) the full catalogue --------------------------------------------------------------------

def example_by(key: str) -> tuple[str, ...]:
    """The ``--by`` dimensions of the metric's example (``funnelboard.metrics.examples``)."""
    from funnelboard.metrics.examples import EXAMPLES

    words = shlex.split(EXAMPLES.get(key, ""))
    return tuple(words[i + 1] for i, w in enumerate(words[:-1]) if w == "--by")


def child_catalogue(ws_dir: str) -> dict[str, Any]:
    from funnelboard.errors import UsageError
    from funnelboard.metrics.registry import all_metrics
    from funnelboard.workspace import Workspace

    t0 = time.perf_counter()
    ws = Workspace.open(ws_dir)
    timer = EngineTimer(ws)
    # warm-up outside the timings: Ibis imports and the first connection to the file
    import ibis

    ws.engine().execute(ibis.memtable({"x": [1]}).aggregate(n=lambda t: t.count()))
    open_s = time.perf_counter() - t0
    metrics = all_metrics(ws.settings)
    load_start = load_avg()
    out: list[dict[str, Any]] = []
    for i, m in enumerate(metrics, 1):
        options: dict[str, Any] = {}
        row: dict[str, Any] = {"key": m.key, "group": m.group}
        attempt = 0
        while True:
            attempt += 1
            timer.reset()
            c0, w0 = cpu(), time.perf_counter()
            try:
                result = ws.metric(m.key, grain="quarter", as_of=AS_OF.isoformat(), **options)
            except UsageError as exc:
                by = example_by(m.key)
                if attempt == 1 and by and "--by" in str(exc):
                    options = {"by": list(by)}
                    row["first_error"] = str(exc)
                    continue
                row["error"] = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # a crash is a finding: report it with where it happened
                row["error"] = f"{type(exc).__name__}: {exc}"
                row["traceback"] = traceback.format_exc(limit=-4)
            else:
                row["rows"] = len(result.rows)
                row["notes"] = len(result.notes)
            seconds = time.perf_counter() - w0
            row.update(seconds=round(seconds, 4), cpu_seconds=round(cpu() - c0, 4),
                       options=options, rss_mb=round(peak_rss_mb()),
                       **{k: (round(v, 4) if isinstance(v, float) else v)
                          for k, v in timer.split(seconds).items()})
            break
        out.append(row)
        status = row.get("error", f"{row.get('rows')} rows")
        print(f"  [{i:3}/{len(metrics)}] {m.group:15} {m.key:32} {row['seconds']:7.2f} s  "
              f"{status[:90]}", file=sys.stderr, flush=True)
    ws.close()
    return {"metrics": out, "open_seconds": open_s, "peak_rss_mb": peak_rss_mb(),
            "load_start": load_start, "load_end": load_avg(),
            "total_seconds": sum(r["seconds"] for r in out),
            "total_cpu_seconds": sum(r["cpu_seconds"] for r in out)}


# -- (b) the hand-written SQL ------------------------------------------------------------------

def lit(value: Any) -> str:
    from funnelboard.channels.text import sql_literal

    return str(sql_literal(value))


def text(col: str) -> str:
    """Stored text, trimmed; empty reads as NULL (the spec's reading of empty cells)."""
    return f"nullif(trim(CAST({col} AS VARCHAR), {lit(STRIP)}), '')"


def slug(col: str) -> str:
    """A stage name as the settings spell it: ``Closed Won`` → ``closed_won``."""
    low = f"regexp_replace(lower(CAST({col} AS VARCHAR)), '[^\\p{{L}}\\p{{N}}]+', '_', 'g')"
    return f"nullif(regexp_replace({low}, '^_+|_+$', '', 'g'), '')"


def period_sql(day: str, grain: str, fiscal_start: int) -> str:
    """First day of the (fiscal) period holding the date ``day``."""
    if grain == "month":
        return f"CAST(date_trunc('month', {day}) AS DATE)"
    shift = fiscal_start - 1
    if not shift:
        return f"CAST(date_trunc('{grain}', {day}) AS DATE)"
    return (f"CAST(date_trunc('{grain}', {day} - INTERVAL {shift} MONTH) "
            f"+ INTERVAL {shift} MONTH AS DATE)")


def win_rate_sql(settings: Any, as_of: dt.date) -> str:
    """won ÷ (won + lost) among deals closed in the quarter (metrics.md §5, data-contract.md
    "Status"). Status from is_closed / is_won only (is_won implies closed); a deal closed now
    closed on the day its stage history last entered its current stage, else on its close
    date (else its creation day), and counts when that day is on or before the as-of date.
    Deals created after the as-of date do not exist yet. The quarter is the close date's;
    a lost deal whose trimmed, lower-cased loss reason is a "no decision" reason (settings)
    is left out of the denominator. Counts, so currencies do not matter."""
    day = f"DATE {lit(as_of.isoformat())}"
    reasons = sorted({r.strip().lower() for r in settings.no_decision_loss_reasons
                      if r.strip()})
    nd = (f"lower({text('o.loss_reason')}) IN ({', '.join(lit(r) for r in reasons)})"
          if reasons else "false")
    quarter = period_sql("close_date", "quarter", settings.fiscal_year_start_month)
    return f"""
WITH hist AS (
  SELECT {text('opportunity_id')} AS oid, {slug('stage')} AS stage, entered_at
  FROM opportunity_stages
  WHERE entered_at IS NOT NULL
), deals AS (
  SELECT o.close_date,
    coalesce(o.is_won, false) AS won,
    coalesce(o.is_closed, false) OR coalesce(o.is_won, false) AS closed,
    coalesce(NOT coalesce(o.is_won, false) AND {nd}, false) AS no_decision,
    coalesce(
      (SELECT CAST(max(h.entered_at) AS DATE) FROM hist h
       WHERE h.oid = {text('o.opportunity_id')} AND h.stage = {slug('o.stage')}),
      o.close_date, CAST(o.created_at AS DATE)) AS closed_day
  FROM opportunities o
  WHERE {text('o.opportunity_id')} IS NOT NULL AND CAST(o.created_at AS DATE) <= {day}
)
SELECT {quarter} AS period,
  count(*) FILTER (WHERE won) AS won,
  count(*) FILTER (WHERE NOT won AND NOT no_decision) AS lost,
  count(*) FILTER (WHERE no_decision) AS no_decision
FROM deals
WHERE closed AND closed_day <= {day} AND close_date IS NOT NULL AND close_date <= {day}
GROUP BY ALL
ORDER BY period
"""  # noqa: S608  (literals only: the date and the reasons go through sql_literal)


def mrr_sql(settings: Any, as_of: dt.date, which: tuple[str, ...] = MOVEMENTS) -> str:
    """MRR movements by month (metrics.md §5): a dense month grid per account from its first
    ``mrr`` row to the as-of month (0 without a row); pays = stored MRR > 0; movements
    against the account's previous month: new (pays, never paid before), reactivation
    (pays again after a month at 0), churned (first month at 0: the whole previous MRR),
    expansion / contraction (pays in both months). The first month of data is the opening
    balance: no movement. The mrr table has no currency column: amounts are in the
    reporting currency."""
    last = f"DATE {lit(as_of.replace(day=1).isoformat())}"
    cols = {
        "new_mrr": ("mrr", "pays AND NOT paid_prev AND NOT paid_before"),
        "reactivation_mrr": ("mrr", "pays AND NOT paid_prev AND paid_before"),
        "churned_mrr": ("prev_mrr", "NOT pays AND paid_prev"),
        "expansion_mrr": ("mrr - prev_mrr", "pays AND paid_prev AND mrr > prev_mrr"),
        "contraction_mrr": ("prev_mrr - mrr", "pays AND paid_prev AND mrr < prev_mrr"),
    }
    select = ",\n  ".join(
        f"coalesce(sum({cols[k][0]}) FILTER (WHERE {cols[k][1]}), 0) AS {k},\n  "
        f"count(*) FILTER (WHERE {cols[k][1]}) AS {k}_n" for k in which)
    return f"""
WITH src AS (
  SELECT {text('account_id')} AS account, CAST(date_trunc('month', month) AS DATE) AS month,
    sum(CAST(mrr AS DOUBLE)) AS mrr
  FROM mrr
  WHERE date_trunc('month', month) <= {last}
  GROUP BY ALL
  HAVING account IS NOT NULL
), firsts AS (
  SELECT account, min(month) AS first FROM src GROUP BY account
), grid AS (
  SELECT f.account, CAST(m.month AS DATE) AS month
  FROM firsts f, generate_series(f.first, {last}, INTERVAL 1 MONTH) AS m(month)
), g AS (
  SELECT grid.account, grid.month, coalesce(src.mrr, 0) AS mrr, coalesce(src.mrr, 0) > 0 AS pays
  FROM grid LEFT JOIN src ON src.account = grid.account AND src.month = grid.month
), w AS (
  SELECT month, pays, mrr,
    coalesce(lag(mrr) OVER acct, 0) AS prev_mrr,
    coalesce(lag(pays) OVER acct, false) AS paid_prev,
    coalesce(bool_or(pays) OVER (acct ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
             false) AS paid_before
  FROM g
  WINDOW acct AS (PARTITION BY account ORDER BY month)
)
SELECT month,
  {select}
FROM w
WHERE month > (SELECT min(month) FROM src)
GROUP BY month
ORDER BY month
"""  # noqa: S608  (literals only: the month goes through sql_literal)


def cost_per_mql_sql(settings: Any, as_of: dt.date) -> str:
    """cost_per_mql by channel × quarter, period basis, cumulative rule (metrics.md §3 cost
    per stage, data-contract.md "Reached a stage").

    Denominator: contacts created by the as-of date that reached mql by then — the first mql
    entry, else the earliest first entry of a later stage — counted in the quarter of that
    date, by first-touch channel (the stored one, else the workspace's channel rules over the
    UTMs when utm_source or utm_medium is set, else over source / source detail).
    Numerator: marketing cost dated in the quarter = costs rows of team marketing (an empty
    team counts as marketing; every category) + ad_performance spend in the reporting
    currency (channel: the campaign's, else the platform's default), where a costs row of
    category ad_spend for a month and channel the ad platforms report is left out.
    """
    from funnelboard.channels import default_channel_settings, parse_channel_settings

    stages = list(settings.stages)
    if "mql" not in stages:
        raise SystemExit("cost_per_mql needs the funnel stage 'mql'.")
    k = stages.index("mql")
    rules = parse_channel_settings(settings.channels or default_channel_settings())
    day = f"DATE {lit(as_of.isoformat())}"
    fs = settings.fiscal_year_start_month
    reporting = lit(settings.reporting_currency)
    utm = f"({text('utm_source')} IS NOT NULL OR {text('utm_medium')} IS NOT NULL)"
    derived = rules.sql_case(f"CASE WHEN {utm} THEN utm_source ELSE source END",
                             f"CASE WHEN {utm} THEN utm_medium END",
                             f"CASE WHEN {utm} THEN utm_campaign ELSE source_detail END")
    firsts = ",\n    ".join(f"min(entered_at) FILTER (WHERE stage = {lit(s)}) AS e_{i}"
                            for i, s in enumerate(stages))
    later = [f"e.e_{j}" for j in range(k + 1, len(stages))]
    reached = f"e.e_{k}" if not later else (
        f"coalesce(e.e_{k}, {later[0] if len(later) == 1 else 'least(' + ', '.join(later) + ')'})")
    platform = " ".join(f"WHEN {lit(p)} THEN {lit(c)}" for p, c in PLATFORM_CHANNELS.items())
    mql_period = period_sql(f"CAST({reached} AS DATE)", "quarter", fs)
    return f"""
WITH firsts AS (
  SELECT contact_id,
    {firsts}
  FROM stage_events
  WHERE stage IN ({', '.join(lit(s) for s in stages)}) AND CAST(entered_at AS DATE) <= {day}
  GROUP BY contact_id
), c AS (
  SELECT contact_id, coalesce({text('channel')}, {derived}) AS channel
  FROM contacts
  WHERE CAST(created_at AS DATE) <= {day}
), mqls AS (
  SELECT {mql_period} AS period, c.channel, count(*) AS mqls
  FROM c JOIN firsts e ON e.contact_id = c.contact_id
  WHERE {reached} IS NOT NULL AND CAST({reached} AS DATE) <= {day}
  GROUP BY ALL
), fx AS (
  SELECT upper(trim(currency)) AS currency, date, CAST(rate_to_reporting AS DOUBLE) AS rate
  FROM fx_rates
), ad AS (
  SELECT a.date, coalesce(upper({text('a.currency')}), {reporting}) AS currency,
    CAST(a.spend AS DOUBLE) AS spend,
    coalesce({text('k.channel')},
             CASE lower(trim(CAST(a.platform AS VARCHAR))) {platform} END) AS channel
  FROM ad_performance a
  LEFT JOIN campaigns k ON {text('k.campaign_id')} = {text('a.campaign_id')}
  WHERE a.date <= {day}
), ads AS (
  SELECT ad.date AS day, CAST(date_trunc('month', ad.date) AS DATE) AS month, ad.channel,
    CASE WHEN ad.currency = {reporting} THEN ad.spend ELSE ad.spend * fx.rate END AS amount
  FROM ad ASOF LEFT JOIN fx ON fx.currency = ad.currency AND ad.date >= fx.date
), booked AS (
  SELECT month AS day, CAST(date_trunc('month', month) AS DATE) AS month,
    {text('channel')} AS channel, lower({text('category')}) AS category,
    CAST(amount AS DOUBLE) AS amount
  FROM costs
  WHERE month <= {day} AND coalesce(lower({text('team')}), 'marketing') = 'marketing'
), spend AS (
  SELECT day, channel, amount FROM booked b
  WHERE NOT coalesce(b.category = 'ad_spend' AND EXISTS (
    SELECT 1 FROM ads WHERE ads.month = b.month AND ads.channel = b.channel), false)
  UNION ALL
  SELECT day, channel, amount FROM ads
), cost AS (
  SELECT {period_sql('day', 'quarter', fs)} AS period, channel, sum(amount) AS cost
  FROM spend GROUP BY ALL
)
SELECT coalesce(cost.period, mqls.period) AS period, coalesce(cost.channel, mqls.channel)
  AS channel, coalesce(cost.cost, 0) AS cost, coalesce(mqls.mqls, 0) AS mqls
FROM cost FULL OUTER JOIN mqls
  ON mqls.period = cost.period AND mqls.channel IS NOT DISTINCT FROM cost.channel
ORDER BY ALL
"""  # noqa: S608  (literals only: dates, stages, channels and rule values via sql_literal)


# -- (b) the two answers as comparable cells ---------------------------------------------------

Cells = dict[str, dict[str, float | None]]


def _day(value: Any) -> str:
    return (value.date() if isinstance(value, dt.datetime) else value).isoformat()


def engine_cells(name: str, results: list[Any]) -> Cells:
    """period[/channel|/movement] → the numbers the SQL gives too."""
    cells: Cells = {}
    if name == "win_rate":
        for r in results[0].rows:
            ex = r["extra"]
            cells[_day(r["period"])] = {"value": r["value"], "won": ex.get("won", 0),
                                        "lost": ex.get("lost", 0),
                                        "no_decision": ex.get("no_decision", 0)}
    elif name == "mrr_movements":
        for key, res in zip(MOVEMENTS, results, strict=True):
            for r in res.rows:
                cells[f"{_day(r['period'])}/{key}"] = {"value": r["value"], "n": r["n"]}
    else:
        for r in results[0].rows:
            cells[f"{_day(r['period'])}/{r.get('channel')}"] = {
                "value": r["value"], "cost": r["numerator"], "mqls": r["denominator"]}
    return cells


def sql_cells(name: str, rows: list[tuple[Any, ...]]) -> Cells:
    cells: Cells = {}
    if name == "win_rate":
        for period, won, lost, nd in rows:
            cells[_day(period)] = {"value": won / (won + lost) if won + lost else None,
                                   "won": won, "lost": lost, "no_decision": nd}
    elif name == "mrr_movements":
        for month, *values in rows:
            for i, key in enumerate(MOVEMENTS):
                cells[f"{_day(month)}/{key}"] = {"value": values[2 * i],
                                                 "n": values[2 * i + 1]}
    else:
        for period, channel, cost, mqls in rows:
            cells[f"{_day(period)}/{channel}"] = {"value": cost / mqls if mqls else None,
                                                  "cost": cost, "mqls": mqls}
    return cells


def _empty(cell: dict[str, float | None]) -> bool:
    return all(v is None or v == 0 for v in cell.values())


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return (a is None or a == 0) and (b is None or b == 0) if a != b else True
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


def compare_cells(engine: Cells, sql: Cells) -> list[str]:
    """Cells that differ (a cell missing on one side must be empty on the other: the
    engine fills the period grid with empty cells, the SQL returns only what has data)."""
    diffs = []
    for key in sorted(set(engine) | set(sql)):
        e, s = engine.get(key), sql.get(key)
        if e is None or s is None:
            present = e if e is not None else s
            if present is not None and not _empty(present):
                side = "engine" if s is None else "SQL"
                diffs.append(f"{key}: only the {side} has {present}")
            continue
        bad = {f: (e.get(f), s.get(f)) for f in s if not _same(e.get(f), s.get(f))}
        if bad:
            diffs.append(f"{key}: " + ", ".join(f"{f} engine {a!r} vs SQL {b!r}"
                                                for f, (a, b) in bad.items()))
    return diffs


# -- (b) one metric: cross-check, then timing ----------------------------------------------------

def child_compare(ws_dir: str, name: str, repeat: int, out_dir: str) -> dict[str, Any]:
    from funnelboard.workspace import Workspace

    ws = Workspace.open(ws_dir)
    con = ws.connection()
    zone = ws.settings.timezone
    as_of = AS_OF.isoformat()
    timer = EngineTimer(ws)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    def engine_call() -> list[Any]:
        if name == "win_rate":
            return [ws.metric("win_rate", grain="quarter", as_of=as_of)]
        if name == "mrr_movements":
            return [ws.metric(k, grain="month", as_of=as_of) for k in MOVEMENTS]
        return [ws.metric("cost_per_mql", grain="quarter", by=["channel"], as_of=as_of)]

    if name == "win_rate":
        sqls = [win_rate_sql(ws.settings, AS_OF)]
    elif name == "mrr_movements":
        sqls = [mrr_sql(ws.settings, AS_OF, (k,)) for k in MOVEMENTS]
    else:
        sqls = [cost_per_mql_sql(ws.settings, AS_OF)]
    combined = mrr_sql(ws.settings, AS_OF) if name == "mrr_movements" else None
    (out / f"{name}-sql.sql").write_text(
        "\n;\n".join(sqls) + (f"\n;\n-- all five in one query\n{combined}" if combined else ""),
        encoding="utf-8")

    def run_sql(queries: list[str]) -> list[list[tuple[Any, ...]]]:
        con.execute(f"SET TimeZone = '{zone}'")
        return [con.execute(q).fetchall() for q in queries]

    kinds: dict[str, Callable[[], Any]] = {"engine": engine_call, "sql": lambda: run_sql(sqls)}
    if combined:
        kinds["sql_one"] = lambda: run_sql([combined])
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    answers: dict[str, Any] = {}

    def measure(kind: str, warmup: bool) -> None:
        timer.reset()
        reset_peak()
        c0, w0 = cpu(), time.perf_counter()
        answer = kinds[kind]()
        seconds = time.perf_counter() - w0
        run = {"seconds": seconds, "cpu_seconds": cpu() - c0, "peak_rss_mb": peak_rss_mb(),
               "warmup": warmup, "load_avg": load_avg()}
        if kind == "engine":
            run.update(timer.split(seconds))
            run["query_seconds"] = [round(q[2], 4) for q in timer.sql]
        runs[kind].append(run)
        answers.setdefault(kind, answer)

    for kind in kinds:  # warm-ups, which also give the answers to compare
        measure(kind, True)
    engine = engine_cells(name, answers["engine"])
    if name == "mrr_movements":
        # five one-movement queries → one row per month with every movement
        by_month: dict[Any, list[Any]] = {}
        for i, rows in enumerate(answers["sql"]):
            for month, value, n in rows:
                by_month.setdefault(month, [0, 0] * len(MOVEMENTS))[2 * i:2 * i + 2] = \
                    [value, n]
        sql = sql_cells(name, [(m, *v) for m, v in sorted(by_month.items())])
        one = sql_cells(name, answers["sql_one"][0])
        diffs = compare_cells(engine, sql) + [f"(one query) {d}" for d in
                                              compare_cells(sql, one)]
    else:
        sql = sql_cells(name, answers["sql"][0])
        diffs = compare_cells(engine, sql)
    for _ in range(repeat):
        for kind in kinds:
            measure(kind, False)
    # where the engine's time goes: compiled SQL per query, one cProfile, EXPLAIN ANALYZE
    timer.reset()
    prof = cProfile.Profile()
    w0 = time.perf_counter()
    prof.enable()
    engine_call()
    prof.disable()
    profiled = time.perf_counter() - w0
    stream = io.StringIO()
    pstats.Stats(prof, stream=stream).sort_stats("cumulative").print_stats(40)
    (out / f"{name}-engine-cprofile.txt").write_text(stream.getvalue(), encoding="utf-8")
    lines = []
    for i, (q, comp, exe) in enumerate(timer.sql, 1):
        lines.append(f"-- query {i}: compile {comp:.3f} s, compile + execute {exe:.3f} s\n{q}\n")
    (out / f"{name}-engine-queries.sql").write_text("\n".join(lines), encoding="utf-8")
    slowest = max(timer.sql, key=lambda q: q[2] - q[1]) if timer.sql else None
    if slowest and slowest[0]:
        con.execute(f"SET TimeZone = '{zone}'")
        plan = con.execute("EXPLAIN ANALYZE " + slowest[0]).fetchall()
        (out / f"{name}-engine-slowest-explain.txt").write_text(
            slowest[0] + "\n\n" + "\n".join(str(p[-1]) for p in plan), encoding="utf-8")
    con.execute(f"SET TimeZone = '{zone}'")
    plan = con.execute("EXPLAIN ANALYZE " + (combined or sqls[0])).fetchall()
    (out / f"{name}-sql-explain.txt").write_text("\n".join(str(p[-1]) for p in plan),
                                                 encoding="utf-8")
    notes = sorted({n for res in answers["engine"] for n in res.notes})
    ws.close()
    return {"name": name, "runs": runs, "diffs": diffs, "cells": len(sql),
            "engine_cells": len(engine), "notes": notes,
            "profiled_seconds": profiled,
            "queries": [{"compile": round(c, 4), "execute": round(e - c, 4),
                         "head": " ".join(q.split())[:120]} for q, c, e in timer.sql]}


# -- parent ------------------------------------------------------------------------------------

def run_child(kind: str, *args: str) -> dict[str, Any]:
    """``kind`` in a fresh interpreter; its stderr (progress) goes to ours."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", kind,
                           *args], stdout=subprocess.PIPE, text=True, env=env, check=False)
    found = re.findall(r"BENCH_JSON (\{.*\})", proc.stdout)
    if proc.returncode != 0 or not found:
        return {"error": f"child {kind} exited with {proc.returncode}: {proc.stdout[-3000:]}"}
    out: dict[str, Any] = json.loads(found[-1])
    out["process_seconds"] = time.perf_counter() - t0
    return out


def summarise_catalogue(res: dict[str, Any]) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in res["metrics"]:
        groups.setdefault(r["group"], []).append(r)
    table = []
    for group, rows in groups.items():
        slow = sorted(rows, key=lambda r: -r["seconds"])[:3]
        table.append({
            "group": group, "metrics": len(rows),
            "seconds": round(sum(r["seconds"] for r in rows), 2),
            "cpu_seconds": round(sum(r["cpu_seconds"] for r in rows), 2),
            "queries": sum(r.get("queries", 0) for r in rows),
            "compile_seconds": round(sum(r.get("compile_seconds", 0) for r in rows), 2),
            "slowest": [[r["key"], round(r["seconds"], 2)] for r in slow],
            "errors": sum(1 for r in rows if "error" in r)})
    table.sort(key=lambda g: -g["seconds"])
    ms = res["metrics"]
    return {
        "groups": table, "metrics": len(ms),
        "seconds": round(res["total_seconds"], 1),
        "cpu_seconds": round(res["total_cpu_seconds"], 1),
        "queries": sum(r.get("queries", 0) for r in ms),
        "compile_seconds": round(sum(r.get("compile_seconds", 0) for r in ms), 1),
        "execute_seconds": round(sum(r.get("execute_seconds", 0) for r in ms), 1),
        "python_seconds": round(sum(r.get("python_seconds", 0) for r in ms), 1),
        "open_seconds": round(res["open_seconds"], 2),
        "peak_rss_mb": round(res["peak_rss_mb"]),
        "load": [res["load_start"], res["load_end"]],
        "errors": [{"key": r["key"], "error": r["error"][:300]} for r in ms if "error" in r],
        "with_by": [{"key": r["key"], "by": r["options"].get("by")} for r in ms
                    if r.get("options")],
        "per_metric": [[r["key"], r["group"], round(r["seconds"], 2), r.get("queries", 0),
                        round(r.get("compile_seconds", 0), 2)] for r in ms],
    }


def summarise_compare(res: dict[str, Any]) -> dict[str, Any]:
    def best(kind: str) -> dict[str, Any]:
        timed = [r for r in res["runs"].get(kind, []) if not r["warmup"]]
        return min(timed, key=lambda r: r["seconds"]) if timed else {}

    def warm(kind: str) -> float:
        return next(r["seconds"] for r in res["runs"][kind] if r["warmup"])

    def peak(kind: str) -> int:
        return round(max(r["peak_rss_mb"] for r in res["runs"][kind]))

    e, s = best("engine"), best("sql")
    out = {
        "name": res["name"], "engine_seconds": round(e["seconds"], 3),
        "engine_cpu_seconds": round(e["cpu_seconds"], 3),
        "sql_seconds": round(s["seconds"], 3), "sql_cpu_seconds": round(s["cpu_seconds"], 3),
        "ratio": round(e["seconds"] / s["seconds"], 2),
        "engine_warmup": round(warm("engine"), 3), "sql_warmup": round(warm("sql"), 3),
        "queries": e["queries"], "compile_seconds": round(e["compile_seconds"], 3),
        "execute_seconds": round(e["execute_seconds"], 3),
        "python_seconds": round(e["python_seconds"], 3),
        "engine_peak_rss_mb": peak("engine"), "sql_peak_rss_mb": peak("sql"),
        "load": max(r["load_avg"] for rs in res["runs"].values() for r in rs),
        "cells": res["cells"], "diffs": res["diffs"][:20], "n_diffs": len(res["diffs"]),
        "notes": res["notes"], "queries_detail": res["queries"],
        "timed_runs": sum(1 for r in res["runs"]["engine"] if not r["warmup"]),
    }
    if "sql_one" in res["runs"]:
        one = best("sql_one")
        out["sql_one_seconds"] = round(one["seconds"], 3)
        out["ratio_one"] = round(e["seconds"] / one["seconds"], 2)
    return out


def print_results(size: dict[str, Any], info: dict[str, str]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(150, Console().width))
    b = size.get("build", {})
    if b:
        console.print(f"demo build, {size['contacts']:,} contacts: {b['seconds']:.1f} s "
                      f"(generate {b['phases']['generate']:.1f} s, import "
                      f"{b['phases']['import']:.1f} s), peak RSS {b['peak_rss_mb']:,.0f} MB"
                      + (" [cached]" if b.get("cached") else ""))
    cat = size.get("catalogue")
    if cat:
        t = Table(title=f"Full catalogue — {cat['metrics']} metrics, {size['contacts']:,} "
                        f"contacts, grain quarter, as of {AS_OF} — {info['cpu']}, "
                        f"{info['cores']} cores")
        for col in ("group", "metrics", "seconds", "CPU s", "queries", "compile s",
                    "slowest three (s)", "errors"):
            t.add_column(col, justify="left" if col in ("group", "slowest three (s)")
                         else "right")
        for g in cat["groups"]:
            t.add_row(g["group"], str(g["metrics"]), f"{g['seconds']:.2f}",
                      f"{g['cpu_seconds']:.1f}", str(g["queries"]),
                      f"{g['compile_seconds']:.2f}",
                      ", ".join(f"{k} {s:.2f}" for k, s in g["slowest"]),
                      f"[red]{g['errors']}[/]" if g["errors"] else "0")
        t.add_row("total", str(cat["metrics"]), f"{cat['seconds']:.1f}",
                  f"{cat['cpu_seconds']:.1f}", str(cat["queries"]),
                  f"{cat['compile_seconds']:.1f}", "", str(len(cat["errors"])))
        console.print(t)
        console.print(f"peak RSS {cat['peak_rss_mb']:,} MB; load {cat['load'][0]} → "
                      f"{cat['load'][1]}; engine time: {cat['compile_seconds']} s Ibis "
                      f"compile, {cat['execute_seconds']} s DuckDB, {cat['python_seconds']} s "
                      "other Python")
        for err in cat["errors"]:
            console.print(f"[red]error[/] {err['key']}: {err['error']}")
    cmp_rows = size.get("compare", {})
    if cmp_rows:
        t = Table(title="Engine vs hand-written DuckDB SQL (same process, same connection; "
                        "best of the timed rounds)")
        for col in ("metric", "engine s", "SQL s", f"ratio (≤{RATIO_TARGET}×)", "queries",
                    "compile s", "DuckDB s", "other s", "RSS MB engine / SQL", "cross-check",
                    "load"):
            t.add_column(col, justify="left" if col in ("metric", "cross-check") else "right")
        for name in COMPARED:
            c = cmp_rows.get(name)
            if not c:
                continue
            ok = c["ratio"] <= RATIO_TARGET
            extra = f" (1 query: {c['sql_one_seconds']:.3f})" if "sql_one_seconds" in c else ""
            t.add_row(LABELS[name], f"{c['engine_seconds']:.3f}",
                      f"{c['sql_seconds']:.3f}{extra}",
                      f"[{'green' if ok else 'red'}]{c['ratio']:.2f}×[/]", str(c["queries"]),
                      f"{c['compile_seconds']:.3f}", f"{c['execute_seconds']:.3f}",
                      f"{c['python_seconds']:.3f}",
                      f"{c['engine_peak_rss_mb']:,} / {c['sql_peak_rss_mb']:,}",
                      f"{c['cells']} cells equal" if not c["n_diffs"]
                      else f"[red]{c['n_diffs']} differ[/]", f"{c['load']:.1f}")
        console.print(t)
        for name in COMPARED:
            for d in cmp_rows.get(name, {}).get("diffs", []):
                console.print(f"[red]differs[/] {name}: {d}")


# -- docs --------------------------------------------------------------------------------------

DOC_INTRO = """## Metric catalogue and three metrics vs DuckDB SQL (`bench_catalogue.py`)

```sh
python bench/bench_catalogue.py                    # what `make bench` runs: 1M demo contacts
python bench/bench_catalogue.py --contacts 20000   # quick run
```

The demo company (`funnelboard.services.build_demo`, every canonical table through the real
import path, data up to 2025-06-30) is built once per size and cached as
`$TMPDIR/funnelboard-bench/catalogue-demo-<contacts>-seed<seed>-<end>-<generator hash>/`.
**(a)** Every metric `all_metrics(settings)` lists is computed once with
`ws.metric(key, grain="quarter", as_of="2025-06-30")` over its whole history (a metric that
refuses to run without a breakdown gets the `--by` of its example in
`funnelboard.metrics.examples`), in one fresh subprocess; times are per group (sum, slowest
three) with the engine's time split into Ibis compilation, DuckDB execution and other Python.
**(b)** Three metrics run side by side with hand-written DuckDB SQL in one fresh subprocess
per metric, on the same connection (`SET TimeZone` first): `win_rate` by quarter; the MRR
movements by month (five `ws.metric` calls against five SQL queries, and a single query giving
all five); `cost_per_mql` by channel × quarter (period basis). The SQL is written from
metrics.md and data-contract.md; both answers are compared cell by cell before anything is
timed. Each side gets a warm-up, then three interleaved rounds; the best is reported. Target:
engine ≤ 1.5× the SQL. Peak RSS is per implementation (`VmHWM`, reset before each run). The
engine's compiled SQL, a cProfile of one call and EXPLAIN ANALYZE outputs are
written to `$TMPDIR/funnelboard-bench/catalogue-profile-<contacts>/`.
"""


def render_docs(data: dict[str, Any], analysis: str) -> str:
    info = data["machine"]
    lines = [START, "", DOC_INTRO.rstrip(), ""]
    for key in sorted(data["results"], key=int):
        size = data["results"][key]
        n = int(key)
        lines += [f"### {n:,} demo contacts", ""]
        m = size.get("machine", info)
        lines += [f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['ram']} RAM, "
                  f"{m['os']}, Python {m['python']}, DuckDB {m['duckdb']}. Other engineers "
                  "were running tests on the same machine: the load average is given with each "
                  "measurement.", ""]
        b = size.get("build")
        if b:
            tables = b.get("tables", {})
            big = sorted(tables.items(), key=lambda kv: -kv[1])[:6]
            lines += [f"**Demo build**: {b['seconds']:.1f} s wall, {b['cpu_seconds']:.1f} s CPU "
                      f"(generate {b['phases']['generate']:.1f} s, import of "
                      f"{len(tables)} tables {b['phases']['import']:.1f} s; slowest imports "
                      + ", ".join(f"{t} {s:.1f} s" for t, s in b["phases"]["slowest_imports"])
                      + f"), peak RSS {b['peak_rss_mb']:,.0f} MB, load {b['load_avg']:.1f}. "
                      "Largest tables: " + ", ".join(f"{t} {c:,}" for t, c in big) + ".", ""]
        cat = size.get("catalogue")
        if cat:
            lines += [f"**(a) Full catalogue**: {cat['metrics']} metrics in "
                      f"{cat['seconds']:.1f} s ({cat['cpu_seconds']:.1f} s CPU; load "
                      f"{cat['load'][0]} at the start, {cat['load'][1]} at the end), peak RSS "
                      f"{cat['peak_rss_mb']:,} MB. Of the engine's time, {cat['compile_seconds']} "
                      f"s is Ibis compiling {cat['queries']} queries, {cat['execute_seconds']} s "
                      f"DuckDB running them and {cat['python_seconds']} s other Python. "
                      + (f"Errors: {len(cat['errors'])}." if cat["errors"]
                         else "No metric failed.")
                      + (" Run with their example's breakdown: " + ", ".join(
                          f"`{w['key']}` (--by {' '.join(w['by'] or [])})"
                          for w in cat.get("with_by", [])) + "." if cat.get("with_by")
                         else ""), "",
                      "| group | metrics | seconds | CPU s | queries | compile s | slowest three "
                      "(s) | errors |", "|---|--:|--:|--:|--:|--:|---|--:|"]
            for g in cat["groups"]:
                lines.append(f"| {g['group']} | {g['metrics']} | {g['seconds']:.2f} | "
                             f"{g['cpu_seconds']:.1f} | {g['queries']} | "
                             f"{g['compile_seconds']:.2f} | "
                             + ", ".join(f"`{k}` {s:.2f}" for k, s in g["slowest"])
                             + f" | {g['errors']} |")
            lines.append(f"| **total** | {cat['metrics']} | **{cat['seconds']:.1f}** | "
                         f"{cat['cpu_seconds']:.1f} | {cat['queries']} | "
                         f"{cat['compile_seconds']:.1f} | | {len(cat['errors'])} |")
            lines.append("")
            for err in cat["errors"]:
                lines.append(f"* error: `{err['key']}`: {err['error']}")
            if cat["errors"]:
                lines.append("")
            lines += ["<details><summary>Every metric (seconds, queries, compile seconds)"
                      "</summary>", "", "| metric | group | s | queries | compile s |",
                      "|---|---|--:|--:|--:|"]
            lines += [f"| `{k}` | {g} | {s:.2f} | {q} | {c:.2f} |"
                      for k, g, s, q, c in sorted(cat["per_metric"], key=lambda r: -r[2])]
            lines += ["", "</details>", ""]
        cmp_rows = size.get("compare")
        if cmp_rows:
            runs = min((c.get("timed_runs", 3) for c in cmp_rows.values()), default=3)
            lines += [f"**(b) Engine vs hand-written DuckDB SQL** (best of {runs} after a "
                      "warm-up; the engine's time split into Ibis compile, DuckDB execution "
                      "incl. the arrow fetch, and other Python):", "",
                      "| metric | engine s | SQL s | ratio (≤ 1.5×) | met | warm-up s engine / "
                      "SQL | queries | compile s | DuckDB s | other s | peak RSS MB engine / "
                      "SQL | cross-check | load |",
                      "|---|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|---|--:|"]
            for name in COMPARED:
                c = cmp_rows.get(name)
                if not c:
                    continue
                sql = f"{c['sql_seconds']:.3f}"
                if "sql_one_seconds" in c:
                    sql += f" (one query: {c['sql_one_seconds']:.3f}, {c['ratio_one']:.2f}×)"
                check = (f"{c['cells']} cells equal" if not c["n_diffs"]
                         else f"**{c['n_diffs']} cells differ**")
                lines.append(
                    f"| {LABELS[name]} | {c['engine_seconds']:.3f} | {sql} | "
                    f"{c['ratio']:.2f}× | {'yes' if c['ratio'] <= RATIO_TARGET else '**no**'} | "
                    f"{c['engine_warmup']:.2f} / {c['sql_warmup']:.2f} | {c['queries']} | "
                    f"{c['compile_seconds']:.3f} | {c['execute_seconds']:.3f} | "
                    f"{c['python_seconds']:.3f} | {c['engine_peak_rss_mb']:,} / "
                    f"{c['sql_peak_rss_mb']:,} | {check} | {c['load']:.1f} |")
            lines.append("")
            for name in COMPARED:
                for d in cmp_rows.get(name, {}).get("diffs", []):
                    lines.append(f"* {name} differs: {d}")
    if analysis:
        lines += [analysis.strip(), ""]
    lines += [f"<!-- bench:catalogue-data {json.dumps(data, default=str)} -->", "", END]
    return "\n".join(lines)


def update_docs(path: Path, contacts: int, size: dict[str, Any], info: dict[str, str]) -> None:
    text_ = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    data: dict[str, Any] = {"machine": info, "results": {}}
    analysis = ""
    if START in text_ and END in text_:
        block = text_.split(START, 1)[1].split(END, 1)[0]
        m = DATA.search(block)
        if m:
            prev = json.loads(m.group(1))
            if prev.get("machine", {}).get("cpu") == info["cpu"]:
                data["results"] = prev.get("results", {})
        # a hand-written analysis between the marker below and the data line is kept
        if "<!-- bench:catalogue:analysis -->" in block:
            analysis = "<!-- bench:catalogue:analysis -->" + block.split(
                "<!-- bench:catalogue:analysis -->", 1)[1].split("<!-- bench:catalogue-data",
                                                                 1)[0]
    old = data["results"].get(str(contacts), {})
    size = {**size, "compare": {name: {k: v for k, v in c.items() if k != "queries_detail"}
                                for name, c in size.get("compare", {}).items()}} \
        if "compare" in size else size
    data["results"][str(contacts)] = {**old, **size, "machine": info}
    body = render_docs(data, analysis)
    if START in text_ and END in text_:
        head, rest = text_.split(START, 1)
        text_ = head + body + rest.split(END, 1)[1]
    else:
        text_ = text_.rstrip() + "\n\n" + body + "\n"
    path.write_text(text_, encoding="utf-8")
    print(f"updated {path}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        kind, args = argv[1], argv[2:]
        if kind == "build":
            res = child_build(*args)
        elif kind == "catalogue":
            res = child_catalogue(*args)
        else:
            res = child_compare(args[0], kind, int(args[1]), args[2])
        print("BENCH_JSON", json.dumps(res, default=str))
        return 0
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--part", choices=("all", "catalogue", "compare"), default="all")
    ap.add_argument("--cache-dir", type=Path,
                    default=Path(tempfile.gettempdir()) / "funnelboard-bench")
    ap.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args(argv)
    info = machine()
    ws_dir, build = ensure_demo(args.cache_dir, args.contacts, args.seed)
    size: dict[str, Any] = {"contacts": args.contacts, "build": build}
    failed = False
    if args.part in ("all", "catalogue"):
        print(f"(a) full catalogue on {args.contacts:,} contacts ...", flush=True)
        res = run_child("catalogue", str(ws_dir))
        if "error" in res:
            raise SystemExit(res["error"])
        size["catalogue"] = summarise_catalogue(res)
        failed |= bool(size["catalogue"]["errors"])
    if args.part in ("all", "compare"):
        size["compare"] = {}
        profile = args.cache_dir / f"catalogue-profile-{args.contacts}"
        for name in COMPARED:
            print(f"(b) {name}: engine vs SQL ...", flush=True)
            res = run_child(name, str(ws_dir), str(args.repeat), str(profile))
            if "error" in res:
                raise SystemExit(res["error"])
            c = size["compare"][name] = summarise_compare(res)
            print(f"  engine {c['engine_seconds']:.3f} s, SQL {c['sql_seconds']:.3f} s, ratio "
                  f"{c['ratio']:.2f}×; cross-check: "
                  + (f"{c['cells']} cells equal" if not c["n_diffs"]
                     else f"{c['n_diffs']} cells differ"), flush=True)
            failed |= bool(c["n_diffs"])
        print(f"profiles, compiled SQL and EXPLAIN ANALYZE: {profile}")
    print_results(size, info)
    saved = args.cache_dir / f"catalogue-results-{args.contacts}.json"
    saved.write_text(json.dumps({"machine": info, **size}, indent=1, default=str),
                     encoding="utf-8")
    print(f"results: {saved}")
    if not args.no_docs:
        update_docs(args.docs, args.contacts, size, info)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
