"""Hand a CLI command to the running server of its workspace (DESIGN.md, "One writer").

While ``funnelboard serve`` holds a workspace, other processes cannot open its database; so a
command finds ``.server.json`` in the workspace, posts its arguments to the server with the
per-start token in that file, and prints what the server ran. Paths on the command line are
made absolute first, since the server does not share the command's working directory.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from funnelboard.errors import WorkspaceError

SERVER_FILE = ".server.json"
#: commands that never go to a server: they make workspaces, run the server, or touch only
#: the app database (users and tokens work while the server runs)
LOCAL_COMMANDS = ("serve", "demo", "init", "users", "tokens")
#: options whose value is a path
PATH_OPTIONS = ("--mapping", "--out", "-o", "--workspace", "-w", "--file")
PATH_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet", ".json", ".toml",
                 ".html", ".pdf", ".md")


def running_server(folder: Path) -> dict[str, Any] | None:
    """The server recorded in ``folder``, when its process is alive."""
    path = folder / SERVER_FILE
    try:
        info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info


def absolute_paths(argv: list[str], cwd: Path) -> list[str]:
    """``argv`` with file paths made absolute against ``cwd``."""
    out: list[str] = []
    path_next = False
    for arg in argv:
        if path_next or (not arg.startswith("-") and _looks_like_path(arg, cwd)):
            out.append(str((cwd / arg).resolve()) if not Path(arg).is_absolute() else arg)
        elif "=" in arg and arg.split("=", 1)[0] in PATH_OPTIONS:
            name, value = arg.split("=", 1)
            out.append(f"{name}={(cwd / value).resolve()}")
        else:
            out.append(arg)
        path_next = arg in PATH_OPTIONS
    return out


def _looks_like_path(arg: str, cwd: Path) -> bool:
    return (cwd / arg).exists() or "/" in arg or arg.lower().endswith(PATH_SUFFIXES)


def forward(info: dict[str, Any], argv: list[str]) -> int:
    """Run ``argv`` on the server; print its output; return its exit status."""
    body = json.dumps({"argv": argv}).encode()
    request = urllib.request.Request(
        str(info["url"]).rstrip("/") + "/internal/cli", data=body, method="POST",
        headers={"content-type": "application/json",
                 "x-funnelboard-server-token": str(info["token"])})
    try:
        with urllib.request.urlopen(request, timeout=24 * 3600) as response:
            result = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise WorkspaceError(f"The server at {info['url']} refused the command "
                             f"({exc.code}); is .server.json from an older start?") from None
    except (urllib.error.URLError, OSError) as exc:
        raise WorkspaceError(f"The server at {info['url']} holds this workspace but did not "
                             f"answer ({exc}); wait for it or stop it.") from None
    sys.stdout.write(result.get("stdout", ""))
    sys.stderr.write(result.get("stderr", ""))
    return int(result.get("exit_code", 1))
