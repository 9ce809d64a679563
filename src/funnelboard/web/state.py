"""Everything the running server holds: the workspace, its read view, the writer queue, the
app database and a result cache keyed by who asks (reliability-plan.md G5, T10)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from funnelboard.auth import AuthStore
from funnelboard.settings import Settings
from funnelboard.web.access import Identity
from funnelboard.web.jobs import Job, JobQueue
from funnelboard.web.readview import ReadView
from funnelboard.workspace import Workspace, serve_workspace

CACHE_ENTRIES = 256


def freeze(value: Any) -> Any:
    """A hashable, order-independent form of request parameters (dicts, lists, tuples)."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


class ResultCache:
    """Page and API results by (user, role, data version, request): a result computed for one
    identity is never served to another, and an import or target change empties it."""

    def __init__(self, size: int = CACHE_ENTRIES) -> None:
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        self.version = 0

    @staticmethod
    def key(identity: Identity | None, *parts: Any) -> tuple[Any, ...]:
        who = (identity.user_id, identity.role, identity.via) if identity else ("anonymous",)
        return (*who, *(freeze(p) for p in parts))

    def get_or_compute(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        full = (self.version, *key)
        with self._lock:
            if full in self._items:
                self._items.move_to_end(full)
                return self._items[full]
        value = compute()
        with self._lock:
            self._items[full] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self.version += 1
            self._items.clear()


@dataclass
class ServerState:
    workspace: Workspace
    auth: AuthStore
    #: cookies marked Secure (the server is reached over HTTPS, e.g. behind a proxy)
    secure_cookies: bool = False
    reader: ReadView = field(init=False)
    jobs: JobQueue = field(init=False)
    cache: ResultCache = field(default_factory=ResultCache)

    def __post_init__(self) -> None:
        self.reader = ReadView(self.workspace)
        self.jobs = JobQueue(after=self._changed)
        serve_workspace(self.workspace, self.workspace.path)

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    def _changed(self, job: Job) -> None:
        self.cache.clear()

    def close(self) -> None:
        serve_workspace(None, self.workspace.path)
        self.jobs.stop()
        self.reader.close()
        self.workspace.close()
