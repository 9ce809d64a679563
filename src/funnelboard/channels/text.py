"""How raw source / medium / campaign text is normalised, identically in Python and in DuckDB.

Channel rules run in two places: :meth:`ChannelRules.classify` in Python (the
``channels test`` command, importers) and :meth:`ChannelRules.sql_case` inside DuckDB (metrics
at query time). Both must give the same channel for every input, so the normalisation is
defined once here in both languages:

* ``None`` is the empty string;
* surrounding whitespace is trimmed, where whitespace is every character Python's
  ``str.isspace`` accepts plus the zero-width space and the byte-order mark (spreadsheets and
  copy-paste leave them behind);
* letters are lower-cased one code point at a time. DuckDB 1.5's ``lower`` agrees with Python
  3.11's ``str.lower`` on every code point except ``İ`` (U+0130, DuckDB gives ``i``) and
  Python's context-dependent final sigma (``Σ`` at a word end gives ``ς``, DuckDB gives ``σ``),
  so those two are mapped before calling ``str.lower``. ``test_channels.py`` checks this
  agreement.
"""

from __future__ import annotations

#: Characters trimmed from both ends of every value (Python ``isspace`` + ZWSP + BOM).
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\u200b\ufeff"
)

# Code points where Python's full lower-casing differs from DuckDB's per-code-point one.
_LOWER_FIX = str.maketrans({"\u0130": "i", "\u03a3": "\u03c3"})


def normalise(value: str | None) -> str:
    """Trim and lower-case a raw value the same way :func:`sql_normalise` does in DuckDB."""
    if value is None:
        return ""
    return value.strip(WHITESPACE).translate(_LOWER_FIX).lower()


def sql_literal(value: str) -> str:
    """Quote ``value`` as a DuckDB string literal.

    DuckDB's ordinary ``'…'`` literals take backslashes literally, so doubling single quotes is
    the whole escape. NUL cannot appear inside SQL text, so it is refused here (settings
    validation rejects it earlier with a friendlier message).
    """
    if "\x00" in value:
        raise ValueError("a SQL literal cannot contain a NUL character")
    return "'" + value.replace("'", "''") + "'"


def sql_in_list(values: list[str]) -> str:
    """``(… , …)`` for an ``IN`` test, every value quoted, sorted so the SQL is stable."""
    return "(" + ", ".join(sql_literal(v) for v in sorted(values)) + ")"


def _re2_class(chars: str) -> str:
    """An RE2 character class of ``chars`` with ``\\x{…}`` escapes and ranges (printable SQL)."""
    points = sorted({ord(c) for c in chars})
    runs: list[list[int]] = []
    for point in points:
        if runs and point == runs[-1][1] + 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    parts = [f"\\x{{{a:x}}}" + (f"-\\x{{{b:x}}}" if b > a else "") for a, b in runs]
    return "[" + "".join(parts) + "]"


_SQL_WHITESPACE_CLASS = _re2_class(WHITESPACE)
#: ``regexp_replace`` pattern removing leading and trailing whitespace. DuckDB's own
#: ``trim(x, characters)`` gives the same result but is ~10x slower with a 30-character set.
_SQL_TRIM_PATTERN = sql_literal(f"^{_SQL_WHITESPACE_CLASS}+|{_SQL_WHITESPACE_CLASS}+$")


def sql_normalise(expr: str) -> str:
    """DuckDB expression normalising the SQL expression ``expr`` like :func:`normalise`.

    RE2's ``$`` matches only at the very end of the text (unlike Python's, which also matches
    before a final newline), so this trims exactly what ``str.strip(WHITESPACE)`` trims.
    """
    value = f"coalesce(CAST(({expr}) AS VARCHAR), '')"
    return f"lower(regexp_replace({value}, {_SQL_TRIM_PATTERN}, '', 'g'))"
