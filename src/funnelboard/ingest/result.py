"""What an import reports back: counts, status, issues, and a preview for dry runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from funnelboard.issues import IssueSet

Status = Literal["imported", "no_changes", "rejected", "dry_run"]


@dataclass
class ImportResult:
    table: str
    file: str
    status: Status = "rejected"
    import_id: int | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_removed: int = 0
    dialect: str = ""
    content_hash: str = ""
    issues: IssueSet = field(default_factory=IssueSet)
    preview: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "rejected"

    @property
    def message(self) -> str:
        if self.status == "rejected":
            return "rejected: nothing was written"
        if self.status == "no_changes":
            return "no changes"
        if self.status == "dry_run":
            return "dry run: nothing was written"
        return (f"{self.rows_inserted} inserted, {self.rows_updated} updated, "
                f"{self.rows_unchanged} unchanged"
                + (f", {self.rows_removed} replaced" if self.rows_removed else ""))

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table, "file": self.file, "status": self.status,
            "import_id": self.import_id, "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted, "rows_quarantined": self.rows_quarantined,
            "rows_inserted": self.rows_inserted, "rows_updated": self.rows_updated,
            "rows_unchanged": self.rows_unchanged, "rows_removed": self.rows_removed,
            "dialect": self.dialect, "content_hash": self.content_hash,
            "message": self.message, "issues": self.issues.to_list(),
            "preview": self.preview,
        }
