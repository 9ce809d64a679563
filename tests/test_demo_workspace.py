"""The demo company goes through the product's own import path and fills every table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from funnelboard import schema
from funnelboard.cli.app import app
from funnelboard.workspace import Workspace


def test_demo_command_fills_every_canonical_table(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    res = CliRunner().invoke(app, ["--as-of", "2026-06-30", "demo", str(folder),
                                   "--contacts", "3000", "--seed", "3", "--no-serve"])
    assert res.exit_code == 0, res.output
    with Workspace.open(folder, read_only=True) as ws:
        empty = [t for t in schema.TABLES if ws.query(f'SELECT count(*) FROM "{t}"')[0][0] == 0]
        assert empty == []
        statuses = ws.query("SELECT DISTINCT status FROM _imports")
        assert statuses == [("imported",)]
        assert ws.query("SELECT count(*) FROM _quarantine") == [(0,)]
        # every contact-owned stage entry belongs to a stored contact
        orphans = ws.query("SELECT count(*) FROM stage_events s WHERE NOT EXISTS "
                           "(SELECT 1 FROM contacts c WHERE c.contact_id = s.contact_id)")
        assert orphans == [(0,)]
        last = ws.query("SELECT max(created_at) FROM contacts")[0][0]
        assert last.date() <= dt.date(2026, 6, 30)
        assert ws.query("SELECT count(*) FROM contacts") == [(3000,)]
