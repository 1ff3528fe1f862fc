"""attendance.csv: one record per child's enrolment and school day.

A row belongs to the child's enrolment at that school covering that date; the date must be a
school day of that school. A row matching a stored record with the same status and reason
changes nothing; another status is a correction, saved by the register's upsert so the
earlier value is kept in the attendance history (and a note typed in the register stays).

New records are inserted with one prepared statement (executemany): the upsert builds a
multi-row statement per 500 rows, which costs more than the whole import otherwise. Should a
register save the same enrolment and day meanwhile, the unique constraint stops the insert
and the import saves nothing (the user is told to try again).
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker.attendance.models import AttendanceRecord
from tracker.attendance.operations import REASONS, save_records
from tracker.children.models import Child
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.imports.context import ImportContext, Plan, chunks, parse_date
from tracker.schools.models import AcademicYear, NonSchoolDay, School
from tracker.types import AttendanceStatus

ABSENT = {AttendanceStatus.absent_excused.value, AttendanceStatus.absent_unexcused.value}


class AttendancePlan(Plan):
    def __init__(self):
        super().__init__()
        self.rows: list[dict] = []      # every valid row, then (after comparing) the corrections
        self.new: list[dict] = []

    def write(self, ctx: ImportContext) -> None:
        with ctx.progressbar(_("Saving"), len(self.new) + len(self.rows)) as bar:
            save_records(self.new, self.rows, user=ctx.user, progress=bar.update)


class Calendar:
    """Why a date is not a school day of a school, from two queries for the whole file."""

    def __init__(self, first: dt.date, last: dt.date):
        self.years = [(y.first_day, y.last_day) for y in db.session.scalars(sa.select(AcademicYear))]
        self.off: dict[dt.date, dict[int | None, str]] = {}
        for day, school_id, description in db.session.execute(
                sa.select(NonSchoolDay.date, NonSchoolDay.school_id, NonSchoolDay.description)
                .where(NonSchoolDay.date.between(first, last))):
            self.off.setdefault(day, {})[school_id] = description
        self.cache: dict[tuple[int, dt.date], str | None] = {}

    def why_not(self, school_id: int, day: dt.date) -> str | None:
        key = (school_id, day)
        try:
            return self.cache[key]
        except KeyError:
            pass
        why = None
        if day.weekday() >= 5:
            why = _("weekend")
        elif not any(a <= day <= b for a, b in self.years):
            why = _("outside every academic year")
        else:
            off = self.off.get(day)
            if off:
                why = off.get(None) or off.get(school_id)
        self.cache[key] = why
        return why


def validate(table, ctx: ImportContext) -> Plan:
    ix, plan, today = table.index, AttendancePlan(), ctx.today
    i_child, i_school, i_date, i_status, i_reason = (ix[c] for c in ("child_code", "school_code", "date", "status",
                                                                      "reason"))
    mine, visible = ctx.school_scope(), ctx.child_scope()
    schools = {code: sid for code, sid in db.session.execute(sa.select(School.code, School.id))
               if mine is None or sid in mine}
    children: dict[str, int] = {}
    for part in chunks(sorted({cells[i_child].upper() for _, cells in table.good}), 2000):
        for cid, code in db.session.execute(sa.select(Child.id, Child.code).where(Child.code.in_(part))):
            if visible is None or cid in visible:
                children[code] = cid
    enrolments: dict[tuple[int, int], list[tuple[int, dt.date, dt.date]]] = {}
    for part in chunks(sorted(children.values()), 2000):
        for eid, cid, sid, start, end in db.session.execute(
                sa.select(Enrolment.id, Enrolment.child_id, Enrolment.school_id, Enrolment.start_date,
                          Enrolment.end_date).where(Enrolment.child_id.in_(part))):
            enrolments.setdefault((cid, sid), []).append((eid, start, end or dt.date.max))
    dates = {parse_date(text) for text in {cells[i_date] for _, cells in table.good}} - {None}
    calendar = Calendar(min(dates), max(dates)) if dates else None
    statuses = {s.value for s in AttendanceStatus}
    status_list = ", ".join(s.value for s in AttendanceStatus)
    reasons = set(REASONS)
    seen: dict[tuple[int, dt.date], int] = {}
    rows = plan.rows
    lines: list[int] = []
    error, date_of = ctx.error, ctx.date
    for line, cells in ctx.each(table.good, _("Checking")):
        bad = False
        code, school_code, status, reason = cells[i_child].upper(), cells[i_school], cells[i_status], cells[i_reason]
        child_id = children.get(code)
        if child_id is None:
            error(line, "child_code", ctx.no_child(code))
            bad = True
        school_id = schools.get(school_code)
        if school_id is None:
            error(line, "school_code", ctx.no_school(school_code))
            bad = True
        day = date_of(line, "date", cells[i_date])
        if day is None:
            bad = True
        if status not in statuses:
            error(line, "status", _("“%(value)s” is not one of %(values)s.", value=status, values=status_list)
                  if status else _("Required: one of %(values)s.", values=status_list))
            bad = True
        if reason:
            if reason not in reasons:
                error(line, "reason", _("“%(value)s” is not one of %(values)s.", value=reason,
                                        values=", ".join(REASONS)))
                bad = True
            elif status in statuses and status not in ABSENT:
                error(line, "reason", _("A reason is given only for an absence."))
                bad = True
        if bad:
            continue
        if day > today:
            error(line, "date", _("Attendance cannot be recorded for a future date."))
            continue
        why = calendar.why_not(school_id, day)
        if why is not None:
            error(line, "date", _("%(d)s is not a school day (%(why)s).", d=day.isoformat(), why=why))
            continue
        enrolment_id = None
        for eid, start, end in enrolments.get((child_id, school_id), ()):
            if start <= day <= end:
                enrolment_id = eid
                break
        if enrolment_id is None:
            error(line, "date", _("%(code)s has no enrolment at %(school)s on %(d)s.", code=code, school=school_code,
                                  d=day.isoformat()))
            continue
        key = (enrolment_id, day)
        if key in seen:
            error(line, "date", _("The same child, school and date are on line %(n)d.", n=seen[key]))
            continue
        seen[key] = line
        rows.append({"enrolment_id": enrolment_id, "date": day, "status": status, "reason": reason})
        lines.append(line)
    _compare_with_stored(plan, lines)
    return plan


def _compare_with_stored(plan: AttendancePlan, lines: list[int]) -> None:
    """Count created, updated and unchanged rows; keep the new rows and the corrections (with their notes)."""
    if not plan.rows:
        return
    first, last = min(r["date"] for r in plan.rows), max(r["date"] for r in plan.rows)
    stored: dict[tuple[int, dt.date], tuple[str, str, str]] = {}
    status_text = sa.type_coerce(AttendanceRecord.status, sa.String)  # plain strings: no enum per row
    for part in chunks(sorted({r["enrolment_id"] for r in plan.rows}), 2000):
        for eid, day, status, reason, note in db.session.execute(
                sa.select(AttendanceRecord.enrolment_id, AttendanceRecord.date, status_text,
                          AttendanceRecord.reason, AttendanceRecord.note)
                .where(AttendanceRecord.enrolment_id.in_(part), AttendanceRecord.date.between(first, last))):
            stored[(eid, day)] = (status, reason, note)
    corrections = []
    for line, row in zip(lines, plan.rows):
        old = stored.get((row["enrolment_id"], row["date"]))
        if old is None:
            plan.mark(line, "created")
            plan.new.append(row)
        elif old[:2] == (row["status"], row["reason"]):
            plan.mark(line, "unchanged")
        else:
            row["note"] = old[2]
            plan.mark(line, "updated")
            corrections.append(row)
    plan.rows = corrections
