"""While the server holds a workspace, CLI commands in other processes run through it
(DESIGN.md, "One writer"): they neither fail on DuckDB's lock nor write around the server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from funnelboard.cli.forward import absolute_paths
from funnelboard.web.app import create_app
from funnelboard.web.cli_bridge import command_name
from funnelboard.web.server import open_state, remove_server_file, write_server_file
from web_support import CHEAP_HASHER, SECRET_ENV

SRC = Path(__file__).resolve().parents[1] / "src"


def test_command_name_skips_global_options() -> None:
    assert command_name(["-w", "/x/rebuild", "--as-of", "2026-01-01", "rebuild"]) == "rebuild"
    assert command_name(["--workspace", "ws", "metrics", "show", "mqls"]) == "metrics"
    assert command_name(["--help"]) is None


def test_paths_are_made_absolute_for_the_server(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_text("x\n", encoding="utf-8")
    argv = ["import", "contacts", "contacts.csv", "--mapping", "m.toml", "--map", "A=b",
            "out/x.csv"]
    assert absolute_paths(argv, tmp_path) == [
        "import", "contacts", str(tmp_path / "contacts.csv"), "--mapping",
        str(tmp_path / "m.toml"), "--map", "A=b", str(tmp_path / "out" / "x.csv")]


@pytest.fixture(scope="module")
def served(demo_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("bridge") / "ws"
    shutil.copytree(demo_path, folder)
    state = open_state(folder, env=SECRET_ENV, password_hasher=CHEAP_HASHER)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(state)
    app.state.server_token = write_server_file(folder, f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield folder
    server.should_exit = True
    thread.join(timeout=30)
    remove_server_file(folder)
    state.close()


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "funnelboard.cli.app", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300, check=False)


def test_server_file_is_private(served: Path) -> None:
    info = json.loads((served / ".server.json").read_text(encoding="utf-8"))
    assert info["pid"] == os.getpid() and len(info["token"]) >= 40
    assert (served / ".server.json").stat().st_mode & 0o077 == 0


def test_an_import_and_a_read_go_through_the_server(served: Path, tmp_path: Path) -> None:
    (tmp_path / "new.csv").write_text("contact_id,created_at\nBRIDGE1,2026-06-10 09:00\n"
                                      "BRIDGE2,2026-06-11 09:00\n", encoding="utf-8")
    before = cli("-w", str(served), "--as-of", "2026-06-30", "metrics", "show",
                 "contacts_created", "--start", "2026-06-01", "--format", "json", cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    created = json.loads(before.stdout)["rows"][0]["value"]
    done = cli("-w", str(served), "import", "contacts", "new.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 inserted" in done.stdout
    after = cli("-w", str(served), "--as-of", "2026-06-30", "metrics", "show",
                "contacts_created", "--start", "2026-06-01", "--format", "json", cwd=tmp_path)
    assert json.loads(after.stdout)["rows"][0]["value"] == created + 2
    again = cli("-w", str(served), "import", "contacts", "new.csv", cwd=tmp_path)
    assert "new.csv - no changes" in again.stdout


def test_rebuild_is_refused_while_serving(served: Path, tmp_path: Path) -> None:
    result = cli("-w", str(served), "rebuild", cwd=tmp_path)
    assert result.returncode == 2
    assert "stop 'funnelboard serve' first" in result.stderr
    assert (served / "funnelboard.duckdb").exists()


def test_wrong_server_token_is_refused(served: Path) -> None:
    import urllib.error
    import urllib.request

    info = json.loads((served / ".server.json").read_text(encoding="utf-8"))
    request = urllib.request.Request(info["url"] + "/internal/cli", method="POST",
                                     data=b'{"argv": ["imports"]}',
                                     headers={"content-type": "application/json",
                                              "x-funnelboard-server-token": "guess"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=30)
    assert err.value.code == 401
