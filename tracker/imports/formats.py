"""The documented CSV formats, and reading a file into rows numbered as a spreadsheet shows them.

Every kind's file is UTF-8 (with or without a byte-order mark), comma-separated, with a
header row naming its columns (in any order). An unknown or missing column refuses the
file. docs/import.md describes each column; keep the two in step.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from flask_babel import gettext as _

from tracker.imports.report import Report


@dataclass(frozen=True)
class Format:
    columns: tuple[str, ...]
    reference: bool  # reference data: administrators only
    optional: tuple[str, ...] = ()  # columns a file may leave out (read as blank cells)


FORMATS: dict[str, Format] = {
    "schools": Format(("school_code", "name", "municipality", "levels"), True),
    "centres": Format(("centre_code", "name", "kind", "municipality"), True),
    "academic_years": Format(("academic_year", "first_day", "last_day"), True),
    "non_school_days": Format(("academic_year", "date", "description", "school_code"), True),
    "children": Format(("child_code", "given_name", "family_name", "name_original", "sex", "birth_date",
                        "birth_date_estimated", "country", "first_language", "uasc_status", "centre_code",
                        "arrival_date", "guardian_name", "guardian_organisation", "guardian_phone", "legal_basis",
                        "guardian_pending"),
                       False, optional=("guardian_name", "guardian_organisation", "guardian_phone", "legal_basis",
                                        "guardian_pending")),
    "enrolments": Format(("child_code", "school_code", "academic_year", "level", "grade", "class_name",
                          "start_date", "end_date", "exit_reason"), False),
    "attendance": Format(("child_code", "school_code", "date", "status", "reason"), False),
}
KINDS = tuple(FORMATS)

# C0 and C1 control characters, line breaks and tabs included: never part of a name or a code.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_BUT_LINE_ENDS = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class FileRefused(Exception):
    """The file as a whole cannot be read (encoding, size, rows); nothing else is checked."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused(_("The file is not UTF-8 text (the first wrong byte is number %(n)d). "
                            "Save it as “CSV UTF-8” and try again.", n=exc.start + 1)) from None


@dataclass
class Table:
    columns: list[str]                   # the header as written (normalised)
    index: dict[str, int]                # column name → position in a row
    rows: list[tuple[int, list[str]]]    # (line number, stripped cells), header = line 1
    good: list[tuple[int, list[str]]]    # the rows without a cell-level error


def read_table(text: str, kind: str, report: Report, *, max_rows: int) -> Table | None:
    """Rows of ``text``, or None when the header is wrong (reported). Raises FileRefused over ``max_rows``."""
    expected = FORMATS[kind].columns
    listed = ", ".join(expected)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        report.add(1, None, _("The header cannot be read: %(why)s.", why=str(exc)))
        return None
    if header is None or not any(c.strip() for c in header):
        report.add(1, None, _("The first line must be the header: %(columns)s.", columns=listed))
        return None
    header = [c.strip().lower() for c in header]
    if len(header) == 1 and ";" in header[0]:
        report.add(1, None, _("Separate the columns with commas, not semicolons. The header must be: %(columns)s.",
                              columns=listed))
        return None
    if not set(header) & set(expected):
        report.add(1, None, _("The first line must be the header: %(columns)s.", columns=listed))
        return None
    seen: set[str] = set()
    for i, name in enumerate(header, start=1):
        if not name:
            report.add(1, None, _("Column %(n)d has no name.", n=i))
        elif name in seen:
            report.add(1, name, _("The column appears twice."))
        elif name not in expected:
            report.add(1, name, _("Unknown column “%(name)s”. The columns of %(kind)s.csv are: %(columns)s.",
                                  name=name, kind=kind, columns=listed))
        seen.add(name)
    for name in expected:
        if name not in seen and name not in FORMATS[kind].optional:
            report.add(1, name, _("The column “%(name)s” is missing.", name=name))
    if report:
        return None
    index = {name: i for i, name in enumerate(header)}
    width = len(header)
    rows: list[tuple[int, list[str]]] = []
    append = rows.append
    bad: set[int] = set()
    last = reader.line_num
    # One search of the whole text; then only a row spanning lines (a quoted line break) is searched again.
    anywhere = CONTROL_BUT_LINE_ENDS.search(text) is not None
    try:
        for record in reader:
            line, last = last + 1, reader.line_num
            cells = [c.strip() for c in record]
            if not any(cells):
                continue  # blank lines are not rows
            append((line, cells))
            if len(cells) != width:
                report.add(line, None, _("%(found)d cells where the header has %(expected)d.", found=len(cells),
                                         expected=width))
                bad.add(line)
            elif (anywhere or line != last) and CONTROL.search("".join(cells)):
                for name, cell in zip(header, cells):
                    if CONTROL.search(cell):
                        report.add(line, name, _("Contains a control character (a line break or tab, for example)."))
                bad.add(line)
            if len(rows) > max_rows:
                raise FileRefused(_("The file has more than %(n)d rows. Split it into smaller files.", n=max_rows))
    except csv.Error as exc:
        report.add(reader.line_num, None, _("The line cannot be read: %(why)s.", why=str(exc)))
    good = [row for row in rows if row[0] not in bad] if bad else rows
    return Table(header, index, rows, good)
