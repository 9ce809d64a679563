"""The one issue type shared by import, validation, CLI, API and web.

An :class:`Issue` says what is wrong with a file, a row or a value, in words, with the
location (file, row, column) and a stable ``code`` that scripts and docs can rely on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Level = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Issue:
    """One finding about an import.

    ``level`` is ``error`` (the file or the rows it names are not loaded), ``warning`` (kept but
    worth a look) or ``info`` (how the file was read: dialect, coercions, skipped lines).
    ``count`` is how many rows share this finding; ``row`` is the first of them.
    """

    level: Level
    code: str
    message: str
    file: str = ""
    row: int | None = None
    column: str | None = None
    value: str | None = None
    count: int = 1

    def location(self) -> str:
        """``file, row R, column 'C'`` with the parts that are known."""
        parts = [self.file] if self.file else []
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


@dataclass
class IssueSet:
    """An ordered collection of issues with helpers for counting by level."""

    items: list[Issue] = field(default_factory=list)

    def add(self, issue: Issue) -> None:
        self.items.append(issue)

    def extend(self, issues: list[Issue] | IssueSet) -> None:
        self.items.extend(issues.items if isinstance(issues, IssueSet) else issues)

    def __iter__(self) -> Iterator[Issue]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.items if i.level == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.items if i.level == "warning"]

    def codes(self) -> set[str]:
        return {i.code for i in self.items}

    def to_list(self) -> list[dict[str, Any]]:
        return [i.to_dict() for i in self.items]
