"""Column mappings: how a file that is not in canonical format lands in a canonical table.

A mapping is data (a TOML file, or ``--map`` options) so that presets for HubSpot, Salesforce,
GA4 and ad platforms ship as files, not code. A mapping file looks like::

    [mapping]
    name = "Salesforce Opportunity export"
    table = "opportunities"            # optional: the table it is meant for
    datetime_format = "%m/%d/%y %I:%M %p"
    date_format = "%m/%d/%y"
    decimal = "."                      # or ","
    timezone = "America/New_York"      # zone of times without an offset (--timezone wins)
    header_row = 3                     # 1-based line of the header (else detected)
    delimiter = ";"                    # else detected among , ; tab |
    encoding = "cp1252"                # else detected (BOM, UTF-8, UTF-16, Windows-1252)
    sheet = "Data"                     # workbooks: else the sheet whose header fits best

    [rename]                           # source header = canonical column (or a list)
    Id = "opportunity_id"
    CreatedDate = "created_at"
    Notes = ""                         # "" ignores a column (reported, not kept)

    [values.stage]                     # raw value = canonical value, per canonical column
    "Closed Won" = "closed_won"

    [constants]                        # columns the file lacks, same value on every row
    currency = "USD"

    [defaults]                         # value used when a cell is empty
    is_won = "false"

    [formats]                          # per-column date/time format
    close_date = "%m/%d/%y"
    probability = "percent"            # a ratio column whose every value is a percentage

``datetime_format`` applies to timestamp columns and ``date_format`` to date columns; a
timestamp column also accepts ``date_format`` (a date-only value is local midnight).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from funnelboard.errors import ConfigError, UsageError
from funnelboard.ingest.dialect import normalise_header
from funnelboard.schema import Table

_OPTIONS = {"name", "table", "date_format", "datetime_format", "decimal", "timezone",
            "delimiter", "encoding", "header_row", "sheet", "description"}
_SECTIONS = {"mapping", "rename", "values", "constants", "defaults", "formats"}


@dataclass
class Mapping:
    """A resolved mapping; ``to_dict`` is stored in the import ledger so rebuilds replay it."""

    name: str = ""
    table: str | None = None
    rename: dict[str, list[str]] = field(default_factory=dict)  # normalised source -> targets
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    datetime_format: str | None = None
    decimal: str | None = None
    timezone: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    header_row: int | None = None
    sheet: str | None = None

    @property
    def is_empty(self) -> bool:
        return self == Mapping()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if value not in (None, "", {}, []):
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mapping:
        return cls(**data)

    def sources_for(self) -> set[str]:
        """Normalised source headers this mapping expects (helps find the header line)."""
        return set(self.rename)

    def check(self, table: Table, *, extra_columns: set[str]) -> None:
        """Every target must be a column of ``table``; raises a usage error otherwise."""
        allowed = set(table.column_names) | extra_columns
        for source, targets in self.rename.items():
            for target in targets:
                if target and target not in allowed:
                    from funnelboard.errors import did_you_mean

                    raise UsageError(
                        f"The mapping sends '{source}' to '{target}', which is not a column of "
                        f"{table.name}.{did_you_mean(target, allowed)}"
                    )
        for section in ("values", "constants", "defaults", "formats"):
            for target in getattr(self, section):
                if target not in allowed:
                    raise UsageError(
                        f"The mapping's [{section}] names '{target}', which is not a column of "
                        f"{table.name}."
                    )
        if self.table and self.table != table.name:
            raise UsageError(
                f"The mapping '{self.name or 'file'}' is for the table {self.table}, not "
                f"{table.name}."
            )


def parse_map_option(text: str) -> tuple[str, str]:
    """``--map "Record ID=contact_id"`` -> (source header, canonical column)."""
    if "=" not in text:
        raise UsageError(
            f"--map '{text}' should look like 'Source header=canonical_column', for example "
            "--map \"Record ID=contact_id\"."
        )
    source, _, target = text.rpartition("=")
    if not source.strip():
        raise UsageError(f"--map '{text}' names no source header before '='.")
    return source.strip(), target.strip()


def load_mapping(path: Path) -> Mapping:
    """Read a mapping TOML file, checking every key."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"The mapping file {path} could not be read: {exc}.") from None
    return mapping_from_document(doc, source=path.name)


def mapping_from_document(doc: dict[str, Any], *, source: str) -> Mapping:
    for key in doc:
        if key not in _SECTIONS:
            raise ConfigError(key, doc[key], "one of the sections " + ", ".join(sorted(_SECTIONS)),
                              source=source)
    m = Mapping()
    for key, value in doc.get("mapping", {}).items():
        if key not in _OPTIONS:
            raise ConfigError(f"mapping.{key}", value, "one of " + ", ".join(sorted(_OPTIONS)),
                              source=source)
        if key == "header_row":
            if not isinstance(value, int) or value < 1:
                raise ConfigError("mapping.header_row", value, "a line number from 1",
                                  source=source)
            m.header_row = value
            continue
        if key != "description":
            if not isinstance(value, str):
                raise ConfigError(f"mapping.{key}", value, "a text value", source=source)
            setattr(m, key, value)
    if m.decimal not in (None, ".", ","):
        raise ConfigError("mapping.decimal", m.decimal, "'.' or ','", source=source)
    if m.timezone:
        try:
            ZoneInfo(m.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError("mapping.timezone", m.timezone, "an IANA time zone",
                              source=source) from None
    for src, target in doc.get("rename", {}).items():
        targets = target if isinstance(target, list) else [target]
        if not all(isinstance(t, str) for t in targets):
            raise ConfigError(f"rename.{src}", target, "a column name or a list of them",
                              source=source)
        add_rename(m, src, [t.strip() for t in targets])
    for col, table in doc.get("values", {}).items():
        if not isinstance(table, dict):
            raise ConfigError(f"values.{col}", table, "a table raw value = canonical value",
                              source=source)
        m.values[col] = {str(k): _text(v) for k, v in table.items()}
    for section in ("constants", "defaults", "formats"):
        for col, value in doc.get(section, {}).items():
            getattr(m, section)[col] = _text(value)
    return m


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def add_rename(m: Mapping, source: str, targets: list[str]) -> None:
    m.rename[normalise_header(source)] = targets
