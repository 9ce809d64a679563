"""CLI commands run by the server while it holds the workspace (DESIGN.md, "One writer").

While ``funnelboard serve`` runs, the database is the server's; a CLI command in another
process finds ``.server.json`` and posts its arguments here with the per-start token from that
file (mode 0600, so only the user who started the server can read it). The command runs in
the writer queue, after any import in progress, with its output captured and sent back.
"""

from __future__ import annotations

import contextlib
import io
from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, Response

from funnelboard.web.access import allow
from funnelboard.web.state import ServerState

router = APIRouter(include_in_schema=False)
#: commands that cannot run inside a server (they create or replace the database)
REFUSED = ("serve", "demo", "init", "rebuild")
MAX_ARGS = 200


#: global options that take a value (before the command name)
GLOBAL_VALUE_OPTIONS = ("-w", "--workspace", "--as-of")


def command_name(argv: list[str]) -> str | None:
    """The command of ``argv``: its first word that is not a global option or its value."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in GLOBAL_VALUE_OPTIONS:
            skip = True
            continue
        if arg.startswith("-"):
            continue
        return arg
    return None


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run one ``funnelboard`` command in this process; (exit status, stdout, stderr)."""
    import click

    from funnelboard.cli.app import app

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            import typer.main

            typer.main.get_command(app).main(args=argv, prog_name="funnelboard",
                                             standalone_mode=False)
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        except click.exceptions.Abort:
            code = 1
    return code, out.getvalue(), err.getvalue()


@router.post("/internal/cli", dependencies=[allow("server")])
def cli(request: Request, argv: Annotated[list[str], Body(embed=True, max_length=MAX_ARGS)]
        ) -> Response:
    state: ServerState = request.app.state.server
    name = command_name(argv)
    if name in REFUSED:
        return JSONResponse({"exit_code": 2, "stdout": "",
                             "stderr": f"Error: '{name}' cannot run while the server holds "
                                       "the workspace; stop 'funnelboard serve' first.\n"})
    job = state.jobs.run("cli", " ".join(argv)[:200], lambda: run_cli(argv))
    if job.status != "done":
        return JSONResponse({"exit_code": 1, "stdout": "",
                             "stderr": f"Error: {job.error or 'the command did not finish'}\n"})
    code, stdout, stderr = job.result
    return JSONResponse({"exit_code": code, "stdout": stdout, "stderr": stderr})
