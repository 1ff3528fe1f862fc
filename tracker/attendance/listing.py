"""The lists of registers: today's classes and the missing registers, with their counts, filters and pages."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, SelectField

from tracker import listing, scope
from tracker.attendance import queries
from tracker.attendance.models import AttendanceRecord
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.labels import options
from tracker.schools.models import AcademicYear, School, SchoolClass

# How far back the missing registers look, in school days of each school; the first is the default.
WINDOWS = (10, 5, 20)


class TodayFilter(listing.FilterForm):
    school = SelectField(_l("School"), choices=[], validate_choice=False)
    not_taken = BooleanField(_l("Not yet taken only"))


class MissingFilter(listing.FilterForm):
    school = SelectField(_l("School"), choices=[], validate_choice=False)
    class_id = SelectField(_l("Class"), choices=[], validate_choice=False)
    days = SelectField(_l("How far back"), choices=[], validate_choice=False)


def _schools(user) -> list[School]:
    return db.session.scalars(scope.schools(user)).all()


def current_classes(user, day: dt.date) -> sa.Select:
    """The user's classes of the school year that ``day`` falls in."""
    return (scope.classes(user).join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
            .where(AcademicYear.first_day <= day, AcademicYear.last_day >= day))


# --- today's registers -----------------------------------------------------------------------------------------


def today_form(user, args) -> TodayFilter:
    form = TodayFilter(args)
    form.school.choices = listing.school_choices(_schools(user))
    return form


def todays_registers(user, day: dt.date, form: TodayFilter, args, *, page_size: int | None = None) -> listing.Listing:
    """The user's classes of the current year with the time their register was last saved today (or None),
    those not yet taken first; rows are (class, saved at)."""
    saved = (sa.select(sa.func.max(AttendanceRecord.recorded_at))
             .join(Enrolment, Enrolment.id == AttendanceRecord.enrolment_id)
             .where(Enrolment.class_id == SchoolClass.id, AttendanceRecord.date == day)
             .correlate(SchoolClass).scalar_subquery())
    every = current_classes(user, day)
    q = every.add_columns(saved.label("saved")).join(School, School.id == SchoolClass.school_id)
    if (school_id := listing.an_id(form.school.data)) is not None:
        q = q.where(SchoolClass.school_id == school_id)
    if form.not_taken.data:
        q = q.where(saved.is_(None))
    q = (q.options(selectinload(SchoolClass.school))
         .order_by(sa.case((saved.is_(None), 0), else_=1), School.name, SchoolClass.level, SchoolClass.grade,
                   SchoolClass.name, SchoolClass.id))
    page = listing.listing(q, everything=every, args=args, filters=("school", "not_taken"),
                           endpoint="attendance.today", page_size=page_size, scalars=False)
    page.extra["not_taken"] = listing.count(every.where(saved.is_(None)))
    # Taken, but a child enrolled since has no mark yet: the register still needs someone (queries.incomplete_classes).
    from tracker.attendance.queries import incomplete_classes

    taken = [c.id for c, at in page.rows if at is not None]
    page.extra["incomplete"] = incomplete_classes(taken, day) if taken else set()
    return page


# --- missing registers -----------------------------------------------------------------------------------------


def window(form: MissingFilter) -> int:
    days = listing.an_id(form.days.data)
    return days if days in WINDOWS else WINDOWS[0]


def missing_form(user, args, day: dt.date) -> MissingFilter:
    form = MissingFilter(args)
    form.school.choices = listing.school_choices(_schools(user))
    classes = current_classes(user, day).join(School, School.id == SchoolClass.school_id)
    school_id = listing.an_id(form.school.data)
    if school_id is not None:
        classes = classes.where(SchoolClass.school_id == school_id)
    classes = db.session.scalars(classes.options(selectinload(SchoolClass.school), selectinload(SchoolClass.year))
                                 .order_by(School.name, SchoolClass.level, SchoolClass.grade, SchoolClass.name)).all()
    form.class_id.choices = listing.class_choices(classes, with_school=school_id is None)
    form.days.choices = options([(str(n), _l("The last %(n)d school days", n=n)) for n in sorted(WINDOWS)])
    form.days.data = str(window(form))
    return form


def missing_registers(user, day: dt.date, form: MissingFilter, args, *,
                      page_size: int | None = None) -> listing.Listing:
    """The classes with registers missing in the window, what to do first first (queries.missing_by_class); rows
    are (class, days missing newest first). ``extra``: the registers counted, with and without the filters."""
    missing = queries.missing_registers(scope.class_ids(user), day, window(form))
    school_id, class_id = listing.an_id(form.school.data), listing.an_id(form.class_id.data)
    matching = [(d, c) for d, c in missing if (school_id is None or c.school_id == school_id)
                and (class_id is None or c.id == class_id)]
    grouped = queries.missing_by_class(matching)
    page = listing.listing(grouped, everything=len(missing), args=args, filters=("school", "class_id"),
                           endpoint="attendance.missing", page_size=page_size)
    page.extra.update(registers=len(matching), other_window=window(form) != WINDOWS[0])
    queries.load_teachers([c for c, _days in page.rows])
    return page
