"""The command line: exit statuses, JSON output, the ledger, quarantine export, rebuild and the
one-writer rule, each checked on tiny hand-written files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from funnelboard.cli.app import app
from funnelboard.workspace import Workspace

runner = CliRunner()

CONTACTS = textwrap.dedent("""\
    contact_id,created_at,email,lead_at
    c1,2024-01-05,a@example.com,2024-01-05
    c2,2024-01-06,b@example.com,
    c3,yesterday,c@example.com,
    """)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    result = runner.invoke(app, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_import_exit_codes_and_json(ws: Path, tmp_path: Path) -> None:
    f = _write(tmp_path / "contacts.csv", CONTACTS)
    ok = runner.invoke(app, ["-w", str(ws), "import", "contacts", str(f), "--format", "json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data[0]["status"] == "imported"
    counts = (data[0]["rows_read"], data[0]["rows_accepted"], data[0]["rows_quarantined"])
    assert counts == (3, 2, 1)
    again = runner.invoke(app, ["-w", str(ws), "import", "contacts", str(f), "--format", "json"])
    assert json.loads(again.stdout)[0]["status"] == "no_changes"

    missing = _write(tmp_path / "bad.csv", "email\nx@example.com\n")
    rejected = runner.invoke(app, ["-w", str(ws), "import", "contacts", str(missing)])
    assert rejected.exit_code == 1
    assert "contact_id" in rejected.output and "created_at" in rejected.output

    usage = runner.invoke(app, ["-w", str(ws), "import", "nosuchtable", str(f)])
    assert usage.exit_code == 2
    assert "Unknown table 'nosuchtable'" in usage.output
    assert runner.invoke(app, ["-w", str(ws), "import", "contacts", str(f),
                               "--max-bad-rows", "lots"]).exit_code == 2


def test_ledger_quarantine_export_and_rebuild(ws: Path, tmp_path: Path) -> None:
    f = _write(tmp_path / "contacts.csv", CONTACTS)
    assert runner.invoke(app, ["-w", str(ws), "import", "contacts", str(f)]).exit_code == 0
    ledger = json.loads(runner.invoke(app, ["-w", str(ws), "imports", "-f", "json"]).stdout)
    summary = [(e["import_id"], e["status"], e["rows_inserted"]) for e in ledger]
    assert summary == [(1, "imported", 2)]

    q = json.loads(runner.invoke(app, ["-w", str(ws), "quarantine", "1", "-f", "json"]).stdout)
    assert [(r["source_row"], r["column_name"], r["raw_value"], r["rule"]) for r in q] == [
        (4, "created_at", "yesterday", "invalid_timestamp")]
    out = tmp_path / "fix.csv"
    res = runner.invoke(app, ["-w", str(ws), "quarantine", "1", "--export", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 1
    assert rows[0]["source_row"] == "4" and rows[0]["contact_id"] == "c3"
    assert "invalid_timestamp" in rows[0]["problems"]

    res = runner.invoke(app, ["-w", str(ws), "rebuild"])
    assert res.exit_code == 0, res.output
    with Workspace.open(ws) as w:
        assert w.query("SELECT count(*) FROM contacts") == [(2,)]
        assert w.query("SELECT count(*) FROM stage_events") == [(1,)]
        assert w.query("SELECT count(*) FROM _quarantine") == [(1,)]


def test_as_of_flags_future_dates(ws: Path, tmp_path: Path) -> None:
    f = _write(tmp_path / "contacts.csv", CONTACTS)
    res = runner.invoke(app, ["-w", str(ws), "--as-of", "2024-01-05", "import", "contacts",
                              str(f), "-f", "json"])
    codes = {i["code"]: i for i in json.loads(res.stdout)[0]["issues"]}
    assert codes["future_date"]["count"] == 1
    assert codes["future_date"]["row"] == 3
    assert runner.invoke(app, ["-w", str(ws), "--as-of", "5 Jan", "imports"]).exit_code == 2


def test_not_a_workspace_is_a_sentence(tmp_path: Path) -> None:
    res = runner.invoke(app, ["-w", str(tmp_path / "nowhere"), "imports"])
    assert res.exit_code == 1
    assert "is not a funnelboard workspace" in res.output
    assert "Traceback" not in res.output


def test_second_writer_gets_a_clear_message(ws: Path, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from funnelboard.workspace import Workspace
            w = Workspace.open({str(ws)!r}); w.connection()
            print("ready", flush=True); time.sleep(30)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        f = _write(tmp_path / "contacts.csv", CONTACTS)
        res = runner.invoke(app, ["-w", str(ws), "import", "contacts", str(f)])
        assert res.exit_code == 1
        assert "is in use by" in res.output and str(holder.pid) in res.output
        assert "Traceback" not in res.output
    finally:
        holder.kill()
        holder.wait()


def test_channels_test_uses_rules(ws: Path) -> None:
    res = runner.invoke(app, ["-w", str(ws), "channels", "test", "--source", "google",
                              "--medium", "cpc", "-f", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["channel"] == "paid_search"


def test_interrupted_rebuild_is_reported_and_finished(ws: Path, tmp_path: Path) -> None:
    f = _write(tmp_path / "contacts.csv", CONTACTS)
    assert runner.invoke(app, ["-w", str(ws), "import", "contacts", str(f)]).exit_code == 0
    # simulate a rebuild cut off after moving the database aside and replaying nothing
    (ws / ".rebuild-in-progress").write_text("x")
    (ws / "funnelboard.duckdb").rename(ws / "funnelboard.duckdb.bak")
    Workspace.init(tmp_path / "empty").close()
    (tmp_path / "empty" / "funnelboard.duckdb").rename(ws / "funnelboard.duckdb")
    res = runner.invoke(app, ["-w", str(ws), "imports"])
    assert res.exit_code == 1 and "rebuild" in res.output and "interrupted" in res.output
    assert runner.invoke(app, ["-w", str(ws), "rebuild"]).exit_code == 0
    with Workspace.open(ws) as w:
        assert w.query("SELECT count(*) FROM contacts") == [(2,)]
    assert not (ws / ".rebuild-in-progress").exists()
