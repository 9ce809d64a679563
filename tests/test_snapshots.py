"""Snapshots of the cohort funnel (S0-6): take, list, show, diff against a later snapshot and
against now, on the seven contacts of test_cli_metrics.py plus stage entries imported later.

After the snapshot (as of 2025-03-31) these arrive, all dated in April:

* c1 and c2 (2025-01, paid_search) reach sql; c2 had no mql, so the cumulative rule counts an
  mql for it too: January mql 2 → 3, sql 1 → 3;
* c3 (2025-01, webinar) becomes a customer: January customer 0 → 1;
* c4 (2025-02, webinar) reaches opportunity, implying sql: February sql 0 → 1, opportunity
  0 → 1;
* c8 is created on 2025-04-05: a new cohort, reported as such and not as a moved cell.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import WorkspaceFactory
from funnelboard.cli.app import app
from funnelboard.errors import UsageError
from funnelboard.metrics import snapshots
from funnelboard.settings import DEFAULT_SNAPSHOT_METRICS
from funnelboard.workspace import Workspace
from test_cli_metrics import CONTACTS

runner = CliRunner()
WIDE = {"COLUMNS": "200"}

LATER_EVENTS = textwrap.dedent("""\
    contact_id,stage,entered_at
    c1,sql,2025-04-02
    c2,sql,2025-04-03
    c4,opportunity,2025-04-10
    c3,customer,2025-04-15
    """)
NEW_CONTACT = textwrap.dedent("""\
    contact_id,created_at,channel,lead_at
    c8,2025-04-05,webinar,2025-04-05
    """)

CELLS = [  # biggest move first, then period and funnel order
    {"period": "2025-01-01", "stage": "sql", "old": 1, "new": 3, "delta": 2},
    {"period": "2025-01-01", "stage": "mql", "old": 2, "new": 3, "delta": 1},
    {"period": "2025-01-01", "stage": "customer", "old": 0, "new": 1, "delta": 1},
    {"period": "2025-02-01", "stage": "sql", "old": 0, "new": 1, "delta": 1},
    {"period": "2025-02-01", "stage": "opportunity", "old": 0, "new": 1, "delta": 1},
]
CHANNEL_CELLS = [
    {"period": "2025-01-01", "channel": "paid_search", "stage": "sql", "old": 0, "new": 2,
     "delta": 2},
    {"period": "2025-01-01", "channel": "paid_search", "stage": "mql", "old": 1, "new": 2,
     "delta": 1},
    {"period": "2025-01-01", "channel": "webinar", "stage": "customer", "old": 0, "new": 1,
     "delta": 1},
    {"period": "2025-02-01", "channel": "webinar", "stage": "sql", "old": 0, "new": 1,
     "delta": 1},
    {"period": "2025-02-01", "channel": "webinar", "stage": "opportunity", "old": 0, "new": 1,
     "delta": 1},
]
SUMMARY = ("5 cohort cells changed (5 period × channel cells); the 2025-01 cohort gained 1 MQL, "
           "2 SQLs and 1 customer; the 2025-02 cohort gained 1 SQL and 1 opportunity; 1 new "
           "cohort since: 2025-04.")


def _import(folder: Path, table: str, text: str, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with Workspace.open(folder) as ws:
        assert ws.import_file(table, path).status == "imported"


@pytest.fixture
def folder(make_ws: WorkspaceFactory, tmp_path: Path) -> Path:
    ws = make_ws()
    ws.close()
    _import(ws.path, "contacts", CONTACTS, tmp_path, "contacts.csv")
    return ws.path


def cli(folder: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["-w", str(folder), *args], env=WIDE)
    return result.exit_code, result.stdout, result.stderr


def _arrive_later(folder: Path, tmp_path: Path) -> None:
    _import(folder, "stage_events", LATER_EVENTS, tmp_path, "events.csv")
    _import(folder, "contacts", NEW_CONTACT, tmp_path, "c8.csv")


def test_take_list_show(folder: Path) -> None:
    code, out, err = cli(folder, "--as-of", "2025-03-31", "snapshot", "take", "--label",
                         "March's close", "-f", "json")
    assert code == 0, err
    taken = json.loads(out)
    assert taken["snapshot_id"] == 1 and taken["label"] == "March's close"
    assert taken["as_of"] == "2025-03-31"
    # total funnel 3 periods x 5 stages, by channel 3 x 3 channels x 5 stages, 6 metrics x 3
    assert taken["rows"] == 15 + 45 + 18

    code, out, _ = cli(folder, "snapshot", "list", "-f", "json")
    assert [(s["snapshot_id"], s["label"], s["as_of"], s["rows"]) for s in json.loads(out)] == [
        (1, "March's close", "2025-03-31", 78)]
    code, out, _ = cli(folder, "snapshot", "list")
    assert "March's close" in out and "2025-03-31" in out

    code, out, _ = cli(folder, "snapshot", "show", "1", "-f", "json")
    snap = json.loads(out)
    payload = snap["payload"]
    assert set(payload["metrics"]) == set(DEFAULT_SNAPSHOT_METRICS)
    assert [r["value"] for r in payload["metrics"]["sqls"]["rows"]] == [1, 0, 1]
    total = payload["funnel"]["total"]
    assert total["query"]["as_of"] == "2025-03-31" and total["query"]["basis"] == "cohort"
    assert [r["value"] for r in total["rows"] if r["period"] == "2025-01-01"] == [3, 2, 1, 1, 0]
    assert payload["funnel"]["by_channel"]["query"]["by"] == ["channel"]

    code, out, _ = cli(folder, "snapshot", "show", "1")
    assert code == 0
    assert "March's close" in out and "2 · 66.7%" in out and "Frozen metrics" in out


def test_snapshot_is_frozen_and_diff_shows_the_moves(folder: Path, tmp_path: Path) -> None:
    assert cli(folder, "--as-of", "2025-03-31", "snapshot", "take", "--label",
               "2025-03")[0] == 0
    _arrive_later(folder, tmp_path)

    # the frozen snapshot does not move
    _, out, _ = cli(folder, "snapshot", "show", "1", "-f", "json")
    jan = [r["value"] for r in json.loads(out)["payload"]["funnel"]["total"]["rows"]
           if r["period"] == "2025-01-01"]
    assert jan == [3, 2, 1, 1, 0]

    code, out, err = cli(folder, "--as-of", "2025-04-30", "snapshot", "diff", "1", "now",
                         "-f", "json")
    assert code == 0, err
    diff = json.loads(out)
    assert diff["cells"] == CELLS
    assert diff["channel_cells"] == CHANNEL_CELLS
    assert diff["new_periods"] == ["2025-04-01"]
    assert diff["summary"] == SUMMARY
    assert (diff["from_as_of"], diff["to_as_of"]) == ("2025-03-31", "2025-04-30")
    assert diff["from_snapshot"]["label"] == "2025-03"

    # 'now' is the default second side; the table ends with the summary
    code, out, _ = cli(folder, "--as-of", "2025-04-30", "snapshot", "diff", "1")
    assert code == 0
    assert " ".join(out.split()).endswith(" ".join(SUMMARY.split()))
    first = next(ln for ln in out.splitlines() if "2025-01" in ln)
    assert [c.strip() for c in first.strip("│ ").split("│")] == ["2025-01", "sql", "1", "3",
                                                                  "+2"]

    # as of the snapshot's own date nothing moved: later entries are ignored
    _, out, _ = cli(folder, "--as-of", "2025-03-31", "snapshot", "diff", "1", "-f", "json")
    same = json.loads(out)
    assert same["cells"] == [] and same["channel_cells"] == [] and same["new_periods"] == []
    assert same["summary"].startswith("No cohort cell changed between snapshot 1")

    # snapshot against snapshot gives the same moves
    assert cli(folder, "--as-of", "2025-04-30", "snapshot", "take")[0] == 0
    _, out, _ = cli(folder, "snapshot", "diff", "1", "2", "-f", "json")
    between = json.loads(out)
    assert between["cells"] == CELLS and between["summary"] == SUMMARY
    assert between["to"] == "snapshot 2 (as of 2025-04-30)"


def test_unknown_ids_are_clean_errors(folder: Path) -> None:
    code, _, err = cli(folder, "snapshot", "diff", "1")
    assert code == 2 and "none has been taken yet" in err
    assert cli(folder, "--as-of", "2025-03-31", "snapshot", "take")[0] == 0
    assert cli(folder, "--as-of", "2025-03-31", "snapshot", "take")[0] == 0
    code, out, err = cli(folder, "snapshot", "diff", "7")
    assert code == 2 and "There is no snapshot 7" in err and "1, 2" in err
    assert "Traceback" not in out + err
    code, _, err = cli(folder, "snapshot", "show", "3")
    assert code == 2 and "The snapshots are: 1, 2" in err
    code, _, err = cli(folder, "snapshot", "diff", "1", "later")
    assert code == 2 and "ID2 'later' is not a snapshot id" in err
    code, _, err = cli(folder, "snapshot", "show", "0")
    assert code == 2


def test_module_round_trip_and_parameterised_label(folder: Path) -> None:
    label = "x'); DROP TABLE _snapshots; --"
    with Workspace.open(folder) as ws:
        payload = snapshots.build_payload(ws.engine(), dt.date(2025, 3, 31))
        snap = snapshots.save(ws.connection(), payload, label=label, as_of=dt.date(2025, 3, 31),
                              settings_version=ws.settings.version)
        loaded = snapshots.load(ws.connection(), snap.snapshot_id)
        assert loaded.label == label and loaded.payload == payload
        live = ws.funnel(as_of="2025-03-31")
        frozen = loaded.funnel()
        assert frozen.rows == live.rows and frozen.dims == live.dims == ("stage",)
        assert frozen.query == live.query
        with pytest.raises(UsageError, match="not a snapshot id"):
            snapshots.parse_id("one")


def test_summary_wording() -> None:
    from funnelboard.settings import Settings

    settings = Settings()
    cells = [{"period": "2025-03-01", "stage": "sql", "old": 5, "new": 9, "delta": 4},
             {"period": "2025-02-01", "stage": "lead", "old": 3, "new": 2, "delta": -1}]
    text = snapshots.summary(cells, [], [], settings, list(settings.stages), "a", "b")
    assert text == ("2 cohort cells changed (0 period × channel cells); the 2025-03 cohort "
                    "gained 4 SQLs; the 2025-02 cohort lost 1 lead.")
    assert snapshots.stage_words("opportunity", settings, 2) == "2 opportunities"
    short = snapshots.summary(cells, cells, ["2025-04-01", "2025-05-01"], settings,
                              list(settings.stages), "a", "b", limit=1)
    assert short == ("2 cohort cells changed (2 period × channel cells); the 2025-03 cohort "
                     "gained 4 SQLs; 1 more cohort moved; 2 new cohorts since: 2025-04, ….")


def test_rebuild_keeps_snapshots(folder: Path) -> None:
    assert cli(folder, "--as-of", "2025-03-31", "snapshot", "take", "--label", "kept")[0] == 0
    _, before, _ = cli(folder, "snapshot", "show", "1", "-f", "json")
    code, out, err = cli(folder, "rebuild")
    assert code == 0, out + err
    _, after, _ = cli(folder, "snapshot", "show", "1", "-f", "json")
    assert json.loads(after) == json.loads(before)
