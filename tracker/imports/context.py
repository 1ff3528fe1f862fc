"""What every kind's validation shares: who imports (and so the scope), the report, cell parsers, progress."""
from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator

from flask_babel import gettext as _

from tracker import scope
from tracker.extensions import db
from tracker.imports.report import Report
from tracker.types import Role

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
STEP = 1000  # rows between progress bar updates

_UNSEEN = object()

Progressbar = Callable[[str, int], contextlib.AbstractContextManager]


@contextlib.contextmanager
def no_progressbar(label: str, length: int):
    class _Bar:
        def update(self, n: int) -> None:
            pass

    yield _Bar()


def parse_date(text: str) -> dt.date | None:
    """A date written YYYY-MM-DD, or None."""
    if ISO_DATE.match(text):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(text)
    return None


def chunks(items: list, size: int = 500) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class ImportContext:
    def __init__(self, *, kind: str, user, report: Report, today: dt.date, progressbar: Progressbar | None = None):
        self.kind = kind
        self.user = user  # None: the command line, acting as an administrator
        self.user_id = getattr(user, "id", None)
        self.report = report
        self.today = today
        self.progressbar = progressbar or no_progressbar
        self._schools: set[int] | None = None
        self._children: set[int] | None = None
        self._dates: dict[str, dt.date | None] = {}

    @property
    def is_admin(self) -> bool:
        return self.user is None or self.user.role == Role.admin

    def school_scope(self) -> set[int] | None:
        """Ids of the schools this importer may write to; None: every school."""
        if self.is_admin:
            return None
        if self._schools is None:
            self._schools = set(db.session.scalars(scope.school_ids(self.user)))
        return self._schools

    def child_scope(self) -> set[int] | None:
        """Ids of the children this importer may see; None: every child."""
        if self.is_admin:
            return None
        if self._children is None:
            self._children = set(db.session.scalars(scope.child_ids(self.user)))
        return self._children

    def each(self, rows: list, label: str) -> Iterator:
        """The rows, moving a progress bar along as they are checked."""
        with self.progressbar(label, len(rows)) as bar:
            for i, row in enumerate(rows, start=1):
                yield row
                if i % STEP == 0:
                    bar.update(STEP)
            bar.update(len(rows) % STEP)

    def no_child(self, code: str) -> str:
        """Why ``code`` names no child this importer may use; the same whether it exists elsewhere or not."""
        if not code:
            return _("Required.")
        if self.is_admin:
            return _("No child %(code)s.", code=code)
        return _("%(code)s is not a child in your scope.", code=code)

    def no_school(self, code: str) -> str:
        if not code:
            return _("Required.")
        if self.is_admin:
            return _("No school %(code)s.", code=code)
        return _("%(code)s is not one of your schools.", code=code)

    def error(self, line: int | None, column: str | None, message: str) -> None:
        self.report.add(line, column, message)

    # Cell parsers: the value, or None after reporting why not.

    def date(self, line: int, column: str, text: str, *, required: bool = True) -> dt.date | None:
        if not text:
            if required:
                self.error(line, column, _("Required: a date written as YYYY-MM-DD."))
            return None
        value = self._dates.get(text, _UNSEEN)
        if value is _UNSEEN:
            value = self._dates[text] = parse_date(text)
        if value is None:
            self.error(line, column, _("“%(value)s” is not a date; write it as YYYY-MM-DD (ISO 8601).", value=text))
        return value

    def choice(self, line: int, column: str, text: str, allowed: Iterable[str], *, required: bool = True) -> str | None:
        allowed = list(allowed)
        if not text:
            if required:
                self.error(line, column, _("Required: one of %(values)s.", values=", ".join(allowed)))
            return None
        if text not in allowed:
            self.error(line, column, _("“%(value)s” is not one of %(values)s.", value=text, values=", ".join(allowed)))
            return None
        return text

    def text(self, line: int, column: str, text: str, *, max_length: int, required: bool = True) -> str | None:
        if not text:
            if required:
                self.error(line, column, _("Required."))
            return None
        if len(text) > max_length:
            self.error(line, column, _("At most %(n)d characters.", n=max_length))
            return None
        return text

    def integer(self, line: int, column: str, text: str) -> int | None:
        if not text:
            self.error(line, column, _("Required: a whole number."))
            return None
        if not text.isdigit() or len(text) > 4:
            self.error(line, column, _("“%(value)s” is not a whole number.", value=text))
            return None
        return int(text)


class Plan:
    """What a validated file would change: counts, an action per line, and the writes to make."""

    def __init__(self):
        self.counts = {"created": 0, "updated": 0, "unchanged": 0}
        self.actions: dict[int, str] = {}

    def mark(self, line: int, action: str) -> None:
        self.counts[action] += 1
        self.actions[line] = action

    @property
    def writes(self) -> int:
        """How many rows the write step touches (for its progress bar)."""
        return self.counts["created"] + self.counts["updated"]

    def write(self, ctx: ImportContext) -> None:
        """Make the changes in the open transaction through the operations; flush, never commit."""
        raise NotImplementedError
