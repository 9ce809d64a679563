"""SQL that turns raw text cells into typed canonical values.

Typing runs inside DuckDB as one set of macros, so millions of rows are typed without a Python
loop. Each macro returns NULL for a value it cannot read; the caller compares with the raw text
to tell "empty" from "unreadable", and unreadable values send their row to quarantine.
"""

from __future__ import annotations

import duckdb

from funnelboard.ingest.sqltext import lit, lit_list

#: Cells that mean "no value" in exports (Google Ads writes " --"); read as empty, never 0.
PLACEHOLDERS = ("--",)
#: Extra "no value" spellings accepted in number, date and boolean columns.
TYPED_PLACEHOLDERS = ("--", "-", "n/a", "#n/a", "null", "none", "(none)")

#: ``[formats] <ratio column> = "percent"``: every value is a percentage (Salesforce
#: ``Probability`` is 0-100, so its 1 means 1%, not 100%).
PERCENT = "percent"

TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")

#: Tried in order when a value is not ISO 8601 (and no format was given).
AUTO_DATE_FORMATS = (
    "%Y%m%d", "%Y%m%d%H", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y",
    "%d.%m.%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%Y/%m/%d", "%Y/%m/%d %H:%M:%S",
)
MONTH_FIRST = (
    "%m/%d/%y", "%m/%d/%y %H:%M", "%m/%d/%y %I:%M %p", "%m/%d/%y %H:%M:%S",
    "%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
)
DAY_FIRST = tuple(f.replace("%m/%d", "%d/%m") for f in MONTH_FIRST)

