"""The server's read side: metric queries on their own DuckDB cursor, one snapshot per request.

DuckDB lets one process write; inside it, each cursor is its own connection with snapshot
isolation. Imports run on the workspace's main connection in the job thread; requests read
through :class:`ReadView`, which wraps each request in one read transaction so a page computed
from many queries sees the database before an import or after it, never a mix
(reliability-plan.md G12, T33).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import duckdb

from funnelboard.metrics.engine import Engine, compute
from funnelboard.metrics.query import make_query
from funnelboard.metrics.result import MetricResult
from funnelboard.settings import Settings
from funnelboard.workspace import Workspace


class ReadView:
    """Metric reads over a cursor of the workspace's connection (thread-safe by a lock)."""

    def __init__(self, workspace: Workspace) -> None:
        self.path = workspace.path
        self.settings: Settings = workspace.settings
        self._cursor = workspace.connection().cursor()
        self._cursor.execute(f"SET TimeZone = '{self.settings.timezone}'")
        self._engine: Engine | None = None
        self._lock = threading.RLock()
        self._depth = 0

    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._cursor

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[ReadView]:
        """Hold the read view for one request: every query inside sees one database state."""
        with self._lock:
            self._depth += 1
            outer = self._depth == 1
            if outer:
                self._cursor.execute("BEGIN TRANSACTION")
            try:
                yield self
            finally:
                self._depth -= 1
                if outer:
                    # COMMIT, not ROLLBACK: temporary tables the engine registered stay valid
                    self._cursor.execute("COMMIT")

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine.for_workspace(self)
        return self._engine

    def metric(self, key: str, **query: Any) -> MetricResult:
        with self.snapshot():
            return compute(self.engine(), make_query(key, timezone=self.settings.timezone,
                                                     **query))

    def funnel(self, **query: Any) -> MetricResult:
        from funnelboard.metrics.funnel_view import funnel

        with self.snapshot():
            return funnel(self.engine(),
                          make_query("funnel", timezone=self.settings.timezone, **query))

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """A read query with bound parameters."""
        with self.snapshot():
            return self._cursor.execute(sql, params or []).fetchall()

    def query_dicts(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        with self.snapshot():
            cur = self._cursor.execute(sql, params or [])
            names = [d[0] for d in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def close(self) -> None:
        with self._lock:
            self._engine = None
            self._cursor.close()
