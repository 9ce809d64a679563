"""``funnelboard users`` and ``funnelboard tokens``: each command's effect on app.sqlite, its
exit status, and that a token is printed once and never stored."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from funnelboard.auth import AuthStore, passwords
from funnelboard.cli.app import app
from funnelboard.settings import ServerSettings
from funnelboard.workspace import APP_DB_FILE

runner = CliRunner()
PASSWORD = "plum orchard lantern"


@pytest.fixture
def ws(tmp_path: Path, _template_ws: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace folder, with Argon2id at its lowest cost for speed."""
    monkeypatch.setattr(passwords, "default_hasher",
                        lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    folder = tmp_path / "ws"
    shutil.copytree(_template_ws, folder)
    return folder


def fb(ws: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["-w", str(ws), *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def store(ws: Path) -> AuthStore:
    return AuthStore(ws / APP_DB_FILE, b"k" * 32, ServerSettings())


def test_users_add_list_and_change(ws: Path) -> None:
    code, out, _ = fb(ws, "users", "add", "Ana@Example.com", "--admin",
                      input=f"{PASSWORD}\n{PASSWORD}\n")  # asked twice
    assert code == 0 and "Added ana@example.com as admin" in out
    code, _, _ = fb(ws, "users", "add", "bo@example.com", "--role", "analyst",
                    "--password-stdin", input=PASSWORD + "-bo\n")
    assert code == 0
    assert store(ws).authenticate("bo@example.com", PASSWORD + "-bo", "127.0.0.1").role == \
        "analyst"

    code, out, _ = fb(ws, "users", "list", "--format", "json")
    rows = json.loads(out)
    assert [(r["email"], r["role"], r["disabled"]) for r in rows] == [
        ("ana@example.com", "admin", False), ("bo@example.com", "analyst", False)]
    assert PASSWORD not in out and "argon2" not in out

    assert fb(ws, "users", "set-role", "bo@example.com", "viewer")[0] == 0
    assert fb(ws, "users", "disable", "BO@example.com")[0] == 0
    bo = store(ws).find_user("bo@example.com")
    assert bo is not None and (bo.role, bo.disabled) == ("viewer", True)
    assert fb(ws, "users", "enable", "bo@example.com")[0] == 0
    code, _, _ = fb(ws, "users", "set-password", "bo@example.com", "--password-stdin",
                    input="a new pass phrase\n")
    assert code == 0
    assert store(ws).authenticate("bo@example.com", "a new pass phrase", "127.0.0.1")

    actors = [e.actor or "" for e in store(ws).audit_rows(20, "role_changed")]
    assert len(actors) == 1 and actors[0].startswith("cli")


def test_users_errors_are_plain_sentences(ws: Path) -> None:
    code, _, err = fb(ws, "users", "add", "ana@example.com", "--password-stdin",
                      input="short\n")
    assert code == 1 and "at least 12" in err and "Traceback" not in err
    code, _, err = fb(ws, "users", "add", "ana@example.com", "--admin", "--role", "viewer",
                      "--password-stdin", input=PASSWORD + "\n")
    assert code == 2 and "contradict" in err
    code, _, err = fb(ws, "users", "set-role", "nobody@example.com", "admin")
    assert code == 1 and "no user with the email nobody@example.com" in err
    fb(ws, "users", "add", "ana@example.com", "--password-stdin", input=PASSWORD + "\n")
    code, _, err = fb(ws, "users", "set-role", "ana@example.com", "boss")
    assert code == 2 and "Unknown role 'boss'" in err
    code, _, err = fb(ws, "users", "list", "--format", "xml")
    assert code == 2 and "--format 'xml'" in err


def test_tokens_create_list_revoke(ws: Path) -> None:
    fb(ws, "users", "add", "ana@example.com", "--role", "analyst", "--password-stdin",
       input=PASSWORD + "\n")
    code, out, err = fb(ws, "tokens", "create", "ana@example.com", "--scope", "write",
                        "--name", "nightly sync", "--days", "30")
    assert code == 0 and "cannot be shown again" in err
    token = out.strip()
    identity = store(ws).token_identity(token)  # the server, with its own key, accepts it
    assert identity is not None and (identity.role, identity.scope) == ("analyst", "write")

    code, out, _ = fb(ws, "tokens", "list", "--format", "json")
    listed = json.loads(out)
    assert [(t["name"], t["scope"], t["status"], t["prefix"]) for t in listed] == [
        ("nightly sync", "write", "active", token[:10])]
    assert token not in out
    with closing(sqlite3.connect(ws / APP_DB_FILE)) as con:
        assert token not in "\n".join(con.iterdump())

    code, _, err = fb(ws, "tokens", "create", "ana@example.com", "--scope", "admin")
    assert code == 1 and "cannot have scope admin" in err
    code, _, err = fb(ws, "tokens", "create", "ana@example.com", "--days", "400")
    assert code == 1 and "1 to 365 days" in err

    assert fb(ws, "tokens", "revoke", str(listed[0]["id"]))[0] == 0
    assert store(ws).token_identity(token) is None
    code, _, err = fb(ws, "tokens", "revoke", "99")
    assert code == 1 and "no API token with id 99" in err
    code, out, _ = fb(ws, "tokens", "list")
    assert code == 0 and "revoked" in out
