"""The server's own duties: the monthly snapshot, loopback detection, the one-time link at
start, and refusing a public bind without a secret key."""

from __future__ import annotations

import datetime as dt

import pytest

from funnelboard.errors import FunnelboardError
from funnelboard.web.server import (
    is_loopback,
    monthly_snapshot_due,
    open_state,
    take_monthly_snapshot,
)
from web_support import Web


def test_the_server_takes_the_monthly_snapshot_once_a_month(web: Web) -> None:
    state = web.state
    today = dt.date(2026, 7, 2)
    assert monthly_snapshot_due(state, today)
    assert take_monthly_snapshot(state, today)
    state.jobs.wait_idle()
    rows = state.reader.query_dicts("SELECT label, as_of FROM _snapshots")
    assert [r["label"] for r in rows] == ["monthly 2026-07"]
    assert not take_monthly_snapshot(state, today)  # already taken this month
    assert monthly_snapshot_due(state, dt.date(2099, 1, 1))


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("::1", True),
                                                ("localhost", True), ("0.0.0.0", False),
                                                ("192.168.1.5", False), ("example.com", False)])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_loopback_without_a_key_gets_a_fresh_one_public_does_not(demo_path: object,
                                                                 tmp_path: object) -> None:
    import shutil
    from pathlib import Path

    folder = Path(str(tmp_path)) / "ws"
    shutil.copytree(Path(str(demo_path)), folder)
    state = open_state(folder, host="127.0.0.1", env={})
    try:
        assert len(state.auth.secret) >= 32
    finally:
        state.close()
    with pytest.raises(FunnelboardError, match="FUNNELBOARD_SECRET_KEY"):
        open_state(folder, host="192.168.1.5", env={})
