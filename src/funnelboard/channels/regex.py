"""Accept only regular expressions that mean the same in Python ``re`` and DuckDB (RE2).

A rule's regex runs in Python (``classify``) and in DuckDB (``sql_case``); a pattern the two
engines read differently would give a channel in one place and another in the other. So a
pattern must compile in both, with Python in ASCII mode (``\\d``, ``\\w``, ``\\b`` mean ASCII
there, as in RE2), and known divergences are refused up front:

* Python-only or RE2-only syntax (lookaround, back-references, ``\\Z`` / ``\\z``, ``\\p{…}``,
  ``\\Q…\\E``) fails to compile in one of them;
* ``[[:alpha:]]`` is a POSIX class in RE2 but a nested-set warning in Python: Python warnings
  count as errors;
* ``{,n}`` is a repetition in Python but literal text in RE2: refused;
* upper-case letters can never match because values are lower-cased first: refused, with a
  hint to write the pattern in lower case.

One remaining difference is documented rather than refused: ``\\s`` also matches a vertical
tab inside a value in Python but not in RE2.
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache

import duckdb

from funnelboard.channels.text import sql_literal


def _uppercase_letter(pattern: str) -> str | None:
    """The first upper-case letter that is literal text (not an escape or group name)."""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 4 if pattern[i + 1 : i + 2] == "x" else 2
            continue
        if pattern.startswith("(?P<", i):
            end = pattern.find(">", i)
            i = end + 1 if end > 0 else len(pattern)
            continue
        if char.isupper():
            return char
        i += 1
    return None


def compile_python(pattern: str) -> re.Pattern[str] | str:
    """The compiled pattern, or a sentence saying why it is refused."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            compiled = re.compile(pattern, re.ASCII)
        except (re.error, Warning) as exc:
            return f"a regular expression Python can read ({exc})"
    if "{," in pattern:
        return "a regular expression without '{,n}' (write '{0,n}'; DuckDB reads '{,' as text)"
    upper = _uppercase_letter(pattern)
    if upper is not None:
        return (
            f"a lower-case regular expression (values are lower-cased before matching, so "
            f"{upper!r} can never match)"
        )
    return compiled


@lru_cache(maxsize=1024)
def check_in_duckdb(pattern: str) -> str | None:
    """``None`` when DuckDB's RE2 accepts ``pattern``, else a sentence saying why not.

    Cached: the default rules repeat a few patterns and settings are parsed often.
    """
    with duckdb.connect() as con:
        try:
            # A literal, not a bound parameter: binding parameters imports pandas (~0.5 s).
            con.execute(f"SELECT regexp_matches('', {sql_literal(pattern)})").fetchall()
        except duckdb.Error as exc:
            reason = str(exc).split(":", 1)[-1].strip()
            return f"a regular expression DuckDB can read ({reason})"
    return None
