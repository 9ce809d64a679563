"""Quoting helpers: every literal and identifier that reaches SQL passes through here."""

from __future__ import annotations


def lit(value: str | None) -> str:
    """A SQL string literal (or NULL)."""
    if value is None:
        return "NULL"
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(lit(v) for v in values) + "]"


def value(v: str | int | bool | None) -> str:
    """A SQL literal of a plain Python value (NULL, boolean, integer or string).

    For the few statements of an import that would otherwise bind parameters: binding any
    parameter makes DuckDB's Python client import pandas, about half a second on the first
    import of a process. Strings go through :func:`lit`; anything else is refused.
    """
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, str):
        if "\x00" in v:
            raise ValueError("a NUL character cannot be written to the database")
        return lit(v)
    raise TypeError(f"no SQL literal for {type(v).__name__}")
