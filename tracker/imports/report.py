"""What an import reports: row errors by line and column, counts, a preview."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _

MAX_LISTED = 50  # errors listed one by one; the rest are counted


@dataclass(frozen=True)
class RowError:
    line: int | None  # 1 = the header; None = the file as a whole
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(_("line %(n)d", n=self.line))
        if self.column:
            where.append(self.column)
        return f"{', '.join(where)}: {self.message}" if where else self.message


class Report:
    """Collects errors; lists the first MAX_LISTED and counts the rest."""

    def __init__(self, limit: int = MAX_LISTED):
        self.limit = limit
        self.errors: list[RowError] = []
        self.count = 0
        self.bad_lines: set[int] = set()

    def add(self, line: int | None, column: str | None, message: str) -> None:
        self.count += 1
        if line is not None:
            self.bad_lines.add(line)
        if len(self.errors) < self.limit:
            self.errors.append(RowError(line, column, message))

    def __bool__(self) -> bool:
        return self.count > 0


@dataclass
class PreviewRow:
    line: int
    cells: list[str]
    action: str  # created, updated, unchanged, error


@dataclass
class ImportResult:
    """The outcome of one import or dry run, shown by the command and the page alike."""

    kind: str
    dry_run: bool
    columns: list[str] = field(default_factory=list)
    rows: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    error_rows: int = 0
    preview: list[PreviewRow] = field(default_factory=list)
    codes: list[tuple[int, str]] = field(default_factory=list)  # (line, generated child code)
    saved: bool = False

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def more_errors(self) -> int:
        return self.error_count - len(self.errors)

    def summary(self) -> str:
        text = _("%(created)d created, %(updated)d updated, %(unchanged)d unchanged",
                 created=self.counts.get("created", 0), updated=self.counts.get("updated", 0),
                 unchanged=self.counts.get("unchanged", 0))
        if self.counts.get("classes_created"):
            text += "; " + _("%(n)d new classes", n=self.counts["classes_created"])
        return text
