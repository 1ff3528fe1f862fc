"""The monthly attendance summary per class, as one CSV a school secretary opens in Excel.

One file: UTF-8 with a byte-order mark and ``;`` between cells (what Excel set to Serbian
expects), a header, then per class one line per enrolled child and the class's total line, and
at the end the total of the school. The figures are the attendance_month summary (recorded
days, present, late, excused and unexcused absences) of the month asked for.
"""
from __future__ import annotations

import calendar
import datetime as dt
import io
import re

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker.attendance.models import AttendanceMonth
from tracker.children.models import Child
from tracker.enrolment.models import Enrolment
from tracker import csvsafe
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.schools.models import SchoolClass

MONTH = re.compile(r"(\d{4})-(\d{2})\Z")
FIGURES = ("recorded", "present", "late", "absent_excused", "absent_unexcused")
MIMETYPE = "text/csv; charset=utf-8"


def previous_month(today: dt.date | None = None) -> dt.date:
    first = (today or dt.date.today()).replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def parse_month(value) -> dt.date:
    """The first day of the month ``YYYY-MM`` (default: the previous month). Raises OperationError (a ValueError)."""
    if value in (None, ""):
        return previous_month()
    m = MONTH.match(str(value).strip())
    if m and 1 <= int(m.group(2)) <= 12 and int(m.group(1)) >= 1900:
        return dt.date(int(m.group(1)), int(m.group(2)), 1)
    raise OperationError("month", _("“%(value)s” is not a month: write it as YYYY-MM, e.g. 2025-11.", value=value))


def _natural(text: str) -> list:
    """Sort key putting class 5-2 before 5-10."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p.casefold()) for p in re.split(r"(\d+)", text) if p]


def header(names: bool) -> list[str]:
    cols = [_("Class"), _("Temporary ID number or child code")]
    if names:
        cols += [_("Given name"), _("Family name")]
    return cols + [_("Days recorded"), _("Present"), _("Late"), _("Absent (excused)"), _("Absent (unexcused)")]


def rows_for(school_id: int, month: dt.date) -> list[sa.Row]:
    """Every enrolment at the school that overlaps the month, with its class and the month's figures (or none)."""
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    q = (sa.select(Enrolment.id, Child.code, Child.temporary_id, Child.given_name, Child.family_name,
                   SchoolClass.name.label("class_name"), *(getattr(AttendanceMonth, f) for f in FIGURES))
         .join(Child, Child.id == Enrolment.child_id)
         .outerjoin(SchoolClass, SchoolClass.id == Enrolment.class_id)
         .outerjoin(AttendanceMonth, sa.and_(AttendanceMonth.enrolment_id == Enrolment.id,
                                             AttendanceMonth.month == month))
         .where(Enrolment.school_id == school_id, Enrolment.start_date <= last,
                sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= month)))
    return list(db.session.execute(q))


def monthly_summary(scope, params: dict) -> tuple[str, str, bytes]:
    month = parse_month((params or {}).get("month"))
    names = scope.allows("names")
    no_class = _("No class")
    classes: dict[str, list] = {}
    for row in rows_for(scope.school.id, month):
        temporary = (row.temporary_id or "").strip()
        classes.setdefault(row.class_name or "", []).append(
            (temporary or row.code, row.given_name, row.family_name, [getattr(row, f) or 0 for f in FIGURES]))

    out = io.StringIO(newline="")
    writer = csvsafe.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header(names))
    total_label = _("Total")
    school_total = [0] * len(FIGURES)
    # Named classes in natural order, then the children without a class.
    for class_name in sorted(classes, key=lambda c: (c == "", _natural(c))):
        label = class_name or no_class
        children = classes[class_name]
        children.sort(key=(lambda c: (c[2].casefold(), c[1].casefold(), c[0])) if names else (lambda c: c[0]))
        class_total = [0] * len(FIGURES)
        for identifier, given, family, figures in children:
            cells = [label, identifier] + ([given, family] if names else []) + figures
            writer.writerow(cells)
            class_total = [a + b for a, b in zip(class_total, figures)]
        writer.writerow([label, total_label] + (["", ""] if names else []) + class_total)
        school_total = [a + b for a, b in zip(school_total, class_total)]
    writer.writerow([_("All classes"), total_label] + (["", ""] if names else []) + school_total)

    code = re.sub(r"[^A-Za-z0-9_-]+", "_", scope.school.code or "school")
    filename = f"attendance-{code}-{month:%Y-%m}.csv"
    return filename, MIMETYPE, out.getvalue().encode("utf-8-sig")