_MACROS = [
    # the numeric text with currency signs, spaces and parenthesised negatives removed
    r"""fb_numstrip(v) AS regexp_replace(
        v, '^[A-Za-z]{3}\s|\s[A-Za-z]{3}$|[$€£¥\s\x{00a0}\x{202f}]', '', 'g')""",
    r"""fb_negfix(s) AS (
        CASE WHEN regexp_matches(s, '^\((.*)\)$') THEN '-' || regexp_extract(s, '^\((.*)\)$', 1)
             WHEN regexp_matches(s, '^[^-].*-$') THEN '-' || rtrim(s, '-')
             ELSE s END)""",
    r"""fb_numclean(v) AS fb_negfix(fb_numstrip(v))""",
    r"""fb_numtext_dot0(s) AS (
        CASE WHEN regexp_matches(s, '^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$')
              AND regexp_matches(s, '\d') THEN replace(s, ',', '') END)""",
    r"""fb_numtext_dot(v) AS fb_numtext_dot0(fb_numclean(v))""",
    r"""fb_numtext_comma0(s) AS (
        CASE WHEN regexp_matches(s, '^[+-]?(\d{1,3}(\.\d{3})+|\d+)?(,\d+)?([eE][+-]?\d+)?$')
              AND regexp_matches(s, '\d') THEN replace(replace(s, '.', ''), ',', '.') END)""",
    r"""fb_numtext_comma(v) AS fb_numtext_comma0(fb_numclean(v))""",
    r"""fb_finite(x) AS (CASE WHEN isfinite(x) THEN x END)""",
    # CASE (not coalesce): the slow regex path only runs on cells the fast cast rejects
    r"""fb_num_dot(v) AS fb_finite(CASE WHEN TRY_CAST(v AS DOUBLE) IS NOT NULL
        THEN TRY_CAST(v AS DOUBLE) ELSE TRY_CAST(fb_numtext_dot(v) AS DOUBLE) END)""",
    r"""fb_num_comma(v) AS fb_finite(TRY_CAST(fb_numtext_comma(v) AS DOUBLE))""",
    r"""fb_int_of(x) AS (CASE WHEN x = trunc(x) AND abs(x) < 9e18 THEN CAST(x AS BIGINT) END)""",
    r"""fb_int_dot(v) AS (CASE WHEN regexp_matches(v, '^[+-]?\d{1,18}$')
        THEN TRY_CAST(v AS BIGINT) ELSE fb_int_of(fb_num_dot(v)) END)""",
    r"""fb_int_comma(v) AS fb_int_of(fb_num_comma(v))""",
    r"""fb_money_dot(v) AS (CASE WHEN regexp_matches(v, '^[+-]?\d{1,16}(\.\d{1,4})?$')
        THEN TRY_CAST(v AS DECIMAL(20,4)) ELSE TRY_CAST(fb_numtext_dot(v) AS DECIMAL(20,4)) END)""",
    r"""fb_money_comma(v) AS TRY_CAST(fb_numtext_comma(v) AS DECIMAL(20,4))""",
    r"""fb_bool(v) AS (CASE WHEN list_contains(""" + lit_list(TRUE_WORDS)
    + r""", lower(v)) THEN true WHEN list_contains(""" + lit_list(FALSE_WORDS)
    + r""", lower(v)) THEN false END)""",
    # a value that already is a slug is itself (a full match is ~3x cheaper than the replace)
    r"""fb_slug(v) AS (CASE WHEN regexp_full_match(v, '[a-z0-9]+(_[a-z0-9]+)*') THEN v
        ELSE nullif(trim(regexp_replace(lower(v), '[^\p{L}\p{N}]+', '_', 'g'), '_'), '') END)""",
    # a leading apostrophe written by our own export (or a careful user) before a formula sign
    r"""fb_unescape(v) AS (CASE WHEN NOT starts_with(v, chr(39)) THEN v
                                WHEN regexp_matches(v, '^''\s*[=+\-@\t\r]')
                                THEN substr(v, 2) ELSE v END)""",
    r"""fb_year_ok(y) AS (y BETWEEN 1900 AND 2199)""",
    # nullif(trim(v), ''), but without trimming (which copies the string) the cells that
    # need none: all-ASCII text without a leading or trailing space (trim removes spaces and
    # Unicode space separators only, all of them non-ASCII but U+0020). 2-3x faster on clean
    # exports.
    r"""fb_trim(v) AS (CASE WHEN NOT starts_with(v, ' ') AND NOT ends_with(v, ' ')
        AND strlen(v) = length(v) THEN nullif(v, '') ELSE nullif(trim(v), '') END)""",
]


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the typing macros on this connection (temporary: they live with it).

    Creating them costs about 50 ms, so a connection that already has them keeps them.
    """
    try:
        con.execute("SELECT fb_year_ok(2000)")
        return
    except duckdb.Error:
        pass  # not installed on this connection yet
    for body in _MACROS:
        con.execute(f"CREATE OR REPLACE TEMP MACRO {body}")


def clean(raw: str, *, typed: bool, value_map: dict[str, str] | None,
          default: str | None, trimmed: bool = False) -> str:
    """Trim, map values, read placeholders as empty, undo formula escapes, apply a default.

    ``trimmed`` says ``raw`` already is ``nullif(trim(cell), '')`` (computed once upstream).
    """
    v = raw if trimmed else f"nullif(trim({raw}), '')"
    if value_map:
        whens = " ".join(f"WHEN {lit(k.strip().lower())} THEN {lit(val)}"
                         for k, val in value_map.items())
        v = f"(CASE lower({v}) {whens} ELSE {v} END)"
    if typed:
        # list_contains, not IN: DuckDB may plan a long IN list as a join, which is slow here
        empty = f"length({v}) <= 6 AND list_contains({lit_list(TYPED_PLACEHOLDERS)}, lower({v}))"
    else:
        empty = f"list_contains({lit_list(PLACEHOLDERS)}, {v})"
    v = f"(CASE WHEN {empty} THEN NULL ELSE fb_unescape({v}) END)"
    if default is not None:
        v = f"coalesce({v}, {lit(default)})"
    return v


def typed(v: str, col_type: str, *, decimal: str, formats: tuple[str, ...]) -> str:
    """The typed value of cleaned text ``v`` (NULL when unreadable)."""
    mode = "comma" if decimal == "," else "dot"
    if col_type in ("id", "text"):
        return v
    if col_type == "slug":
        return f"fb_slug({v})"
    if col_type == "num":
        return f"fb_num_{mode}({v})"
    if col_type == "int":
        return f"fb_int_{mode}({v})"
    if col_type == "money":
        return f"fb_money_{mode}({v})"
    if col_type == "bool":
        return f"fb_bool({v})"
    if col_type == "ratio":
        number = f"fb_num_{mode}(rtrim({v}, '%'))"
        if PERCENT in formats:
            return f"({number} / 100)"
        return (f"(CASE WHEN {v} LIKE '%\\%' ESCAPE '\\' THEN {number} / 100 "
                f"WHEN {number} > 1 AND {number} <= 100 THEN {number} / 100 "
                f"ELSE {number} END)")
    if col_type == "ts":
        return _ts(v, formats)
    if col_type == "date":
        return _date(v, formats)
    raise ValueError(col_type)


def _ts(v: str, formats: tuple[str, ...]) -> str:
    # An ISO value without offset is cast in the session time zone, which the importer sets to
    # the file's zone: that is what makes "no offset = local time" hold. CASE rather than
    # coalesce keeps the slower strptime fallbacks off the cells the fast cast reads.
    fast = f"TRY_CAST({v} AS TIMESTAMPTZ)"
    slow = f"CAST(try_strptime({v}, {lit_list(AUTO_DATE_FORMATS)}) AS TIMESTAMPTZ)"
    if formats:
        return (f"coalesce(CAST(try_strptime({v}, {lit_list(formats)}) AS TIMESTAMPTZ), "
                f"{fast}, {slow})")
    return f"(CASE WHEN {fast} IS NOT NULL THEN {fast} ELSE {slow} END)"


def _date(v: str, formats: tuple[str, ...]) -> str:
    fast = f"TRY_CAST({v} AS DATE)"
    slow = f"CAST(try_strptime({v}, {lit_list(AUTO_DATE_FORMATS)}) AS DATE)"
    if formats:
        return f"coalesce(CAST(try_strptime({v}, {lit_list(formats)}) AS DATE), {fast}, {slow})"
    return f"(CASE WHEN {fast} IS NOT NULL THEN {fast} ELSE {slow} END)"


def ratio_is_percent(v: str, *, decimal: str, declared: bool = False) -> str:
    """True when a ratio cell was read as a percentage (reported as a coercion)."""
    mode = "comma" if decimal == "," else "dot"
    number = f"fb_num_{mode}(rtrim({v}, '%'))"
    if declared:
        return f"({number} IS NOT NULL)"
    return f"({v} NOT LIKE '%\\%' ESCAPE '\\' AND {number} > 1 AND {number} <= 100)"
