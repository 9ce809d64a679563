"""One condition of a channel rule, evaluated in Python and compiled to DuckDB SQL.

Keeping both evaluations side by side in one small class is what keeps them in agreement: a
new condition kind cannot be added to one language and forgotten in the other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from funnelboard.channels.text import sql_in_list, sql_literal

Kind = Literal["in", "regex"]
#: The three normalised inputs a condition can read.
FIELDS: tuple[str, ...] = ("source", "medium", "campaign")

_SHOWN_VALUES = 8


@dataclass(frozen=True)
class Condition:
    """``fields`` (any of them) equals one of ``values``, or matches ``pattern``.

    ``key`` is the settings key the condition came from (``medium_regex``,
    ``source_category``...); ``label`` names a value list or pattern for people ("search
    list", "PAID") and is empty when the values themselves should be shown.
    """

    key: str
    kind: Kind
    fields: tuple[str, ...]
    values: frozenset[str] = frozenset()
    pattern: str = ""
    label: str = ""
    compiled: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, inputs: Mapping[str, str]) -> bool:
        """Whether the normalised ``inputs`` (field → value) satisfy the condition."""
        if self.kind == "in":
            return any(inputs[name] in self.values for name in self.fields)
        assert self.compiled is not None
        return any(self.compiled.search(inputs[name]) is not None for name in self.fields)

    def sql(self, inputs: Mapping[str, str]) -> str:
        """DuckDB boolean expression; ``inputs`` maps each field to its normalised SQL."""
        if self.kind == "in":
            if not self.values:
                return "FALSE"
            values = sql_in_list(list(self.values))
            parts = [f"{inputs[name]} IN {values}" for name in self.fields]
        else:
            pattern = sql_literal(self.pattern)
            parts = [f"regexp_matches({inputs[name]}, {pattern})" for name in self.fields]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def describe(self) -> str:
        """Short human wording, e.g. ``medium matches PAID`` or ``source in search list``."""
        subject = " or ".join(self.fields)
        if self.kind == "regex":
            return f"{subject} matches {self.label or repr(self.pattern)}"
        if self.label:
            return f"{subject} in {self.label}"
        shown = sorted(self.values)
        if len(shown) == 1:
            return f"{subject} is {shown[0]!r}"
        more = len(shown) - _SHOWN_VALUES
        listed = ", ".join(repr(v) for v in shown[:_SHOWN_VALUES])
        return f"{subject} in ({listed}{f', … {more} more' if more > 0 else ''})"

    def canonical(self) -> list[object]:
        """A JSON-ready form used for the ruleset fingerprint."""
        if self.kind == "in":
            return [self.kind, list(self.fields), sorted(self.values)]
        return [self.kind, list(self.fields), self.pattern]
