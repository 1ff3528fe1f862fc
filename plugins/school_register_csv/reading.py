"""A school's own register file → tracker's attendance.csv, remembering where each row came from.

``translate`` reads the file with the school's mapping and writes the rows it understands as
tracker's attendance format (child_code, school_code, date, status, reason). What it cannot
map (a missing column, a word not in the map, a date not in the format, a child not found or
found twice) is reported with the line and the column of the school's file. The caller hands
the generated file to ``run_import``, so the import's own checks and its all-or-nothing rule
apply; ``Translation.source_line`` and ``Translation.source_column`` turn its errors back into
the school's lines and column names.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from plugins.school_register_csv.settings import ABSENT, Mapping, example_date, word
from tracker import scope as user_scope
from tracker.children.models import Child
from tracker.children.names import skeletons, to_ascii
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.imports.formats import CONTROL, FORMATS, FileRefused
from tracker.imports.report import Report
from tracker.types import Role

HEADER = FORMATS["attendance"].columns  # child_code, school_code, date, status, reason
ROLE_OF = {"child_code": "child", "date": "date", "status": "status"}
SINGLE_BYTE = ("windows-1250", "windows-1251")


@dataclass
class Translation:
    mapping: Mapping
    report: Report = field(default_factory=Report)
    rows: list[list[str]] = field(default_factory=list)   # generated attendance rows
    lines: list[int] = field(default_factory=list)        # source line of each generated row
    source_rows: int = 0                                  # rows in the school's file (blank lines aside)

    def csv_bytes(self) -> bytes:
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(self.rows)
        return out.getvalue().encode("utf-8")

    def source_line(self, line: int | None) -> int | None:
        """The school's line for a line of the generated file (header = 1, first row = 2)."""
        if line is None or line < 2 or line - 2 >= len(self.lines):
            return None
        return self.lines[line - 2]

    def source_column(self, column: str | None) -> str | None:
        role = ROLE_OF.get(column or "")
        if role == "child":
            return self.mapping.child_column
        if role == "date":
            return self.mapping.column_date
        if role == "status":
            return self.mapping.column_status
        return None


def decode(data: bytes, encoding: str) -> str:
    """The text of the file. A UTF-8 file is read as UTF-8 even when the settings say Windows-125x: a byte-order
    mark says so, and Serbian letters in Windows-1250 are (almost) never valid UTF-8."""
    if encoding in SINGLE_BYTE:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
        else:
            if data.startswith(b"\xef\xbb\xbf") or not data.isascii():
                return text
    else:
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FileRefused(_("The file is not %(encoding)s text (the first wrong byte is number %(n)d). "
                            "Check the encoding in the settings.", encoding=encoding.upper().replace("-SIG", ""),
                            n=exc.start + 1)) from None


def parse_date(text: str, fmt: str) -> dt.date | None:
    """A date in the school's format; spaces and a trailing dot (03.11.2025.) are forgiven."""
    text, fmt = re.sub(r"\s+", "", text).rstrip("."), re.sub(r"\s+", "", fmt).rstrip(".")
    try:
        return dt.datetime.strptime(text, fmt).date()
    except ValueError:
        return None


def _ascii(text: str) -> str:
    # Serbian Latin đ is "dj" in ASCII (as Cyrillic ђ is in to_ascii), not the "d" a generic transliteration gives.
    return to_ascii(re.sub("[đĐ]", "dj", text or ""))


def _skeleton(text: str) -> str:
    return " ".join(skeletons(_ascii(text)))


class Children:
    """The children enrolled (now or before) at the school, looked up by name."""

    def __init__(self, school_id: int, user):
        q = (sa.select(Child.id, Child.code, Child.given_name, Child.family_name, Enrolment.start_date,
                       Enrolment.end_date)
             .join(Enrolment, Enrolment.child_id == Child.id).where(Enrolment.school_id == school_id))
        if user is not None and user.role != Role.admin:
            q = q.where(Child.id.in_(user_scope.child_ids(user)))
        self.codes: dict[int, str] = {}
        self.spans: dict[int, list[tuple[dt.date, dt.date]]] = defaultdict(list)
        self.exact: dict[tuple[str, str], set[int]] = defaultdict(set)
        self.similar: dict[tuple[str, str], set[int]] = defaultdict(set)
        for cid, code, given, family, start, end in db.session.execute(q):
            self.codes[cid] = code
            self.spans[cid].append((start, end or dt.date.max))
            self.exact[(_ascii(given), _ascii(family))].add(cid)
            self.similar[(_skeleton(given), _skeleton(family))].add(cid)

    def find(self, given: str, family: str, day: dt.date | None) -> list[str]:
        """Child codes that may be this pupil: the same name in ASCII, else the same consonant skeleton (Ahmad and
        Ahmed, Đorđević and Djordjevic); several are narrowed to those enrolled on ``day``."""
        found = self.exact.get((_ascii(given), _ascii(family))) or self.similar.get(
            (_skeleton(given), _skeleton(family))) or set()
        if len(found) > 1 and day is not None:
            on_day = {cid for cid in found if any(a <= day <= b for a, b in self.spans[cid])}
            found = on_day or found
        return sorted(self.codes[cid] for cid in found)


