"""``funnelboard users`` and ``funnelboard tokens``: accounts and API tokens from the shell.

The first admin is made here (or through the one-time login link the server prints), never
through an unauthenticated web page. These commands write ``app.sqlite`` directly, which is
safe while the server runs (SQLite in WAL mode). They never need the server's secret key: it
only keys session hashes, and API tokens are hashed without it (docs/security.md).
"""

from __future__ import annotations

import datetime as dt
import getpass
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from funnelboard.auth import AuthStore, User
from funnelboard.cli import render
from funnelboard.errors import AuthError, UsageError
from funnelboard.workspace import APP_DB_FILE, Workspace

users_app = typer.Typer(no_args_is_help=True, help="Users of the dashboard and API: add, list, "
                        "change a role, disable or enable, set a password.")
tokens_app = typer.Typer(no_args_is_help=True,
                         help="API tokens: create one (shown once), list them, revoke one.")

F = TypeVar("F", bound=Callable[..., Any])
WorkspaceOpt = Annotated[Path | None, typer.Option(
    "--workspace", "-w", envvar="FUNNELBOARD_WORKSPACE",
    help="Workspace folder (default: $FUNNELBOARD_WORKSPACE, else the current folder).")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table or json.")]
EmailArg = Annotated[str, typer.Argument(help="The user's email address.")]
PasswordStdinOpt = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from one line of standard input instead of "
    "asking for it.")]


def _store(ctx: typer.Context, workspace: Path | None) -> AuthStore:
    folder = workspace or getattr(ctx.obj, "workspace", None)
    with Workspace.open(folder) as ws:
        # sessions are the only values hashed with the server's key, and no command here
        # touches them, so a throwaway key is enough
        return AuthStore(ws.path / APP_DB_FILE, secrets.token_bytes(32), ws.settings.server)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"


def _user(store: AuthStore, email: str) -> User:
    user = store.find_user(email)
    if user is None:
        raise AuthError(f"There is no user with the email {email.strip()}; 'funnelboard users "
                        "list' shows them.")
    return user


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    answer: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return answer


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise UsageError(f"--format '{fmt}' is not one of table, json.")


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


@users_app.command("add")
@render.friendly
def users_add(
    ctx: typer.Context, email: EmailArg,
    admin: Annotated[bool, typer.Option("--admin", help="Same as --role admin.")] = False,
    role: Annotated[str | None, typer.Option(
        "--role", help="viewer (reads), analyst (also imports and edits) or admin (also "
        "manages users); default viewer.")] = None,
    password_stdin: PasswordStdinOpt = False, workspace: WorkspaceOpt = None,
) -> None:
    """Add a user; asks for the password twice (at least 12 characters)."""
    if admin and role not in (None, "admin"):
        raise UsageError(f"--admin and --role {role} contradict each other; give one.")
    store = _store(ctx, workspace)
    user = store.add_user(email, _password(password_stdin), "admin" if admin else role or
                          "viewer", actor=_actor())
    render.console.print(f"Added {user.email} as {user.role}.", highlight=False)


@users_app.command("list")
@render.friendly
def users_list(ctx: typer.Context, fmt: FormatOpt = "table",
               workspace: WorkspaceOpt = None) -> None:
    """List the users with their role, status and last sign-in."""
    _check_format(fmt)
    users = _store(ctx, workspace).list_users()
    if fmt == "json":
        render.print_json([u.to_dict() for u in users])
        return
    render.table("Users", ["id", "email", "role", "status", "password", "created",
                           "last sign-in"],
                 [[u.id, u.email, u.role, "disabled" if u.disabled else "active",
                   "set" if u.has_password else "none", _when(u.created_at),
                   _when(u.last_login_at)] for u in users])


