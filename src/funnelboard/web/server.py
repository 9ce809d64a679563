"""``funnelboard serve``: run the dashboard and API over one workspace, as its one writer.

The server opens the workspace for writing and keeps it (DESIGN.md "One writer"); it writes
``.server.json`` (its URL and a per-start token, mode 0600) so CLI commands can hand their
work to it, takes the monthly snapshot itself, and prints a single-use admin sign-in link
when bound to loopback or before anyone has signed in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from funnelboard.auth import AuthStore, load_secret
from funnelboard.errors import WorkspaceError
from funnelboard.web.state import ServerState
from funnelboard.workspace import APP_DB_FILE, Workspace

SERVER_FILE = ".server.json"
#: how often the server checks whether this month's snapshot exists
SNAPSHOT_CHECK_SECONDS = 3600


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def open_state(path: Path | None, *, host: str = "127.0.0.1",
               env: dict[str, str] | None = None, secure_cookies: bool = False,
               password_hasher: Any = None) -> ServerState:
    """The server's state over the workspace at ``path``; refuses a non-loopback bind without a
    configured secret key (reliability-plan.md G1)."""
    secret = load_secret(os.environ if env is None else env, loopback=is_loopback(host))
    ws = Workspace.open(path)
    harden(ws)
    auth = AuthStore(ws.path / APP_DB_FILE, secret, ws.settings.server,
                     password_hasher=password_hasher)
    return ServerState(workspace=ws, auth=auth, secure_cookies=secure_cookies)


def harden(ws: Workspace) -> None:
    """The served database reads and writes only inside its workspace folder: no other file,
    no URL, no ATTACH or extension install, whatever SQL reaches it (reliability-plan.md G6,
    T15). Imports of files from elsewhere are copied in first (Workspace.import_file)."""
    con = ws.connection()
    folder = str(ws.path.resolve()).rstrip("/") + "/"
    con.execute("SET allowed_directories = ?", [[folder]])
    con.execute("SET enable_external_access = false")


def monthly_snapshot_due(state: ServerState, today: dt.date) -> bool:
    """True when no snapshot was taken in ``today``'s month yet."""
    first = today.replace(day=1)
    rows = state.reader.query("SELECT count(*) FROM _snapshots WHERE CAST(taken_at AS DATE) >= ?",
                              [first])
    return not rows or rows[0][0] == 0


def take_monthly_snapshot(state: ServerState, today: dt.date | None = None) -> bool:
    """Queue this month's snapshot when it is due; True when one was queued."""
    from funnelboard.services import take_snapshot

    today = today or dt.date.today()
    if not monthly_snapshot_due(state, today):
        return False
    label = f"monthly {today:%Y-%m}"
    state.jobs.submit("snapshot", label,
                      lambda: take_snapshot(state.workspace, label, None).snapshot_id)
    return True


def snapshot_scheduler(state: ServerState, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):
                take_monthly_snapshot(state)
            stop.wait(SNAPSHOT_CHECK_SECONDS)

    thread = threading.Thread(target=loop, name="funnelboard-snapshots", daemon=True)
    thread.start()
    return thread


def _warm_bundle() -> None:
    from funnelboard.charts import vega_bundle

    with contextlib.suppress(Exception):
        vega_bundle()


def write_server_file(folder: Path, url: str) -> str:
    """Record the running server for CLI commands; returns the per-start token."""
    token = secrets.token_urlsafe(32)
    info = {"url": url, "pid": os.getpid(), "token": token,
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    path = folder / SERVER_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(info, fh)
    return token


def remove_server_file(folder: Path) -> None:
    path = folder / SERVER_FILE
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()


def serve(path: Path | None, *, host: str, port: int, secure_cookies: bool = False,
          monthly_snapshot: bool = True, announce: Callable[[str], None] = print) -> None:
    """Run the server until interrupted."""
    import uvicorn

    from funnelboard.web.app import create_app

    state = open_state(path, host=host, secure_cookies=secure_cookies)
    display_host = f"[{host}]" if ":" in host else host
    url = f"http://{display_host}:{port}"
    app = create_app(state)
    app.state.server_token = write_server_file(state.workspace.path, url)
    stop = threading.Event()
    if monthly_snapshot:
        snapshot_scheduler(state, stop)
    # the vega bundle takes ~2 s to build: make it now, not on the first page view
    threading.Thread(target=_warm_bundle, daemon=True).start()
    announce(f"funnelboard is serving {state.workspace.path} at {url}")
    if is_loopback(host) or not state.auth.has_logged_in():
        link = state.auth.create_login_link(minutes=15)
        announce(f"Sign in as admin (single use, valid 15 minutes): {url}/login?token={link}")
    try:
        uvicorn.run(app, host=host, port=port, workers=1, log_level="warning",
                    access_log=False)
    except SystemExit as exc:  # uvicorn exits when the port is taken
        raise WorkspaceError(f"The server could not listen on {host}:{port}; is another "
                             "server using that port? Try --port.") from exc
    finally:
        stop.set()
        remove_server_file(state.workspace.path)
        state.close()
