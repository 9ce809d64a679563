"""One exception family for funnelboard.

Every error a user can meet is a :class:`FunnelboardError` whose message is a sentence a
marketing-ops analyst understands: what went wrong, where, and what to do next. Transports
(CLI, API, web) catch this one type and render its message; anything else is a bug.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggest(word: str, choices: Iterable[str], *, limit: int = 3) -> list[str]:
    """Return up to ``limit`` close matches for ``word`` among ``choices``.

    Used by every "unknown name" error so that typos come back with a hint.
    """
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=limit, cutoff=0.6)
    return [lowered[m] for m in matches]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A short " Did you mean …?" clause, or an empty string when nothing is close."""
    close = suggest(word, choices)
    if not close:
        return ""
    return " Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


class FunnelboardError(Exception):
    """Base of every error funnelboard raises on purpose; ``exit_code`` is the CLI status."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(FunnelboardError):
    """The command or call was given options that cannot work together (exit status 2)."""

    exit_code = 2


class ConfigError(FunnelboardError):
    """A setting in ``funnelboard.toml`` (or a mapping file) is invalid."""

    exit_code = 2

    def __init__(self, key: str, value: object, allowed: str, *, source: str = "") -> None:
        where = f" in {source}" if source else ""
        super().__init__(
            f"The setting '{key}'{where} is {value!r}, which is not allowed: {allowed}."
        )
        self.key = key
        self.value = value
        self.allowed = allowed


class WorkspaceError(FunnelboardError):
    """The workspace folder is missing, not initialised, or held by another process."""


class UnknownNameError(UsageError):
    """A table, column, metric or other name that does not exist; lists close matches."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]) -> None:
        options = sorted(choices)
        hint = did_you_mean(name, options)
        super().__init__(
            f"Unknown {kind} '{name}'.{hint} Known {kind}s: {', '.join(options)}."
        )
        self.name = name
        self.choices = options


class SourceError(FunnelboardError):
    """A file that cannot be imported at all (unreadable, no header, no good row...)."""


class AuthError(FunnelboardError):
    """A sign-in, session, token or user-account request that cannot be granted, or a server
    secret key that is missing or unsafe."""
