"""enrolments.csv: enrolments matched on child, school and start date.

A new row opens (or records) an enrolment; a row matching a stored open enrolment may close
it (end_date and exit_reason) or place the child in a class. An import never rewrites an
enrolment's year, level or grade, nor an exit already recorded: history is kept. Across the
stored enrolments and the file, a child's enrolments never overlap, so at most one is open.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker.children.models import Child
from tracker.enrolment.models import Enrolment
from tracker.enrolment.operations import EARLY_START, save_batch
from tracker.extensions import db
from tracker.imports.context import ImportContext, Plan, chunks
from tracker.schools.models import AcademicYear, School, SchoolClass
from tracker.types import GRADES, ExitReason, Level

FAR_FUTURE = dt.date.max


@dataclass
class Row:
    line: int
    child_id: int
    school: School
    year: AcademicYear
    level: str
    grade: int
    class_key: tuple | None       # (school id, year id, name) of the class, or None
    start: dt.date
    end: dt.date | None
    reason: str | None
    stored: Enrolment | None = None


class EnrolmentsPlan(Plan):
    def __init__(self):
        super().__init__()
        self.new_classes: dict[tuple, tuple[str, int]] = {}   # (school id, year id, name) → (level, grade)
        self.class_ids: dict[tuple, int] = {}
        self.create: list[Row] = []
        self.update: list[tuple[Row, dict]] = []

    def write(self, ctx: ImportContext) -> None:
        creates = [{"child_id": r.child_id, "school_id": r.school.id, "year_id": r.year.id, "level": r.level,
                    "grade": r.grade, "class_key": r.class_key, "start_date": r.start, "end_date": r.end,
                    "exit_reason": r.reason} for r in self.create]
        updates = [(row.stored.id, dict(values)) for row, values in self.update]
        with ctx.progressbar(_("Saving"), self.writes) as bar:
            save_batch(creates, updates, new_classes=self.new_classes, class_ids=self.class_ids, user=ctx.user,
                       progress=bar.update)


def validate(table, ctx: ImportContext) -> Plan:
    ix, plan, today = table.index, EnrolmentsPlan(), ctx.today
    schools = {s.code: s for s in db.session.scalars(sa.select(School))}
    years = {y.label: y for y in db.session.scalars(sa.select(AcademicYear))}
    mine, visible = ctx.school_scope(), ctx.child_scope()
    i_code = ix["child_code"]
    children: dict[str, tuple[int, dt.date]] = {}
    for part in chunks(sorted({cells[i_code].upper() for _, cells in table.good})):
        for cid, code, born in db.session.execute(sa.select(Child.id, Child.code, Child.birth_date)
                                                  .where(Child.code.in_(part))):
            if visible is None or cid in visible:
                children[code] = (cid, born)
    stored: dict[int, list[Enrolment]] = {}
    for part in chunks(sorted(cid for cid, _born in children.values())):
        for e in db.session.scalars(sa.select(Enrolment).where(Enrolment.child_id.in_(part))):
            stored.setdefault(e.child_id, []).append(e)
    classes = {(c.school_id, c.year_id, c.name): c for c in db.session.scalars(sa.select(SchoolClass).where(
        SchoolClass.school_id.in_([s.id for s in schools.values() if mine is None or s.id in mine])))}
    latest_start = today + dt.timedelta(days=31)
    rows: list[Row] = []
    seen: dict[tuple, int] = {}
    for line, cells in ctx.each(table.good, _("Checking")):
        before = ctx.report.count
        get = lambda name: cells[ix[name]]  # noqa: E731
        code = get("child_code").upper()
        child = children.get(code)
        if child is None:
            ctx.error(line, "child_code", ctx.no_child(code))
        school = schools.get(get("school_code"))
        if school is None or (mine is not None and school.id not in mine):
            ctx.error(line, "school_code", ctx.no_school(get("school_code")))
            school = None
        year = years.get(get("academic_year"))
        if year is None:
            ctx.error(line, "academic_year", _("No academic year %(y)s.", y=get("academic_year") or "—"))
        level = ctx.choice(line, "level", get("level"), [lv.value for lv in Level])
        grade = ctx.integer(line, "grade", get("grade"))
        class_name = ctx.text(line, "class_name", get("class_name"), max_length=50, required=False)
        start = ctx.date(line, "start_date", get("start_date"))
        end = ctx.date(line, "end_date", get("end_date"), required=False)
        reason = ctx.choice(line, "exit_reason", get("exit_reason"), [r.value for r in ExitReason], required=False)
        if ctx.report.count != before:
            continue
        if (end is None) != (reason is None):
            ctx.error(line, "exit_reason" if end else "end_date",
                      _("Give both end_date and exit_reason for an exit, or neither for an open enrolment."))
        if school.archived_at is not None and end is None:
            # An archived school keeps its records, so history (with an end date) still imports.
            ctx.error(line, "school_code", _("%(school)s is archived and takes no new enrolments.", school=school.name))
        if not school.offers(level):
            ctx.error(line, "level", _("%(school)s does not offer this level.", school=school.name))
        elif grade not in GRADES[Level(level)]:
            ctx.error(line, "grade", _("Grade must be between %(a)d and %(b)d for this level.",
                                       a=GRADES[Level(level)][0], b=GRADES[Level(level)][-1]))
        if start < child[1]:
            ctx.error(line, "start_date", _("The start date is before the child's birth date."))
        elif start > latest_start:
            ctx.error(line, "start_date", _("The start date is too far in the future."))
        elif not year.first_day - EARLY_START <= start <= year.last_day:
            ctx.error(line, "start_date", _("The start date is not in %(y)s (%(a)s to %(b)s).", y=year.label,
                                            a=year.first_day.isoformat(), b=year.last_day.isoformat()))
        if end is not None and end < start:
            ctx.error(line, "end_date", _("The end date is before the start date."))
        elif end is not None and end > today:
            ctx.error(line, "end_date", _("The end date cannot be in the future."))
        class_key = None
        if class_name and ctx.report.count == before:
            class_key = (school.id, year.id, class_name)
            known = classes.get(class_key)
            shape = (known.level.value, known.grade) if known else plan.new_classes.get(class_key)
            if shape is None:
                plan.new_classes[class_key] = (level, grade)
            elif shape != (level, grade):
                ctx.error(line, "class_name", _("Class %(name)s of %(school)s in %(y)s is %(level)s grade %(grade)d.",
                                                name=class_name, school=school.code, y=year.label, level=shape[0],
                                                grade=shape[1]))
        if ctx.report.count != before:
            continue
        key = (child[0], school.id, start)
        if key in seen:
            ctx.error(line, "start_date", _("The same enrolment is on line %(n)d.", n=seen[key]))
            continue
        seen[key] = line
        row = Row(line, child[0], school, year, level, grade, class_key, start, end, reason)
        row.stored = next((e for e in stored.get(child[0], []) if (e.school_id, e.start_date) == (school.id, start)),
                          None)
        if row.stored is None:
            rows.append(row)
            continue
        changes = _changes(ctx, row, classes)
        if changes is not None:
            rows.append(row)
            if changes:
                plan.update.append((row, changes))
    _check_overlaps(ctx, rows, stored, {s.id: s for s in schools.values()})
    updated = {r.line for r, _c in plan.update}
    for row in rows:
        if row.line in ctx.report.bad_lines:
            continue
        if row.stored is None:
            plan.create.append(row)
            plan.mark(row.line, "created")
        else:
            plan.mark(row.line, "updated" if row.line in updated else "unchanged")
    plan.class_ids = {k: c.id for k, c in classes.items()}
    used = {r.class_key for r in plan.create} | {c.get("class_key") for _r, c in plan.update}
    plan.new_classes = {k: v for k, v in plan.new_classes.items() if k in used}
    plan.counts["classes_created"] = len(plan.new_classes)
    return plan


def _changes(ctx: ImportContext, row: Row, classes: dict) -> dict | None:
    """What the row changes in its stored enrolment, or None after reporting a change an import may not make."""
    e = row.stored
    for column, stored, given in (("academic_year", e.year_id, row.year.id), ("level", e.level.value, row.level),
                                  ("grade", e.grade, row.grade)):
        if stored != given:
            ctx.error(row.line, column, _("The stored enrolment differs here; an import does not rewrite enrolment "
                                          "history. Record an exit or a transfer on the child's page."))
            return None
    changes = {}
    if e.end_date is not None:
        if (e.end_date, e.exit_reason.value) != (row.end, row.reason):
            ctx.error(row.line, "end_date", _("The enrolment ended on %(d)s (%(why)s); an import does not change a "
                                              "recorded exit.", d=e.end_date.isoformat(), why=e.exit_reason.value))
            return None
    elif row.end is not None:
        changes.update(end_date=row.end, exit_reason=row.reason)
    if row.class_key is not None:
        known = classes.get(row.class_key)
        if known is None or known.id != e.class_id:
            changes["class_key"] = row.class_key
    return changes


def _check_overlaps(ctx: ImportContext, rows: list[Row], stored: dict[int, list[Enrolment]],
                    schools: dict[int, School]) -> None:
    """A child's enrolments, stored and imported, must not overlap (so at most one is open)."""
    by_child: dict[int, list[Row]] = {}
    for row in rows:
        by_child.setdefault(row.child_id, []).append(row)
    for child_id, mine in by_child.items():
        replaced = {id(r.stored) for r in mine if r.stored is not None}
        spans = [(r.start, r.end or FAR_FUTURE, r) for r in mine]
        spans += [(e.start_date, e.end_date or FAR_FUTURE, e) for e in stored.get(child_id, [])
                  if id(e) not in replaced]
        spans.sort(key=lambda s: (s[0], s[1]))
        longest = spans[0]  # of the spans so far, the one ending last
        for span in spans[1:]:
            start, end, b = span
            if longest[1] >= start:
                a = longest[2]
                row, other = (b, a) if isinstance(b, Row) else (a, b)
                if isinstance(row, Row):
                    ctx.error(row.line, "start_date", _overlap(other, schools))
            if end > longest[1]:
                longest = span


def _overlap(other, schools: dict[int, School]) -> str:
    if isinstance(other, Row):
        return _("Overlaps the enrolment on line %(n)d.", n=other.line)
    school = schools.get(other.school_id)
    name = school.name if school else "—"
    if other.end_date is None:
        return _("Overlaps the open enrolment at %(school)s from %(d)s.", school=name, d=other.start_date.isoformat())
    return _("Overlaps the enrolment at %(school)s from %(a)s to %(b)s.", school=name,
             a=other.start_date.isoformat(), b=other.end_date.isoformat())