@users_app.command("set-role")
@render.friendly
def users_set_role(
    ctx: typer.Context, email: EmailArg,
    role: Annotated[str, typer.Argument(help="viewer, analyst or admin.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Change a user's role; their sessions end, their tokens follow the new role at once."""
    store = _store(ctx, workspace)
    user = store.set_role(_user(store, email).id, role, actor=_actor())
    render.console.print(f"{user.email} is now {user.role}; they need to sign in again.",
                         highlight=False)


@users_app.command("disable")
@render.friendly
def users_disable(ctx: typer.Context, email: EmailArg, workspace: WorkspaceOpt = None) -> None:
    """Disable a user: sessions end at once and API tokens stop working."""
    store = _store(ctx, workspace)
    user = store.set_disabled(_user(store, email).id, True, actor=_actor())
    render.console.print(f"Disabled {user.email}.", highlight=False)


@users_app.command("enable")
@render.friendly
def users_enable(ctx: typer.Context, email: EmailArg, workspace: WorkspaceOpt = None) -> None:
    """Enable a disabled user again (their unexpired, unrevoked tokens work again)."""
    store = _store(ctx, workspace)
    user = store.set_disabled(_user(store, email).id, False, actor=_actor())
    render.console.print(f"Enabled {user.email}.", highlight=False)


@users_app.command("set-password")
@render.friendly
def users_set_password(ctx: typer.Context, email: EmailArg,
                       password_stdin: PasswordStdinOpt = False,
                       workspace: WorkspaceOpt = None) -> None:
    """Set a user's password; their sessions and API tokens end at once."""
    store = _store(ctx, workspace)
    user = _user(store, email)
    store.set_password(user.id, _password(password_stdin), actor=_actor())
    render.console.print(f"Set a new password for {user.email}; their sessions and API "
                         "tokens have ended.", highlight=False)


@users_app.command("link")
@render.friendly
def users_link(ctx: typer.Context,
               minutes: Annotated[int, typer.Option("--minutes", min=1, max=60)] = 15,
               url: Annotated[str, typer.Option("--url", help="The server's address.")] =
               "http://127.0.0.1:8000",
               workspace: WorkspaceOpt = None) -> None:
    """Print a single-use admin sign-in link (valid 15 minutes; works while the server runs)."""
    store = _store(ctx, workspace)
    token = store.create_login_link(minutes, actor=_actor())
    render.console.print(f"Sign in as admin (single use, valid {minutes} minutes): "
                         f"{url.rstrip('/')}/login?token={token}", highlight=False,
                         soft_wrap=True)


@tokens_app.command("create")
@render.friendly
def tokens_create(
    ctx: typer.Context, email: EmailArg,
    scope: Annotated[str, typer.Option(
        "--scope", help="read (view), write (also import and edit) or admin; never more "
        "than the user's role.")] = "read",
    days: Annotated[int | None, typer.Option(
        "--days", help="Lifetime in days (default and maximum: server settings).")] = None,
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "",
    workspace: WorkspaceOpt = None,
) -> None:
    """Create an API token for a user and print it once."""
    store = _store(ctx, workspace)
    plaintext, info = store.create_token(_user(store, email).id, name, scope, days,
                                         actor=_actor())
    sys.stdout.write(plaintext + "\n")
    render.err_console.print(
        f"Token {info.id} for {info.email}, scope {info.scope}, expires "
        f"{_when(info.expires_at)}. Copy it now: it is not stored and cannot be shown again. "
        "Send it as 'Authorization: Bearer <token>'.", highlight=False)


@tokens_app.command("list")
@render.friendly
def tokens_list(
    ctx: typer.Context,
    email: Annotated[str | None, typer.Option("--user", help="Only this user's tokens.")] = None,
    fmt: FormatOpt = "table", workspace: WorkspaceOpt = None,
) -> None:
    """List API tokens (their first characters only; the rest is never stored)."""
    _check_format(fmt)
    store = _store(ctx, workspace)
    tokens = store.list_tokens(_user(store, email).id if email else None)
    now = store.clock()
    if fmt == "json":
        render.print_json([t.to_dict(now) for t in tokens])
        return
    render.table("API tokens", ["id", "user", "name", "scope", "starts with", "status",
                                "expires", "last used"],
                 [[t.id, t.email, t.name, t.scope, t.prefix + "…", t.status(now),
                   _when(t.expires_at), _when(t.last_used)] for t in tokens])


@tokens_app.command("revoke")
@render.friendly
def tokens_revoke(ctx: typer.Context,
                  token_id: Annotated[int, typer.Argument(help="The id from 'tokens list'.")],
                  workspace: WorkspaceOpt = None) -> None:
    """Revoke an API token; it stops working at once."""
    info = _store(ctx, workspace).revoke_token(token_id, actor=_actor())
    render.console.print(f"Revoked token {info.id} ({info.name or 'unnamed'}) of {info.email}.",
                         highlight=False)
