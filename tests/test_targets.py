"""Targets, attainment, pacing, projection and status (issue 5, items 1 and 2; metrics.md §7)
on tiny hand-counted datasets. Every expected number is derived in the test's docstring.

SESSIONS (web_traffic, UTC workspace, calendar fiscal year), as of 2025-05-15:

    date        sessions  channel
    2025-01-15  100       organic_search
    2025-02-15  120       organic_search
    2025-03-15   80       paid_search
    2025-04-10  300       organic_search
    2025-05-10  150       paid_search
    2025-05-20  999       paid_search      (after the as-of date: ignored)

Months: Jan 100, Feb 120, Mar 80, Apr 300 (organic), May 150 to date (paid).
Quarters: Q1 300, Q2 450 to date.

TARGETS (imported from a CSV, as a user would):

    sessions  2025-04-01  quarter  1000                         okr
    sessions  2025-01-01  month     100                         plan
    sessions  2025-02-01  month     100                         plan
    sessions  2025-03-01  month     100                         plan
    sessions  2025-04-01  month     250  channel=organic_search plan
    sessions  2025-05-01  month     100  channel=organic_search plan
    sessions  2025-05-01  month     200  channel=paid_search    plan

Default thresholds: on track at a score ≥ 0.95, behind below 0.80, at risk between.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import WorkspaceFactory
from funnelboard import services
from funnelboard.cli.app import app
from funnelboard.errors import UsageError
from funnelboard.metrics.registry import resolve
from funnelboard.metrics.target_store import parse_period, parse_value
from funnelboard.metrics.targets import add_targets, linear_share, status_of
from funnelboard.settings import Settings
from funnelboard.workspace import Workspace

D = dt.date
runner = CliRunner()
WIDE = {"COLUMNS": "220"}
AS_OF = "2025-05-15"

SESSIONS = """\
date,sessions,channel
2025-01-15,100,organic_search
2025-02-15,120,organic_search
2025-03-15,80,paid_search
2025-04-10,300,organic_search
2025-05-10,150,paid_search
2025-05-20,999,paid_search
"""

TARGETS = """\
metric,period_start,grain,target,dimension,dimension_value,kind
sessions,2025-04-01,quarter,1000,,,okr
sessions,2025-01-01,month,100,,,plan
sessions,2025-02-01,month,100,,,plan
sessions,2025-03-01,month,100,,,plan
sessions,2025-04-01,month,250,channel,organic_search,plan
sessions,2025-05-01,month,100,channel,organic_search,plan
sessions,2025-05-01,month,200,channel,paid_search,plan
"""


def _load(ws: Workspace, tmp_path: Path, table: str, text: str, name: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = ws.import_file(table, path)
    assert result.status == "imported", [i.message for i in result.issues]


@pytest.fixture
def sessions_ws(make_ws: WorkspaceFactory, tmp_path: Path) -> Workspace:
    ws = make_ws()
    _load(ws, tmp_path, "web_traffic", SESSIONS, "web.csv")
    _load(ws, tmp_path, "targets", TARGETS, "targets.csv")
    return ws


def _rows(ws: Workspace, key: str = "sessions", **query: Any) -> list[dict[str, Any]]:
    query.setdefault("as_of", AS_OF)
    return ws.metric(key, with_target=True, **query).rows


def _by(rows: list[dict[str, Any]], *fields: str) -> dict[Any, dict[str, Any]]:
    return {tuple(r[f] for f in fields) if len(fields) > 1 else r[fields[0]]: r for r in rows}


def _set_toml(folder: Path, old: str, new: str) -> None:
    toml = folder / "funnelboard.toml"
    text = toml.read_text(encoding="utf-8")
    assert old in text
    toml.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def reopen() -> Iterator[Any]:
    """``reopen(ws, old, new)``: close ``ws``, edit its funnelboard.toml, open it again."""
    opened: list[Workspace] = []

    def make(ws: Workspace, old: str, new: str) -> Workspace:
        ws.close()
        _set_toml(ws.path, old, new)
        fresh = Workspace.open(ws.path)
        opened.append(fresh)
        return fresh

    yield make
    for ws in opened:
        ws.close()


def cli(folder: Path, *args: str, as_of: str = AS_OF) -> tuple[int, str, str]:
    result = runner.invoke(app, ["-w", str(folder), "--as-of", as_of, *args], env=WIDE)
    return result.exit_code, result.stdout, result.stderr


# -- pacing, projection and status on the sessions data ------------------------------------------


def test_linear_pacing_in_the_middle_of_a_quarter(sessions_ws: Workspace) -> None:
    """Q2 2025 (Apr 1 - Jun 30, 91 days) as of 2025-05-15: 30 + 15 = 45 days elapsed (the
    as-of day counts), so the linear elapsed share is 45/91.

    actual to date 450 (300 + 150; the 999 on May 20 is after the as-of date), target 1000:
    attainment 450/1000 = 0.45; target to date 1000 × 45/91 = 494.505…;
    pacing 450 ÷ 494.505… = 450 × 91 / 45000 = 0.91 → at risk (0.80 ≤ 0.91 < 0.95);
    projection 450 ÷ (45/91) = 910.

    Q1 is finished and has no quarter row, but three monthly targets of 100 cover it: target
    300, actual 100 + 120 + 80 = 300 → attainment = pacing = 1.0, projection = actual = 300,
    on track.
    """
    rows = _by(_rows(sessions_ws, grain="quarter"), "period")
    q2 = rows[D(2025, 4, 1)]
    assert q2["value"] == 450 and q2["target"] == 1000
    assert q2["attainment"] == pytest.approx(0.45)
    assert q2["pacing"] == pytest.approx(0.91)
    assert q2["projection"] == pytest.approx(910)
    assert q2["status"] == "at_risk"
    assert q2["extra"]["target"] == {
        "from": "quarter", "kind": "okr", "pacing_basis": "linear",
        "elapsed_share": pytest.approx(45 / 91), "expected_to_date": pytest.approx(494.505494505)}
    q1 = rows[D(2025, 1, 1)]
    assert (q1["value"], q1["target"], q1["attainment"], q1["pacing"], q1["projection"],
            q1["status"]) == (300, 300, 1.0, 1.0, 300, "on_track")
    assert q1["extra"]["target"]["from"] == "3 months"
    assert q1["extra"]["target"]["kind"] == "plan"
    notes = " ".join(sessions_ws.metric("sessions", grain="quarter", as_of=AS_OF,
                                        with_target=True).notes)
    assert "45 of its 91 days" in notes and "linearly" in notes


def test_linear_share_counts_the_as_of_day() -> None:
    """1 May as of 1 May: 1 of 31 days; the last day: the whole period."""
    assert linear_share(D(2025, 5, 1), D(2025, 5, 31), D(2025, 5, 1)) == 1 / 31
    assert linear_share(D(2025, 5, 1), D(2025, 5, 31), D(2025, 5, 31)) == 1.0


def test_monthly_totals_and_thresholds(sessions_ws: Workspace) -> None:
    """Total monthly targets (no breakdown): Jan 100/100 = 1.0 on track; Feb 120/100 = 1.2 on
    track; Mar 80/100 = 0.80 at risk (0.80 is not below 0.80); Apr and May have per-channel
    targets only, so the total has none: every target field None."""
    rows = _by(_rows(sessions_ws), "period")
    assert [(rows[D(2025, m, 1)]["attainment"], rows[D(2025, m, 1)]["status"])
            for m in (1, 2, 3)] == [(1.0, "on_track"), (1.2, "on_track"), (0.8, "at_risk")]
    for m in (4, 5):
        assert {k: rows[D(2025, m, 1)][k] for k in ("target", "attainment", "pacing",
                                                     "projection", "status")} == dict.fromkeys(
            ("target", "attainment", "pacing", "projection", "status"))


def test_per_channel_targets_with_a_breakdown(sessions_ws: Workspace) -> None:
    """By channel, month grain, as of 2025-05-15 (May: 15 of 31 days elapsed).

    Apr organic_search: 300 vs 250, finished → attainment = pacing = 1.2, projection 300, on
    track. Apr paid_search: no target → None.
    May paid_search: 150 to date vs 200: pacing 150 ÷ (200 × 15/31) = 4650/3000 = 1.55 (on
    track), projection 150 × 31/15 = 310, attainment 0.75.
    May organic_search: 0 vs 100 → attainment 0, pacing 0, projection 0, behind.
    Jan-Mar have total targets only, so the channel rows have none.
    """
    rows = _by(_rows(sessions_ws, by=["channel"]), "period", "channel")
    apr = rows[(D(2025, 4, 1), "organic_search")]
    assert (apr["target"], apr["attainment"], apr["pacing"], apr["projection"],
            apr["status"]) == (250, 1.2, 1.2, 300, "on_track")
    assert rows[(D(2025, 4, 1), "paid_search")]["target"] is None
    paid = rows[(D(2025, 5, 1), "paid_search")]
    assert paid["target"] == 200 and paid["attainment"] == 0.75
    assert paid["pacing"] == pytest.approx(1.55)
    assert paid["projection"] == pytest.approx(310)
    assert paid["status"] == "on_track"
    organic = rows[(D(2025, 5, 1), "organic_search")]
    assert (organic["attainment"], organic["pacing"], organic["projection"],
            organic["status"]) == (0, 0, 0, "behind")
    assert all(rows[(D(2025, m, 1), c)]["target"] is None
               for m in (1, 2, 3) for c in ("organic_search", "paid_search"))


def test_a_filter_on_one_dimension_uses_its_values_targets(sessions_ws: Workspace) -> None:
    """No breakdown, filter channel=paid_search: May's paid target 200 applies (pacing 1.55 as
    above). Filter on both channels: May's target is 200 + 100 = 300, actual 150 → pacing
    150 ÷ (300 × 15/31) = 4650/4500 = 1.0333…; April has only an organic target, so the pair
    has none (every filtered value needs a target)."""
    paid = _by(_rows(sessions_ws, filters={"channel": ["paid_search"]}), "period")
    assert paid[D(2025, 5, 1)]["target"] == 200
    assert paid[D(2025, 5, 1)]["pacing"] == pytest.approx(1.55)
    both = _by(_rows(sessions_ws, filters={"channel": ["paid_search", "organic_search"]}),
               "period")
    assert both[D(2025, 5, 1)]["target"] == 300
    assert both[D(2025, 5, 1)]["pacing"] == pytest.approx(4650 / 4500)
    assert both[D(2025, 4, 1)]["target"] is None


def test_shapes_without_a_target_say_why(sessions_ws: Workspace) -> None:
    """A week has no target; two breakdowns have none; a metric with no target row says how
    to set one. The fields are there, as None."""
    week = sessions_ws.metric("sessions", grain="week", as_of=AS_OF, with_target=True)
    assert week.rows and all(r["target"] is None and r["status"] is None for r in week.rows)
    assert any("a week has no target" in n for n in week.notes)
    two = sessions_ws.metric("sessions", by=["channel", "visitor_type"], as_of=AS_OF,
                             with_target=True)
    assert all(r["target"] is None for r in two.rows)
    assert any("one dimension" in n for n in two.notes)
    none = sessions_ws.metric("pageviews", as_of=AS_OF, with_target=True)
    assert any("funnelboard targets set pageviews" in n for n in none.notes)


def test_a_period_clipped_by_start_shows_only_its_target(sessions_ws: Workspace) -> None:
    """--start 2025-04-10 clips Q2: its actual misses April 1-9, so it keeps the target 1000
    but has no attainment, pacing, projection or status (and a note says why)."""
    res = sessions_ws.metric("sessions", grain="quarter", start="2025-04-10", as_of=AS_OF,
                             with_target=True)
    (q2,) = res.rows
    assert q2["target"] == 1000 and q2["attainment"] is None and q2["status"] is None
    assert any("--start" in n for n in res.notes)


# -- seasonal pacing -------------------------------------------------------------------------------

HISTORY = """\
date,sessions
2023-04-15,5
2023-05-05,20
2023-05-20,80
2024-05-08,30
2024-05-25,70
2025-05-03,60
"""


def test_seasonal_pacing_with_two_years_of_history(make_ws: WorkspaceFactory, tmp_path: Path,
                                                   reopen: Any) -> None:
    """May 2025 as of 2025-05-10, target 200, actual to date 60 (May 3).

    History by the same date (May 10) in earlier years:
      May 2024: 30 by May 10 of 100 (30 + 70)  → a year with data before it (2023): used
      May 2023: 20 by May 10 of 100 (20 + 80)  → data before it (2023-04-15): used
      May 2022: nothing                         → not used
    Pooled seasonal share = (30 + 20) / (100 + 100) = 0.25 (not an average of shares).

    Seasonal: target to date 200 × 0.25 = 50 → pacing 60/50 = 1.2 (on track); projection
    60 / 0.25 = 240; attainment 60/200 = 0.3.
    Linear (the default setting), for contrast: 10/31 of May → pacing 60 ÷ (200 × 10/31) =
    1860/2000 = 0.93 (at risk), projection 60 × 31/10 = 186.
    """
    ws = make_ws()
    _load(ws, tmp_path, "web_traffic", HISTORY, "web.csv")
    _load(ws, tmp_path, "targets",
          "metric,period_start,grain,target\nsessions,2025-05-01,month,200\n", "t.csv")
    may = D(2025, 5, 1)
    linear = _by(_rows(ws, as_of="2025-05-10", start="2025-05-01"), "period")[may]
    assert linear["pacing"] == pytest.approx(0.93)
    assert linear["projection"] == pytest.approx(186)
    assert linear["status"] == "at_risk"

    ws = reopen(ws, 'pacing = "linear"', 'pacing = "seasonal"')
    res = ws.metric("sessions", as_of="2025-05-10", start="2025-05-01", with_target=True)
    row = _by(res.rows, "period")[may]
    assert row["attainment"] == pytest.approx(0.3)
    assert row["pacing"] == pytest.approx(1.2)
    assert row["projection"] == pytest.approx(240)
    assert row["status"] == "on_track"
    detail = row["extra"]["target"]
    assert detail["pacing_basis"] == "seasonal"
    assert detail["elapsed_share"] == pytest.approx(0.25)
    assert detail["expected_to_date"] == pytest.approx(50)
    assert detail["history_years"] == [1, 2]
    assert any("2024 and 2023, 25.0%" in n for n in res.notes), res.notes


def test_seasonal_pacing_falls_back_to_linear_without_history(
        make_ws: WorkspaceFactory, tmp_path: Path, reopen: Any) -> None:
    """Only this May's data: no earlier May in the data, so the pro-rating is linear (10/31)
    and a note says so: pacing 0.93 as in the linear case above."""
    ws = make_ws()
    _load(ws, tmp_path, "web_traffic", "date,sessions\n2025-05-03,60\n", "web.csv")
    _load(ws, tmp_path, "targets",
          "metric,period_start,grain,target\nsessions,2025-05-01,month,200\n", "t.csv")
    ws = reopen(ws, 'pacing = "linear"', 'pacing = "seasonal"')
    res = ws.metric("sessions", as_of="2025-05-10", with_target=True)
    (row,) = res.rows
    assert row["pacing"] == pytest.approx(0.93)
    assert row["extra"]["target"]["pacing_basis"] == "linear"
    assert any("seasonal pacing needs an earlier year" in n for n in res.notes), res.notes


# -- direction: costs and churn are better under target ----------------------------------------


@pytest.mark.parametrize(("ratio", "up", "down", "neutral"), [
    (1.30, "on_track", "behind", "behind"),      # down: 2 - 1.30 = 0.70 < 0.80
    (1.20, "on_track", "at_risk", "at_risk"),    # down: 0.80 is not below 0.80
    (1.05, "on_track", "on_track", "on_track"),  # down: 2 - 1.05 = 0.95
    (1.0, "on_track", "on_track", "on_track"),
    (0.95, "on_track", "on_track", "on_track"),
    (0.9, "at_risk", "on_track", "at_risk"),
    (0.8, "at_risk", "on_track", "at_risk"),
    (0.79, "behind", "on_track", "behind"),
    (0.0, "behind", "on_track", "behind"),
    (None, None, None, None),
])
def test_status_thresholds_in_both_directions(ratio: float | None, up: str, down: str,
                                              neutral: str) -> None:
    """Score = ratio (up), 2 − ratio (down), 1 − |ratio − 1| (neutral); on track at ≥ 0.95,
    behind below 0.80, at risk between (the default settings)."""
    s = Settings()
    assert status_of(ratio, "up", s) == up
    assert status_of(ratio, "down", s) == down
    assert status_of(ratio, "neutral", s) == neutral


def test_status_follows_the_settings() -> None:
    """on_track_from 1.0, behind_below 0.9: 0.97 is at risk; 0.89 behind."""
    s = replace(Settings(), target_on_track_from=1.0, target_behind_below=0.9)
    assert status_of(0.97, "up", s) == "at_risk"
    assert status_of(0.89, "up", s) == "behind"
    assert status_of(1.0, "up", s) == "on_track"


MRR = """\
month,account_id,mrr
2025-01-01,a1,100
2025-01-01,a2,200
2025-02-01,a2,200
2025-01-01,a3,50
2025-02-01,a3,50
2025-03-01,a3,50
2025-01-01,a4,10
2025-02-01,a4,10
2025-03-01,a4,10
2025-04-01,a4,10
"""


def test_a_down_flow_is_on_track_under_its_target(make_ws: WorkspaceFactory,
                                                   tmp_path: Path) -> None:
    """churned_mrr (a flow whose direction is down). a1 leaves after January (churned in
    February: 100), a2 after February (March: 200), a3 after March (April: 50); a4 stays.

    As of 2025-04-30 (all finished):
      Feb 100 vs target  90 → attainment 1.111 → score 0.889 → at risk
      Mar 200 vs target 250 → attainment 0.8   → score 1.2   → on track (under target)
      Apr  50 vs target  40 → attainment 1.25  → score 0.75  → behind
    As of 2025-04-15 April is running (15 of 30 days): churned to date 50 (a3 has no April
    row) vs 40 × 15/30 = 20 → pacing 2.5 → score −0.5 → behind; projection 50 × 30/15 = 100.
    """
    ws = make_ws()
    _load(ws, tmp_path, "mrr", MRR, "mrr.csv")
    _load(ws, tmp_path, "targets", "metric,period_start,grain,target\n"
          "churned_mrr,2025-02-01,month,90\nchurned_mrr,2025-03-01,month,250\n"
          "churned_mrr,2025-04-01,month,40\n", "t.csv")
    assert resolve("churned_mrr", ws.settings).direction == "down"
    rows = _by(_rows(ws, "churned_mrr", as_of="2025-04-30", start="2025-02-01",
                     end="2025-04-30"), "period")
    got = [(rows[D(2025, m, 1)]["value"], rows[D(2025, m, 1)]["attainment"],
            rows[D(2025, m, 1)]["status"]) for m in (2, 3, 4)]
    assert got == [(100, pytest.approx(100 / 90), "at_risk"), (200, 0.8, "on_track"),
                   (50, 1.25, "behind")]
    april = _by(_rows(ws, "churned_mrr", as_of="2025-04-15", start="2025-04-01"),
                "period")[D(2025, 4, 1)]
    assert april["value"] == 50
    assert april["pacing"] == pytest.approx(2.5)
    assert april["projection"] == pytest.approx(100)
    assert april["status"] == "behind"


def test_the_same_numbers_read_the_other_way_for_a_down_metric(sessions_ws: Workspace) -> None:
    """add_targets on the sessions result as if sessions were a cost (direction down): Q2's
    pacing 0.91 scores 2 − 0.91 = 1.09 → on track (was at risk); Q1's attainment 1.0 stays on
    track; the numbers themselves do not change."""
    engine = sessions_ws.engine()
    result = sessions_ws.metric("sessions", grain="quarter", as_of=AS_OF)
    add_targets(engine, replace(resolve("sessions", sessions_ws.settings), direction="down"),
                result)
    rows = _by(result.rows, "period")
    assert rows[D(2025, 4, 1)]["pacing"] == pytest.approx(0.91)
    assert rows[D(2025, 4, 1)]["status"] == "on_track"
    assert rows[D(2025, 1, 1)]["status"] == "on_track"


BOUNCES = """\
date,sessions,bounces
2025-01-10,100,45
2025-02-10,100,50
2025-03-10,100,38
2025-04-05,100,30
"""


def test_a_ratio_is_compared_directly_and_down_is_good(make_ws: WorkspaceFactory,
                                                      tmp_path: Path) -> None:
    """bounce_rate (a ratio whose direction is down), target 40 % every month, set with the
    CLI as '40%' and '0.4'. As of 2025-04-15:
      Jan 45/100 = 0.45 → attainment 1.125 → score 0.875 → at risk
      Feb 0.50 → 1.25 → 0.75 → behind
      Mar 0.38 → 0.95 → 1.05 → on track
      Apr (running) 0.30 → a ratio is not pro-rated: pacing = attainment = 0.75 → score 1.25
          → on track; projection = the current value 0.30.
    """
    ws = make_ws()
    _load(ws, tmp_path, "web_traffic", BOUNCES, "web.csv")
    folder = ws.path
    ws.close()
    for month, value in (("2025-01", "40%"), ("2025-02", "0.4"), ("2025-03", "40 %"),
                         ("2025-04", "40%")):
        code, _, err = cli(folder, "targets", "set", "bounce_rate", "--period", month,
                           "--value", value, as_of="2025-04-15")
        assert code == 0, err
    code, out, _ = cli(folder, "metrics", "show", "bounce_rate", "--with-target", "-f", "json",
                       as_of="2025-04-15")
    assert code == 0
    data = json.loads(out)
    rows = _by(data["rows"], "period")
    assert [(rows[f"2025-0{m}-01"]["attainment"], rows[f"2025-0{m}-01"]["status"])
            for m in (1, 2, 3)] == [(pytest.approx(1.125), "at_risk"),
                                    (pytest.approx(1.25), "behind"),
                                    (pytest.approx(0.95), "on_track")]
    apr = rows["2025-04-01"]
    assert apr["partial"] is True
    assert apr["pacing"] == apr["attainment"] == pytest.approx(0.75)
    assert apr["projection"] == pytest.approx(0.3)
    assert apr["status"] == "on_track"
    assert apr["extra"]["target"]["pacing_basis"] == "direct"
    assert any("not pro-rated" in n for n in data["notes"])


# -- fiscal periods --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "fiscal", "start", "grain"), [
    ("2025", 1, D(2025, 1, 1), "year"),
    ("2025-Q3", 1, D(2025, 7, 1), "quarter"),
    ("2025-07", 1, D(2025, 7, 1), "month"),
    ("2025", 4, D(2024, 4, 1), "year"),           # FY2025 = 2024-04-01 … 2025-03-31
    ("2025-Q1", 4, D(2024, 4, 1), "quarter"),
    ("2025-Q3", 4, D(2024, 10, 1), "quarter"),
    ("2025-q4", 4, D(2025, 1, 1), "quarter"),
    ("FY2025-Q3", 4, D(2024, 10, 1), "quarter"),  # as the tables print it
    ("2025-7", 4, D(2025, 7, 1), "month"),        # a month is a calendar month
])
def test_periods_parse_as_fiscal_periods(text: str, fiscal: int, start: dt.date,
                                         grain: str) -> None:
    assert parse_period(text, fiscal) == (start, grain)


def test_fiscal_year_starting_in_april(make_ws_with: WorkspaceFactory, tmp_path: Path) -> None:
    """fiscal_year_start_month = 4. Sessions: 2024-04-10 100, 2024-10-10 200, 2025-03-10 300,
    2025-07-05 50. Targets set with the CLI: 2025 → FY2025 (2024-04-01 … 2025-03-31) 500;
    2025-Q3 → Oct-Dec 2024: 250; 2025-07 → July 2025: 40. As of 2025-07-10:
      year FY2025: 100 + 200 + 300 = 600 vs 500 → attainment 1.2, finished, on track
      quarter FY2025-Q3: 200 vs 250 → 0.8, at risk
      month 2025-07 (10 of 31 days): 50 ÷ (40 × 10/31) = 3.875; projection 50 × 31/10 = 155
    """
    ws = make_ws_with(fiscal_year_start_month=4)
    _load(ws, tmp_path, "web_traffic", "date,sessions\n2024-04-10,100\n2024-10-10,200\n"
          "2025-03-10,300\n2025-07-05,50\n", "web.csv")
    folder = ws.path
    ws.close()
    for period, value in (("2025", "500"), ("2025-Q3", "250"), ("2025-07", "40")):
        code, _, err = cli(folder, "targets", "set", "sessions", "--period", period, "--value",
                           value, as_of="2025-07-10")
        assert code == 0, err
    code, out, _ = cli(folder, "targets", "list", "-f", "json", as_of="2025-07-10")
    listed = {(r["period"], r["period_start"], r["grain"]) for r in json.loads(out)}
    assert listed == {("FY2025", "2024-04-01", "year"), ("FY2025-Q3", "2024-10-01", "quarter"),
                      ("2025-07", "2025-07-01", "month")}

    def show(grain: str) -> dict[str, dict[str, Any]]:
        code, out, err = cli(folder, "metrics", "show", "sessions", "--grain", grain,
                             "--with-target", "-f", "json", as_of="2025-07-10")
        assert code == 0, err
        return _by(json.loads(out)["rows"], "period")

    year = show("year")["2024-04-01"]
    assert (year["value"], year["target"], year["attainment"], year["status"]) == (
        600, 500, 1.2, "on_track")
    quarter = show("quarter")["2024-10-01"]
    assert (quarter["attainment"], quarter["status"]) == (0.8, "at_risk")
    july = show("month")["2025-07-01"]
    assert july["pacing"] == pytest.approx(3.875)
    assert july["projection"] == pytest.approx(155)
    code, out, _ = cli(folder, "metrics", "show", "sessions", "--grain", "year",
                       "--with-target", as_of="2025-07-10")
    assert "FY2025" in out and "120.0%" in out and "on track" in out


# -- targets set and list ------------------------------------------------------------------------


@pytest.fixture
def folder(make_ws: WorkspaceFactory, tmp_path: Path) -> Path:
    """A closed workspace with the sessions data and the imported targets."""
    ws = make_ws()
    _load(ws, tmp_path, "web_traffic", SESSIONS, "web.csv")
    _load(ws, tmp_path, "targets", TARGETS, "targets.csv")
    ws.close()
    return ws.path


def _stored(folder: Path, metric: str = "sessions") -> list[tuple[Any, ...]]:
    with Workspace.open(folder, read_only=True) as ws:
        return ws.query("SELECT period_start, grain, dimension, dimension_value, target, kind "
                        "FROM targets WHERE metric = ? ORDER BY ALL", [metric])


def test_targets_set_replaces_the_row_and_the_ledger_says_so(folder: Path) -> None:
    """Setting Q2 (1000, okr, from the CSV) to 1200 replaces the row (kind kept: okr); setting
    it again to 1200 changes nothing; the ledger names both CLI writes, and a rebuild from
    raw/ replays them, so the row stays 1200."""
    before = len(_stored(folder))
    code, out, err = cli(folder, "targets", "set", "sessions", "--period", "2025-Q2",
                         "--value", "1,200")
    assert code == 0, err
    assert "Replaced the target of sessions 2025-Q2: 1,000 → 1,200 (okr)" in out
    rows = _stored(folder)
    assert len(rows) == before
    assert (D(2025, 4, 1), "quarter", "", "", 1200.0, "okr") in rows
    code, out, _ = cli(folder, "targets", "set", "sessions", "--period", "2025-Q2", "--value",
                       "1200", "-f", "json")
    assert code == 0 and json.loads(out)["action"] == "unchanged"
    code, out, _ = cli(folder, "targets", "set", "sessions", "--period", "2025-06",
                       "--value", "90", "--dimension", "channel=webinar", "--kind", "quota",
                       "-f", "json")
    done = json.loads(out)
    assert (done["action"], done["period_start"], done["grain"], done["dimension"],
            done["dimension_value"], done["kind"]) == (
        "inserted", "2025-06-01", "month", "channel", "webinar", "quota")
    with Workspace.open(folder, read_only=True) as ws:
        ledger = ws.query("SELECT file_name, status FROM _imports WHERE table_name = 'targets' "
                          "ORDER BY import_id")
    assert ledger == [
        ("targets.csv", "imported"),
        ("targets set sessions --period 2025-Q2 --value 1,200 --kind okr", "imported"),
        ("targets set sessions --period 2025-Q2 --value 1200 --kind okr", "no_changes"),
        ("targets set sessions --period 2025-06 --value 90 --dimension channel=webinar "
         "--kind quota", "imported")]
    code, out, _ = cli(folder, "targets", "list", "--metric", "sessions", "-f", "json")
    listed = {(r["period"], r["dimension_value"]): r for r in json.loads(out)}
    assert listed[("2025-Q2", "")]["source"].startswith("targets set sessions --period 2025-Q2")
    assert listed[("2025-01", "")]["source"] == "targets.csv"
    services.rebuild(folder)
    assert (D(2025, 4, 1), "quarter", "", "", 1200.0, "okr") in _stored(folder)
    assert (D(2025, 6, 1), "month", "channel", "webinar", 90.0, "quota") in _stored(folder)


def test_targets_list_formats_and_unknown_keys(folder: Path, tmp_path: Path) -> None:
    """CSV has the documented header; a stored row whose metric key does not exist is listed
    with a note (no result will ever show it)."""
    with Workspace.open(folder) as ws:
        _load(ws, tmp_path, "targets",
              "metric,period_start,grain,target\nsesions,2025-01-01,month,5\n", "typo.csv")
    code, out, err = cli(folder, "targets", "list", "-f", "csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == ("metric,period,period_start,grain,dimension,dimension_value,target,kind,"
                        "import_id,source")
    assert len(lines) == 1 + 8
    assert "Targets of 'sesions' match no metric" in err and "sessions" in err
    code, out, _ = cli(folder, "targets", "list")
    assert code == 0 and "channel=paid_search" in out and "(total)" in out


def test_imported_targets_show_up_in_metrics_show_with_target(folder: Path) -> None:
    """The CSV-imported Q2 target (1000) reaches `metrics show --with-target` in every format:
    JSON rows carry the five fields; the table has the columns; CSV has them as columns."""
    code, out, err = cli(folder, "metrics", "show", "sessions", "--grain", "quarter",
                         "--with-target", "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["query"]["with_target"] is True
    q2 = _by(data["rows"], "period")["2025-04-01"]
    assert {k: q2[k] for k in ("target", "attainment", "status")} == {
        "target": 1000, "attainment": 0.45, "status": "at_risk"}
    assert q2["pacing"] == pytest.approx(0.91) and q2["projection"] == pytest.approx(910)
    code, out, _ = cli(folder, "metrics", "show", "sessions", "--grain", "quarter",
                       "--with-target")
    assert code == 0
    for word in ("target", "attainment", "pacing", "projection", "status", "1,000", "45.0%",
                 "91.0%", "910", "at risk", "on track"):
        assert word in out, word
    code, out, _ = cli(folder, "metrics", "show", "sessions", "--grain", "quarter",
                       "--with-target", "-f", "csv")
    header = out.splitlines()[0].split(",")
    assert header[-6:] == ["target", "attainment", "pacing", "projection", "status", "extra"]
    code, out, _ = cli(folder, "metrics", "show", "sessions", "--grain", "quarter")
    assert "attainment" not in out


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "words"), [
    (["mql", "--period", "2025-Q3", "--value", "10"], ["no metric 'mql'", "'mqls'"]),
    (["sessions", "--period", "2025-Q5", "--value", "10"],
     ["--period '2025-Q5'", "2025-Q3", "2025-07", "year it ends in"]),
    (["sessions", "--period", "2025-13", "--value", "10"], ["--period '2025-13'"]),
    (["sessions", "--period", "Q3", "--value", "10"], ["--period 'Q3'"]),
    (["sessions", "--period", "2025", "--value", "ten"], ["--value 'ten' is not a number"]),
    (["sessions", "--period", "2025", "--value", "-5"], ["--value '-5' is negative"]),
    (["sessions", "--period", "2025", "--value", "20%"],
     ["--value '20%' is a percentage", "count"]),
    (["bounce_rate", "--period", "2025", "--value", "40"],
     ["--value '40' is a bare number above 1", "ratio", "25%"]),
    (["lead_to_mql_rate", "--period", "2025", "--value", "nan"], ["--value 'nan'"]),
    (["sessions", "--period", "2025", "--value", "10", "--dimension", "segment=SMB"],
     ["--dimension 'segment'", "channel", "landing_page"]),
    (["sessions", "--period", "2025", "--value", "10", "--dimension", "channel"],
     ["--dimension 'channel' should be written DIMENSION=VALUE"]),
    (["sessions", "--period", "2025", "--value", "10", "--dimension", "channel=a",
      "--dimension", "channel=b"], ["more than once"]),
    (["sessions", "--period", "2025", "--value", "10", "--kind", "stretch"],
     ["--kind 'stretch'", "okr, quota, plan"]),
])
def test_bad_input_is_a_clear_usage_error(folder: Path, args: list[str],
                                          words: list[str]) -> None:
    before = _stored(folder)
    code, out, err = cli(folder, "targets", "set", *args)
    assert code == 2, (out, err)
    text = " ".join(err.split())
    for word in words:
        assert word in text, (word, text)
    assert "Traceback" not in err
    assert _stored(folder) == before


def test_bad_list_and_show_options(folder: Path) -> None:
    code, _, err = cli(folder, "targets", "list", "--metric", "sesions")
    assert code == 2 and "'sessions'" in err
    code, _, err = cli(folder, "targets", "list", "-f", "xml")
    assert code == 2 and "--format" in err


def test_parse_value_by_unit() -> None:
    """Counts and money take plain numbers (thousands separators allowed); ratios a fraction
    up to 1 or a percentage (above 100 % only as a percentage); multiples may end in x."""
    settings = Settings()
    assert parse_value("1,200.5", resolve("sessions", settings)) == 1200.5
    assert parse_value("25%", resolve("lead_to_mql_rate", settings)) == 0.25
    assert parse_value("110%", resolve("nrr", settings)) == pytest.approx(1.1)
    assert parse_value("1", resolve("nrr", settings)) == 1.0
    assert parse_value("3x", resolve("pipeline_coverage", settings)) == 3.0
    with pytest.raises(UsageError, match="110%"):
        parse_value("1.1", resolve("nrr", settings))