def translate(data: bytes, mapping: Mapping, school, user) -> Translation:
    """The school's file as attendance rows; what cannot be mapped is in ``report``. Raises FileRefused."""
    t = Translation(mapping)
    report = t.report
    text = decode(data, mapping.encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        report.add(1, None, _("The header cannot be read: %(why)s.", why=str(exc)))
        return t
    if header is None or not any(c.strip() for c in header):
        report.add(1, None, _("The first line must be the header: %(columns)s.",
                              columns=", ".join(mapping.columns().values())))
        return t
    names = [word(c) for c in header]
    position: dict[str, int] = {}
    for role, name in mapping.columns().items():
        hits = [i for i, n in enumerate(names) if n == word(name)]
        if not hits:
            report.add(1, name, _("The column “%(name)s” is missing.", name=name))
        elif len(hits) > 1:
            report.add(1, name, _("The column appears twice."))
        else:
            position[role] = hits[0]
    if report:
        if len(header) == 1:
            for other in (";", ",", "\t"):
                if other != mapping.delimiter and other in header[0]:
                    report.add(1, None, _("The columns seem to be separated by “%(found)s”, but the settings say "
                                          "“%(expected)s”.", found=other.replace("\t", "tab"),
                                          expected=mapping.delimiter.replace("\t", "tab")))
                    break
        return t

    children = None if mapping.by_code else Children(school.id, user)
    child_column, words = mapping.child_column, ", ".join(mapping.words)
    yes_no = ", ".join(sorted(mapping.excused_yes) + sorted(mapping.excused_no))
    example = example_date(mapping.date_format)
    seen: dict[tuple[str, dt.date], int] = {}
    last = reader.line_num
    try:
        for record in reader:
            line, last = last + 1, reader.line_num
            cells = [c.strip() for c in record]
            if not any(cells):
                continue  # blank lines are not rows
            t.source_rows += 1

            def cell(role: str) -> str:
                i = position[role]
                return cells[i] if i < len(cells) else ""

            bad = False
            raw_date = cell("date")
            day = parse_date(raw_date, mapping.date_format) if raw_date else None
            if not raw_date:
                report.add(line, mapping.column_date, _("Required: a date written as %(example)s.", example=example))
                bad = True
            elif day is None:
                report.add(line, mapping.column_date, _("“%(value)s” is not a date written as %(example)s.",
                                                        value=raw_date, example=example))
                bad = True

            raw_status = cell("status")
            status = mapping.statuses.get(word(raw_status))
            if not raw_status:
                report.add(line, mapping.column_status, _("Required: one of %(values)s.", values=words))
                bad = True
            elif status is None:
                report.add(line, mapping.column_status, _("“%(value)s” is not one of %(values)s.", value=raw_status,
                                                          values=words))
                bad = True
            elif status == ABSENT:
                raw_excused = cell("excused")
                excused = word(raw_excused)
                if excused in mapping.excused_yes:
                    status = "absent_excused"
                elif excused in mapping.excused_no:
                    status = "absent_unexcused"
                else:
                    report.add(line, mapping.column_excused,
                               _("“%(value)s” is not one of %(values)s.", value=raw_excused, values=yes_no)
                               if raw_excused else _("Required: one of %(values)s.", values=yes_no))
                    bad = True

            if mapping.by_code:
                code = cell("child").upper()
                if not code:
                    report.add(line, child_column, _("Required."))
                    bad = True
                elif CONTROL.search(code):
                    report.add(line, child_column, _("Contains a control character (a line break or tab, "
                                                     "for example)."))
                    bad = True
            else:
                given, family = cell("given_name"), cell("family_name")
                codes = children.find(given, family, day) if (given or family) else []
                code = codes[0] if len(codes) == 1 else ""
                if not given and not family:
                    report.add(line, child_column, _("Required."))
                    bad = True
                elif not codes:
                    report.add(line, child_column, _("No child with this name is enrolled at %(school)s.",
                                                     school=school.code))
                    bad = True
                elif len(codes) > 1:
                    report.add(line, child_column, _("Several children enrolled at %(school)s have this name "
                                                     "(%(codes)s); use a column with the child code.",
                                                     school=school.code, codes=", ".join(codes)))
                    bad = True

            if bad:
                continue
            key = (code, day)
            if key in seen:
                report.add(line, mapping.column_date, _("The same child, school and date are on line %(n)d.",
                                                        n=seen[key]))
                continue
            seen[key] = line
            t.rows.append([code, school.code, day.isoformat(), status, ""])
            t.lines.append(line)
    except csv.Error as exc:
        report.add(reader.line_num, None, _("The line cannot be read: %(why)s.", why=str(exc)))
    return t
