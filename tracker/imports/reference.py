"""Reference data, for administrators: schools, centres, academic years, non-school days.

Rows match stored ones on their code (the year's label; year, date and school for a
non-school day); a matching row with other values updates it, an identical one changes nothing.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.schools.operations import save_reference
from tracker.imports.context import ImportContext, Plan
from tracker.imports.formats import Table
from tracker.schools.models import AcademicYear, Centre, NonSchoolDay, School
from tracker.schools.operations import LABEL
from tracker.types import CentreKind

LEVELS = {"primary": (True, False), "secondary": (False, True), "primary+secondary": (True, True)}


class ReferencePlan(Plan):
    """New objects to add and (object, values) to set: a few hundred rows at most."""

    def __init__(self):
        super().__init__()
        self.creates: list = []
        self.updates: list[tuple[object, dict]] = []

    def write(self, ctx: ImportContext) -> None:
        save_reference(self.creates, self.updates, user=ctx.user)


def _changes(obj, values: dict) -> dict:
    return {k: v for k, v in values.items() if getattr(obj, k) != v}


def _again(ctx: ImportContext, seen: dict, key, line: int, column: str, shown: str) -> bool:
    if key in seen:
        ctx.error(line, column, _("%(value)s appears again (first on line %(n)d).", value=shown, n=seen[key]))
        return True
    seen[key] = line
    return False


def _apply(plan: ReferencePlan, line: int, obj, values: dict, new) -> None:
    if obj is None:
        plan.creates.append(new())
        plan.mark(line, "created")
        return
    changed = _changes(obj, values)
    if changed:
        plan.updates.append((obj, changed))
    plan.mark(line, "updated" if changed else "unchanged")


def schools(table: Table, ctx: ImportContext) -> Plan:
    ix, plan, seen = table.index, ReferencePlan(), {}
    stored = {s.code: s for s in db.session.scalars(sa.select(School))}
    for line, cells in ctx.each(table.good, _("Checking")):
        before = ctx.report.count
        code = ctx.text(line, "school_code", cells[ix["school_code"]], max_length=20)
        name = ctx.text(line, "name", cells[ix["name"]], max_length=200)
        municipality = ctx.text(line, "municipality", cells[ix["municipality"]], max_length=100)
        levels = ctx.choice(line, "levels", cells[ix["levels"]], LEVELS)
        if ctx.report.count != before or _again(ctx, seen, code, line, "school_code", code):
            continue
        primary, secondary = LEVELS[levels]
        school = stored.get(code)
        values = {"name": name, "municipality": municipality, "offers_primary": primary, "offers_secondary": secondary}
        if school is not None:
            for level, offered, was in (("primary", primary, school.offers_primary),
                                        ("secondary", secondary, school.offers_secondary)):
                if was and not offered and db.session.scalar(sa.select(Enrolment.id).where(
                        Enrolment.school_id == school.id, Enrolment.level == level,
                        Enrolment.end_date.is_(None)).limit(1)):
                    ctx.error(line, "levels", _("%(code)s has children enrolled now at %(level)s level.",
                                                code=code, level=level))
            if ctx.report.count != before:
                continue
        _apply(plan, line, school, values, lambda: School(code=code, **values))
    return plan


def centres(table: Table, ctx: ImportContext) -> Plan:
    ix, plan, seen = table.index, ReferencePlan(), {}
    stored = {c.code: c for c in db.session.scalars(sa.select(Centre))}
    for line, cells in ctx.each(table.good, _("Checking")):
        before = ctx.report.count
        code = ctx.text(line, "centre_code", cells[ix["centre_code"]], max_length=20)
        name = ctx.text(line, "name", cells[ix["name"]], max_length=200)
        kind = ctx.choice(line, "kind", cells[ix["kind"]], [k.value for k in CentreKind])
        municipality = ctx.text(line, "municipality", cells[ix["municipality"]], max_length=100)
        if ctx.report.count != before or _again(ctx, seen, code, line, "centre_code", code):
            continue
        values = {"name": name, "kind": CentreKind(kind), "municipality": municipality}
        _apply(plan, line, stored.get(code), values, lambda: Centre(code=code, **values))
    return plan


def academic_years(table: Table, ctx: ImportContext) -> Plan:
    ix, plan, seen = table.index, ReferencePlan(), {}
    stored = {y.label: y for y in db.session.scalars(sa.select(AcademicYear))}
    spans: dict[str, tuple[dt.date, dt.date]] = {label: (y.first_day, y.last_day) for label, y in stored.items()}
    for line, cells in ctx.each(table.good, _("Checking")):
        before = ctx.report.count
        label = cells[ix["academic_year"]]
        m = LABEL.match(label)
        if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
            ctx.error(line, "academic_year", _("Write the year as 2025/26."))
        first = ctx.date(line, "first_day", cells[ix["first_day"]])
        last = ctx.date(line, "last_day", cells[ix["last_day"]])
        if ctx.report.count != before or _again(ctx, seen, label, line, "academic_year", label):
            continue
        if first >= last:
            ctx.error(line, "last_day", _("The last day must come after the first day."))
            continue
        if first.year != int(m.group(1)) or (last - first).days > 366:
            ctx.error(line, "first_day", _("The first day must fall in %(y)s and the year last at most a year.",
                                           y=m.group(1)))
            continue
        spans[label] = (first, last)
        values = {"first_day": first, "last_day": last}
        _apply(plan, line, stored.get(label), values, lambda: AcademicYear(label=label, **values))
    # Overlaps are checked once every row is known: a file may move two years' boundaries at once.
    for label, line in seen.items():
        if label not in spans or line in ctx.report.bad_lines:
            continue
        first, last = spans[label]
        clash = next((other for other, (a, b) in sorted(spans.items())
                      if other != label and a <= last and b >= first), None)
        if clash:
            ctx.error(line, "first_day", _("The dates overlap %(y)s.", y=clash))
    return plan


def non_school_days(table: Table, ctx: ImportContext) -> Plan:
    ix, plan, seen = table.index, ReferencePlan(), {}
    years = {y.label: y for y in db.session.scalars(sa.select(AcademicYear))}
    schools_by_code = dict(db.session.execute(sa.select(School.code, School.id)).all())
    stored = {(d.year_id, d.date, d.school_id): d for d in db.session.scalars(sa.select(NonSchoolDay))}
    every_school = {(k[0], k[1]): d.description for k, d in stored.items() if k[2] is None}
    rows = []
    for line, cells in ctx.each(table.good, _("Checking")):
        before = ctx.report.count
        label = cells[ix["academic_year"]]
        year = years.get(label)
        if year is None:
            ctx.error(line, "academic_year", _("No academic year %(y)s; import or add it first.", y=label or "—"))
        day = ctx.date(line, "date", cells[ix["date"]])
        description = ctx.text(line, "description", cells[ix["description"]], max_length=200)
        code = cells[ix["school_code"]]
        school_id = None
        if code:
            school_id = schools_by_code.get(code)
            if school_id is None:
                ctx.error(line, "school_code", _("No school %(code)s.", code=code))
        if ctx.report.count != before:
            continue
        if not year.first_day <= day <= year.last_day:
            ctx.error(line, "date", _("The date must fall within %(y)s (%(a)s to %(b)s).", y=year.label,
                                      a=year.first_day.isoformat(), b=year.last_day.isoformat()))
            continue
        if _again(ctx, seen, (year.id, day, school_id), line, "date", day.isoformat()):
            continue
        if school_id is None:
            every_school[(year.id, day)] = description
        rows.append((line, year, day, description, school_id))
    for line, year, day, description, school_id in rows:
        if school_id is not None and (year.id, day) in every_school:
            ctx.error(line, "date", _("This day is already a non-school day (%(d)s).", d=every_school[(year.id, day)]))
            continue
        _apply(plan, line, stored.get((year.id, day, school_id)), {"description": description},
               lambda: NonSchoolDay(year_id=year.id, date=day, description=description, school_id=school_id))
    return plan
