"""The workspace: a folder with settings, the analytics database, the app database and raw/.

``Workspace`` is the Python API (and what the CLI calls):

>>> ws = Workspace.init("acme")                                      # doctest: +SKIP
>>> result = ws.import_file("contacts", "contacts.csv")              # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from funnelboard import settings as settings_mod
from funnelboard.auth.appdb import ensure_schema as ensure_app_schema
from funnelboard.errors import WorkspaceError
from funnelboard.ingest.mapping import Mapping
from funnelboard.ingest.pipeline import Importer, ImportOptions, Progress
from funnelboard.ingest.result import ImportResult
from funnelboard.metrics.engine import Engine, compute
from funnelboard.metrics.query import make_query
from funnelboard.metrics.result import MetricResult
from funnelboard.settings import SETTINGS_FILE, Settings
from funnelboard.store import database

DB_FILE = "funnelboard.duckdb"
APP_DB_FILE = "app.sqlite"
RAW_DIR = "raw"
TMP_DIR = ".tmp"
REBUILD_MARKER = ".rebuild-in-progress"


#: Workspaces a running server holds, by resolved folder: commands it runs for the CLI borrow
#: them instead of opening the database a second time (DESIGN.md, "One writer").
_SERVED: dict[Path, Workspace] = {}


def serve_workspace(ws: Workspace | None, folder: Path) -> None:
    """Register (or, with None, forget) the workspace a server holds for ``folder``."""
    key = folder.resolve()
    if ws is None:
        _SERVED.pop(key, None)
    else:
        _SERVED[key] = ws


def is_served(folder: Path) -> bool:
    """True when this process is the server holding ``folder``."""
    return folder.resolve() in _SERVED


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    """The workspace folder: the argument, else $FUNNELBOARD_WORKSPACE, else the current one."""
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get("FUNNELBOARD_WORKSPACE")
    return Path(env).expanduser() if env else Path.cwd()


class Workspace:
    """An open workspace. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: Path, settings: Settings, *, read_only: bool = False) -> None:
        self.path = path
        self.settings = settings
        self.read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = None
        self._engine: Engine | None = None

    # -- lifecycle -----------------------------------------------------------------------

    @classmethod
    def init(cls, path: str | os.PathLike[str]) -> Workspace:
        """Create a workspace folder with the default settings; refuses an existing one."""
        folder = Path(path).expanduser()
        if (folder / SETTINGS_FILE).exists():
            raise WorkspaceError(f"{folder} is already a funnelboard workspace.")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / RAW_DIR).mkdir(exist_ok=True)
        settings_mod.write_default(folder / SETTINGS_FILE)
        ensure_app_schema(folder / APP_DB_FILE)  # users, sessions, tokens, audit (auth.appdb)
        ws = cls.open(folder)
        ws.connection()
        return ws

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *,
             read_only: bool = False, allow_rebuild: bool = False) -> Workspace:
        """Open an existing workspace (settings are checked now; the database on first use)."""
        folder = resolve_path(path)
        if (folder / REBUILD_MARKER).exists() and not allow_rebuild:
            raise WorkspaceError(
                f"A rebuild of {folder} was interrupted, so its database may be incomplete. Run "
                "'funnelboard rebuild' again to finish it (the previous database is kept as "
                "funnelboard.duckdb.bak until then)."
            )
        served = _SERVED.get(folder.resolve())
        if served is not None:
            return served.borrow()
        settings_file = folder / SETTINGS_FILE
        if not settings_file.exists():
            raise WorkspaceError(
                f"{folder} is not a funnelboard workspace (no {SETTINGS_FILE}). Create one with "
                f"'funnelboard init {folder}', or pass --workspace."
            )
        return cls(folder, settings_mod.load(settings_file), read_only=read_only)

    def borrow(self) -> Workspace:
        """The same open workspace for a command the server runs: closing it is a no-op."""
        borrowed = _Borrowed(self.path, self.settings, read_only=self.read_only)
        borrowed.owner = self
        return borrowed

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = database.connect(
                self.path / DB_FILE, read_only=self.read_only, timezone=self.settings.timezone,
                memory_limit_mb=self.settings.limits.memory_limit_mb)
            if not self.read_only:
                database.ensure_schema(self._con)
        return self._con

    def close(self) -> None:
        self._engine = None
        if self._con is not None:
            self._con.close()
            self._con = None
            if not self.read_only:
                database.release_writer(self.path)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- imports -------------------------------------------------------------------------

    def importer(self) -> Importer:
        if self.read_only:
            raise WorkspaceError("This workspace was opened read-only; imports need write access.")
        return Importer(self.connection(), self.settings, self.path / RAW_DIR, self.path / TMP_DIR)

    def import_file(
        self,
        table: str,
        path: str | os.PathLike[str],
        *,
        mapping: Mapping | None = None,
        timezone: str | None = None,
        max_bad_rows: str | int | None = None,
        append: bool = False,
        dry_run: bool = False,
        as_of: dt.date | None = None,
        display_name: str | None = None,
        progress: Progress | None = None,
    ) -> ImportResult:
        """Import one file into a canonical table; see docs/importing.md."""
        source = Path(path)
        options = ImportOptions(
            mapping=mapping or Mapping(), timezone=timezone,
            max_bad_rows=None if max_bad_rows is None else str(max_bad_rows), append=append,
            dry_run=dry_run, as_of=as_of, display_name=display_name or source.name,
            progress=progress,
        )
        if is_served(self.path) and not _inside(source, self.path):
            # a served database may only read its own folder (web/server.py hardens it), so
            # a file from elsewhere is copied into the workspace's scratch folder first
            with _local_copy(source, self.path / TMP_DIR) as local:
                return self.importer().run(table, local, options)
        return self.importer().run(table, source, options)

    # -- reads ---------------------------------------------------------------------------

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a read query on the analytics database (parameters bound, never formatted)."""
        return self.connection().execute(sql, params or []).fetchall()

    # -- metrics -------------------------------------------------------------------------

    def engine(self) -> Engine:
        """The metric engine over this workspace's database (made once per connection)."""
        if self._engine is None:
            self._engine = Engine.for_workspace(self)
        return self._engine

    def metric(self, key: str, **query: Any) -> MetricResult:
        """Compute one metric; the options are those of ``funnelboard metrics show`` (see
        docs/metrics-engine.md): start, end, as_of, grain, by, filters, basis, rule, level,
        compare, transition, probability."""
        return compute(self.engine(), make_query(key, timezone=self.settings.timezone, **query))

    def funnel(self, **query: Any) -> MetricResult:
        """The funnel: every stage's reached count per period (a ``stage`` dimension), with
        the conversion from the previous stage as numerator ÷ denominator."""
        from funnelboard.metrics.funnel_view import funnel

        return funnel(self.engine(),
                      make_query("funnel", timezone=self.settings.timezone, **query))


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def _local_copy(source: Path, scratch: Path) -> Iterator[Path]:
    """A copy of ``source`` in ``scratch`` (same suffix), removed afterwards."""
    if not source.is_file():
        raise WorkspaceError(f"{source} is not a file that can be read.")
    scratch.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(suffix=source.suffix.lower(), dir=scratch)
    os.close(handle)
    local = Path(name)
    try:
        shutil.copyfile(source, local)
        yield local
    finally:
        local.unlink(missing_ok=True)


class _Borrowed(Workspace):
    """A server's workspace lent to one command: same connection, and close leaves it open."""

    owner: Workspace

    def connection(self) -> duckdb.DuckDBPyConnection:
        return self.owner.connection()

    def engine(self) -> Engine:
        return self.owner.engine()

    def close(self) -> None:
        """The server keeps the workspace open."""
