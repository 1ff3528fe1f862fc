"""Reading registers: who is on a register, what was saved, which registers are missing, rates."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from tracker.attendance.models import AttendanceChange, AttendanceRecord
from tracker.children.models import Child
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.schools.calendar import recent_school_days
from tracker.schools.models import SchoolClass
from tracker.types import AttendanceStatus

ATTENDED = (AttendanceStatus.present, AttendanceStatus.late)


def covering(day: dt.date):
    return sa.and_(Enrolment.start_date <= day, sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= day))


def register_rows(school_class: SchoolClass, day: dt.date) -> list[tuple[Enrolment, AttendanceRecord | None, int]]:
    """Each enrolment in the class on ``day`` with its saved record (or None) and its number of corrections."""
    corrections = (sa.select(sa.func.count()).select_from(AttendanceChange)
                   .where(AttendanceChange.record_id == AttendanceRecord.id).scalar_subquery())
    q = (sa.select(Enrolment, AttendanceRecord, corrections)
         .options(selectinload(Enrolment.child).selectinload(Child.uasc_periods),
                  selectinload(AttendanceRecord.recorded_by))
         .outerjoin(AttendanceRecord, sa.and_(AttendanceRecord.enrolment_id == Enrolment.id,
                                              AttendanceRecord.date == day))
         .where(Enrolment.class_id == school_class.id, covering(day)))
    rows = [(e, r, n or 0) for e, r, n in db.session.execute(q)]
    rows.sort(key=lambda row: (row[0].child.family_name.lower(), row[0].child.given_name.lower(), row[0].child.code))
    return rows


def latest_changes(record_ids: list[int]) -> dict[int, AttendanceChange]:
    """The latest correction of each record: one row per record, however often it was corrected."""
    if not record_ids:
        return {}
    latest = (sa.select(sa.func.max(AttendanceChange.id)).where(AttendanceChange.record_id.in_(record_ids))
              .group_by(AttendanceChange.record_id))
    return {c.record_id: c for c in db.session.scalars(
        sa.select(AttendanceChange).where(AttendanceChange.id.in_(latest))
        .options(selectinload(AttendanceChange.changed_by)))}


def history(record_ids: list[int]) -> dict[int, list[AttendanceChange]]:
    """Every correction of these records, oldest first (the register's "show all")."""
    if not record_ids:
        return {}
    out: dict[int, list[AttendanceChange]] = {}
    for change in db.session.scalars(sa.select(AttendanceChange).where(AttendanceChange.record_id.in_(record_ids))
                                     .options(selectinload(AttendanceChange.changed_by))
                                     .order_by(AttendanceChange.changed_at, AttendanceChange.id)):
        out.setdefault(change.record_id, []).append(change)
    return out


def incomplete_classes(class_ids, day: dt.date) -> set[int]:
    """The classes of ``class_ids`` whose register of ``day`` is not complete.

    A register is complete only when every child enrolled in the class on that day has a record:
    a child enrolled after the register was saved leaves it incomplete until someone records them.
    """
    unrecorded = ~sa.exists().where(AttendanceRecord.enrolment_id == Enrolment.id, AttendanceRecord.date == day)
    return set(db.session.scalars(sa.select(Enrolment.class_id).where(
        Enrolment.class_id.in_(class_ids), covering(day), unrecorded).distinct()))


def missing_registers(class_ids: sa.Select, until: dt.date, days: int = 10) -> list[tuple[dt.date, SchoolClass]]:
    """(day, class) for each recent school day on which a class's register is incomplete (``incomplete_classes``):
    a child enrolled that day has no record. Newest first.

    The school days differ per school (each has its own days off), but most schools share most days: the classes
    are asked for one day at a time, all schools together, so a municipality of 30 schools costs one query per
    day rather than one per school and day.
    """
    classes = db.session.scalars(sa.select(SchoolClass).where(SchoolClass.id.in_(class_ids))
                                 .options(selectinload(SchoolClass.school))).all()
    by_school: dict[int, list[SchoolClass]] = {}
    for cls in classes:
        by_school.setdefault(cls.school_id, []).append(cls)
    asked: dict[dt.date, list[SchoolClass]] = {}
    for school_classes in by_school.values():
        for day in recent_school_days(school_classes[0].school, until, days):
            asked.setdefault(day, []).extend(school_classes)
    missing = []
    for day, day_classes in asked.items():
        without = incomplete_classes([c.id for c in day_classes], day)
        missing += [(day, c) for c in day_classes if c.id in without]
    missing.sort(key=lambda dc: (-dc[0].toordinal(), dc[1].school.name, dc[1].name))
    return missing


def month_grid(school_class: SchoolClass, first: dt.date, last: dt.date) -> tuple[list[Enrolment], dict]:
    """Enrolments in the class at any time in [first, last] and {(enrolment_id, day): status}."""
    enrolments = db.session.scalars(sa.select(Enrolment).where(
        Enrolment.class_id == school_class.id, Enrolment.start_date <= last,
        sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= first))).all()
    marks = {}
    if enrolments:
        for eid, day, status in db.session.execute(
                sa.select(AttendanceRecord.enrolment_id, AttendanceRecord.date, AttendanceRecord.status)
                .where(AttendanceRecord.enrolment_id.in_([e.id for e in enrolments]),
                       AttendanceRecord.date.between(first, last))):
            marks[(eid, day)] = status
    enrolments = sorted(enrolments, key=lambda e: (e.child.family_name.lower(), e.child.given_name.lower()))
    return enrolments, marks


def child_rates(child_id: int) -> list[sa.Row]:
    """Per month: recorded school days, attended days, absent days (excused, unexcused), late — in SQL."""
    month = sa.func.substr(sa.cast(AttendanceRecord.date, sa.String), 1, 7).label("month")
    count_if = lambda cond: sa.func.sum(sa.case((cond, 1), else_=0))  # noqa: E731
    q = (sa.select(month,
                   sa.func.count().label("recorded"),
                   count_if(AttendanceRecord.status.in_(ATTENDED)).label("attended"),
                   count_if(AttendanceRecord.status == AttendanceStatus.late).label("late"),
                   count_if(AttendanceRecord.status == AttendanceStatus.absent_excused).label("excused"),
                   count_if(AttendanceRecord.status == AttendanceStatus.absent_unexcused).label("unexcused"))
         .join(Enrolment, Enrolment.id == AttendanceRecord.enrolment_id)
         .where(Enrolment.child_id == child_id)
         .group_by(month).order_by(month.desc()))
    return list(db.session.execute(q))


def missing_by_class(missing: list[tuple[dt.date, SchoolClass]]) -> list[tuple[SchoolClass, list[dt.date]]]:
    """The missing registers grouped by class, what to do first first: the class with the most school days
    missing, then the one whose oldest missing day is oldest; each class's days newest first."""
    days: dict[int, list[dt.date]] = {}
    classes: dict[int, SchoolClass] = {}
    for day, cls in missing:
        days.setdefault(cls.id, []).append(day)
        classes[cls.id] = cls
    grouped = [(classes[cid], sorted(ds, reverse=True)) for cid, ds in days.items()]
    grouped.sort(key=lambda row: (-len(row[1]), row[1][-1], row[0].school.name, row[0].name, row[0].id))
    return grouped


def load_teachers(classes: list[SchoolClass]) -> None:
    """Load the teachers (and school) of these classes in one query, for a page that names them."""
    if classes:
        db.session.scalars(sa.select(SchoolClass).options(selectinload(SchoolClass.teachers),
                                                          selectinload(SchoolClass.school))
                           .where(SchoolClass.id.in_([c.id for c in classes]))).all()
