"""Writes about the school calendar: academic years and their non-school days."""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker import audit
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.schools.models import AcademicYear, NonSchoolDay, School

LABEL = re.compile(r"^(\d{4})/(\d{2})$")


def add_year(label: str, first_day: dt.date, last_day: dt.date, *, user=None) -> AcademicYear:
    m = LABEL.match(label.strip())
    if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        raise OperationError("label", _("Write the year as 2025/26."))
    if first_day >= last_day:
        raise OperationError("last_day", _("The last day must come after the first day."))
    if first_day.year != int(m.group(1)) or (last_day - first_day).days > 366:
        raise OperationError("first_day", _("The first day must fall in %(y)s and the year last at most a year.",
                                            y=m.group(1)))
    if db.session.scalar(sa.select(AcademicYear.id).where(AcademicYear.label == label.strip())):
        raise OperationError("label", _("This academic year exists already."))
    overlap = db.session.scalar(sa.select(AcademicYear).where(AcademicYear.first_day <= last_day,
                                                              AcademicYear.last_day >= first_day))
    if overlap:
        raise OperationError("first_day", _("The dates overlap %(y)s.", y=overlap.label))
    year = AcademicYear(label=label.strip(), first_day=first_day, last_day=last_day)
    db.session.add(year)
    db.session.flush()
    audit.record("year_added", year, user=user, object_id=year.label)
    refresh_calendar_days()
    return year


def add_non_school_day(year: AcademicYear, day: dt.date, description: str, *, school: School | None = None,
                       user=None) -> NonSchoolDay:
    description = description.strip()
    if not description:
        raise OperationError("description", _("Say what the day is (a holiday, a break)."))
    if not year.first_day <= day <= year.last_day:
        raise OperationError("date", _("The date must fall within %(y)s (%(a)s to %(b)s).", y=year.label,
                                       a=year.first_day.isoformat(), b=year.last_day.isoformat()))
    clash = db.session.scalar(sa.select(NonSchoolDay).where(
        NonSchoolDay.year_id == year.id, NonSchoolDay.date == day,
        sa.or_(NonSchoolDay.school_id.is_(None), NonSchoolDay.school_id == (school.id if school else None))))
    if clash:
        raise OperationError("date", _("This day is already a non-school day (%(d)s).", d=clash.description))
    nsd = NonSchoolDay(year=year, date=day, description=description[:200], school=school)
    db.session.add(nsd)
    db.session.flush()
    audit.record("non_school_day_added", nsd, user=user)
    from tracker.attendance import summary

    summary.refresh_day(day)
    if school is None:
        refresh_calendar_days()
    return nsd


def remove_non_school_day(nsd: NonSchoolDay, *, user=None) -> None:
    audit.record("non_school_day_removed", nsd, user=user)
    day, every_school = nsd.date, nsd.school_id is None
    db.session.delete(nsd)
    db.session.flush()
    from tracker.attendance import summary

    summary.refresh_day(day)
    if every_school:
        refresh_calendar_days()


def refresh_calendar_days() -> None:
    """Rebuild calendar_day (school days of every school, numbered within their year); flush, no commit.

    Called by every operation that changes the academic years or the non-school days of every school.
    """
    from tracker.schools.calendar import fingerprint
    from tracker.schools.models import CalendarDay, CalendarState

    built_from = fingerprint()
    state = db.session.get(CalendarState, 1)
    db.session.execute(sa.delete(CalendarDay))
    off = set(db.session.scalars(sa.select(NonSchoolDay.date).where(NonSchoolDay.school_id.is_(None))))
    rows, ordinal = [], 0
    for year in db.session.scalars(sa.select(AcademicYear).order_by(AcademicYear.first_day)):
        day = year.first_day
        while day <= year.last_day:
            if day.weekday() < 5 and day not in off:
                ordinal += 1
                rows.append({"date": day, "ordinal": ordinal, "year_id": year.id})
            day += dt.timedelta(days=1)
    if rows:
        db.session.execute(sa.insert(CalendarDay), rows)
    if state is None:
        db.session.add(CalendarState(id=1, fingerprint=built_from))
    else:
        state.fingerprint = built_from
    db.session.flush()


def save_reference(creates: list, updates: list[tuple[object, dict]], *, user=None) -> None:
    """Save checked reference rows (schools, centres, academic years, non-school days) from an import.

    ``creates`` are new model objects, ``updates`` (object, values to set). Registers already taken
    on a day that becomes a non-school day stop counting (the summary is refreshed for that day),
    and calendar_day follows any change of years or general non-school days. Flush, no commit.
    """
    from tracker.attendance import summary

    for obj, values in updates:
        for name, value in values.items():
            setattr(obj, name, value)
    db.session.add_all(creates)
    db.session.flush()
    touched = [obj for obj in (*creates, *(o for o, _v in updates))]
    for day in sorted({obj.date for obj in touched if isinstance(obj, NonSchoolDay)}):
        summary.refresh_day(day)
    if any(isinstance(obj, AcademicYear) or (isinstance(obj, NonSchoolDay) and obj.school_id is None)
           for obj in touched):  # calendar_day counts the days off of every school only
        refresh_calendar_days()


def add_classes(rows: list[dict], *, user=None) -> list[int]:
    """Create classes (school_id, year_id, level, grade, name) in one statement; their ids, in order. Flush only."""
    from tracker.schools.models import SchoolClass

    if not rows:
        return []
    table = SchoolClass.__table__
    ids = db.session.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True),
                             rows).scalars().all()
    audit.record("classes_added", user=user, object_type="school_class", object_id=str(len(ids)))
    return list(ids)


# --- Schools and classes, for administrators -------------------------------------------------------

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _school_values(code: str, name: str, municipality: str, offers_primary: bool, offers_secondary: bool,
                   school: School | None) -> dict:
    code = (code or "").strip()
    name, municipality = " ".join((name or "").split()), " ".join((municipality or "").split())
    if not CODE.match(code):
        raise OperationError("code", _("Write the ministry code with letters, digits, dots or dashes (at most 20)."))
    if not name or len(name) > 200:
        raise OperationError("name", _("Write the school's name (at most 200 characters)."))
    if not municipality or len(municipality) > 100:
        raise OperationError("municipality", _("Write the municipality (at most 100 characters)."))
    if not (offers_primary or offers_secondary):
        raise OperationError("offers_primary", _("Choose at least one level the school offers."))
    other = db.session.scalar(sa.select(School).where(School.code == code))
    if other is not None and other is not school:
        raise OperationError("code", _("Another school has this code (%(name)s).", name=other.name))
    return {"code": code, "name": name, "municipality": municipality,
            "offers_primary": bool(offers_primary), "offers_secondary": bool(offers_secondary)}


def create_school(*, code: str, name: str, municipality: str, offers_primary: bool = False,
                  offers_secondary: bool = False, user=None) -> School:
    school = School(**_school_values(code, name, municipality, offers_primary, offers_secondary, None))
    save_reference([school], [], user=user)
    audit.record("school_added", school, user=user)
    return school


def update_school(school: School, *, code: str, name: str, municipality: str, offers_primary: bool = False,
                  offers_secondary: bool = False, user=None) -> None:
    from tracker.enrolment.models import Enrolment
    from tracker.schools.models import SchoolClass
    from tracker.types import Level

    values = _school_values(code, name, municipality, offers_primary, offers_secondary, school)
    for level, key in ((Level.primary, "offers_primary"), (Level.secondary, "offers_secondary")):
        if getattr(school, key) and not values[key]:
            in_use = db.session.scalar(sa.select(sa.or_(
                sa.exists().where(SchoolClass.school_id == school.id, SchoolClass.level == level,
                                  SchoolClass.archived_at.is_(None)),
                sa.exists().where(Enrolment.school_id == school.id, Enrolment.level == level,
                                  Enrolment.end_date.is_(None)))))
            if in_use:
                raise OperationError(key, _("The school has classes or open enrolments at this level; "
                                            "archive the classes and close the enrolments first."))
    save_reference([], [(school, values)], user=user)
    audit.record("school_changed", school, user=user)


def archive_school(school: School, *, user=None) -> None:
    """Hide the school from choice lists and new enrolments; its records and figures stay."""
    if school.archived_at is None:
        school.archived_at = _utcnow()
        db.session.flush()
        audit.record("school_archived", school, user=user)


def restore_school(school: School, *, user=None) -> None:
    if school.archived_at is not None:
        school.archived_at = None
        db.session.flush()
        audit.record("school_restored", school, user=user)


def _teachers(teachers) -> list:
    from tracker.auth.models import User
    from tracker.types import Role

    teachers = list(teachers or [])
    if any(not isinstance(t, User) or t.role != Role.teacher for t in teachers):
        raise OperationError("teachers", _("Only users with the teacher role can teach a class."))
    return teachers


def _check_class(school: School, year: AcademicYear, level, grade, name: str, cls=None) -> tuple:
    from tracker.schools.models import SchoolClass
    from tracker.types import GRADES, Level

    name = " ".join((name or "").split())
    if not name or len(name) > 50:
        raise OperationError("name", _("Write the class name (at most 50 characters), for example 5-1."))
    try:
        level = Level(level)
    except ValueError:
        raise OperationError("level", _("Choose primary or secondary.")) from None
    if not school.offers(level):
        raise OperationError("level", _("%(school)s does not offer this level.", school=school.name))
    try:
        grade = int(grade)
    except (TypeError, ValueError):
        grade = 0
    if grade not in GRADES[level]:
        raise OperationError("grade", _("The grade must be from %(a)d to %(b)d at this level.",
                                        a=GRADES[level].start, b=GRADES[level].stop - 1))
    other = db.session.scalar(sa.select(SchoolClass).where(SchoolClass.school_id == school.id,
                                                           SchoolClass.year_id == year.id, SchoolClass.name == name))
    if other is not None and other is not cls:
        raise OperationError("name", _("%(school)s already has a class %(name)s in %(y)s.", school=school.name,
                                       name=name, y=year.label))
    return level, grade, name


def create_class(school: School, year: AcademicYear, *, level, grade, name: str, teachers=(), user=None):
    from tracker.schools.models import SchoolClass

    if school.archived:
        raise OperationError(None, _("%(school)s is archived: restore it before adding classes.", school=school.name))
    level, grade, name = _check_class(school, year, level, grade, name)
    teachers = _teachers(teachers)
    (class_id,) = add_classes([{"school_id": school.id, "year_id": year.id, "level": level, "grade": grade,
                                "name": name}], user=user)
    cls = db.session.get(SchoolClass, class_id)
    cls.teachers = teachers
    db.session.flush()
    return cls


def update_class(cls, *, year: AcademicYear, level, grade, name: str, teachers=(), user=None) -> None:
    """Change a class. Its year, level and grade stay while children are enrolled in it (their enrolments
    carry the same year, level and grade)."""
    from tracker.enrolment.models import Enrolment

    level, grade, name = _check_class(cls.school, year, level, grade, name, cls)
    teachers = _teachers(teachers)
    if (year.id, level, grade) != (cls.year_id, cls.level, cls.grade) and db.session.scalar(
            sa.select(sa.exists().where(Enrolment.class_id == cls.id))):
        raise OperationError("grade", _("Children are enrolled in this class, so its year, level and grade "
                                        "cannot change. Create a new class instead."))
    cls.year, cls.level, cls.grade, cls.name = year, level, grade, name
    cls.teachers = teachers
    db.session.flush()
    audit.record("class_changed", cls, user=user)


def archive_class(cls, *, user=None) -> None:
    if cls.archived_at is None:
        cls.archived_at = _utcnow()
        db.session.flush()
        audit.record("class_archived", cls, user=user)


def restore_class(cls, *, user=None) -> None:
    if cls.archived_at is not None:
        cls.archived_at = None
        db.session.flush()
        audit.record("class_restored", cls, user=user)


def class_copy_plan(source: AcademicYear, target: AcademicYear, *, school: School | None = None,
                    move_up: bool = False) -> list[dict]:
    """What copying the classes of ``source`` into ``target`` would do, one row per class of the source
    (active classes of active schools): ``new`` (created), ``exists`` (a class of that name is in the
    target year already: skipped) or ``last_grade`` (moving up would pass the level's last grade: skipped)."""
    from tracker.schools.models import SchoolClass
    from tracker.types import GRADES

    if source.id == target.id:
        raise OperationError("target", _("Choose a target year other than the source year."))
    q = (sa.select(SchoolClass).join(School).where(SchoolClass.year_id == source.id, SchoolClass.archived_at.is_(None),
                                                   School.archived_at.is_(None))
         .order_by(School.name, SchoolClass.level, SchoolClass.grade, SchoolClass.name))
    if school is not None:
        q = q.where(SchoolClass.school_id == school.id)
    existing = set(db.session.execute(sa.select(SchoolClass.school_id, SchoolClass.name)
                                      .where(SchoolClass.year_id == target.id)).all())
    plan = []
    for cls in db.session.scalars(q):
        grade = cls.grade + 1 if move_up else cls.grade
        if (cls.school_id, cls.name) in existing:
            status = "exists"
        elif grade not in GRADES[cls.level]:
            status = "last_grade"
        else:
            status = "new"
        plan.append({"source": cls, "school": cls.school, "name": cls.name, "level": cls.level, "grade": grade,
                     "teachers": list(cls.teachers), "status": status})
    return plan


def copy_classes(source: AcademicYear, target: AcademicYear, *, school: School | None = None, move_up: bool = False,
                 user=None) -> list[dict]:
    """Create the target year's classes from the source year's in one step (names, levels, grades,
    teachers; grades one up with ``move_up``). Classes whose name the target year has already are
    skipped, so running it twice creates nothing more. The plan, as ``class_copy_plan`` gives it."""
    from tracker.schools.models import class_teachers

    plan = class_copy_plan(source, target, school=school, move_up=move_up)
    new = [row for row in plan if row["status"] == "new"]
    ids = add_classes([{"school_id": r["school"].id, "year_id": target.id, "level": r["level"], "grade": r["grade"],
                        "name": r["name"]} for r in new], user=user)
    links = [{"class_id": cid, "user_id": t.id} for cid, r in zip(ids, new) for t in r["teachers"]]
    if links:
        db.session.execute(sa.insert(class_teachers), links)
    for cid, row in zip(ids, new):
        row["class_id"] = cid
    db.session.flush()
    if new:
        db.session.expire_all()  # the teachers' and schools' class lists include the new classes
    audit.record("classes_copied", user=user, object_type="academic_year", object_id=target.label)
    return plan


# --- Ranges of non-school days and the public holidays of a year -------------------------------------

def _days_off_taken(year: AcademicYear, first: dt.date, last: dt.date, school: School | None) -> dict:
    """The days from ``first`` to ``last`` already off for this scope: date -> NonSchoolDay."""
    return {d.date: d for d in db.session.scalars(sa.select(NonSchoolDay).where(
        NonSchoolDay.year_id == year.id, NonSchoolDay.date.between(first, last),
        sa.or_(NonSchoolDay.school_id.is_(None), NonSchoolDay.school_id == (school.id if school else None))))}


def add_non_school_range(year: AcademicYear, first: dt.date, last: dt.date, description: str, *,
                         school: School | None = None, user=None):
    """Days off from ``first`` to ``last`` (a break) as one entry. Each weekday in it becomes a
    non-school day of the range; weekends need none, and days already off (a public holiday inside
    the break) keep their own entry. Returns the range and the dates that were off already."""
    from tracker.schools.models import NonSchoolRange

    description = " ".join((description or "").split())
    if not description:
        raise OperationError("description", _("Say what the days are (a holiday, a break)."))
    if last < first:
        raise OperationError("last_day", _("The last day must not come before the first day."))
    for name, day in (("first_day", first), ("last_day", last)):
        if not year.first_day <= day <= year.last_day:
            raise OperationError(name, _("The date must fall within %(y)s (%(a)s to %(b)s).", y=year.label,
                                         a=year.first_day.isoformat(), b=year.last_day.isoformat()))
    taken = _days_off_taken(year, first, last, school)
    days, day = [], first
    while day <= last:
        if day.weekday() < 5 and day not in taken:
            days.append(day)
        day += dt.timedelta(days=1)
    if not days:
        raise OperationError("first_day", _("Every weekday in these dates is a non-school day already."))
    rng = NonSchoolRange(year=year, first_day=first, last_day=last, description=description[:200], school=school)
    rng.days = [NonSchoolDay(year=year, date=d, description=description[:200], school=school) for d in days]
    save_reference([rng, *rng.days], [], user=user)
    audit.record("non_school_range_added", rng, user=user)
    return rng, sorted(d for d in taken if d.weekday() < 5)


def remove_non_school_range(rng, *, user=None) -> None:
    """Remove a range and all its days; registers taken on them count again."""
    from tracker.attendance import summary

    audit.record("non_school_range_removed", rng, user=user)
    days, every_school = [d.date for d in rng.days], rng.school_id is None
    db.session.delete(rng)
    db.session.flush()
    for day in days:
        summary.refresh_day(day)
    if every_school:
        refresh_calendar_days()


# Serbia's public holidays on fixed dates when schools close (month, day).
FIXED_HOLIDAYS = {(1, 1), (1, 2), (1, 7), (2, 15), (2, 16), (5, 1), (5, 2), (11, 11)}


def fixed_holiday_name(month: int, day: int) -> str:
    if month == 1:
        return _("Orthodox Christmas") if day == 7 else _("New Year")
    return {2: _("Statehood Day"), 5: _("Labour Day"), 11: _("Armistice Day")}[month]


def orthodox_easter(year: int) -> dt.date:
    """Orthodox Easter Sunday of ``year`` (Gregorian date): the Julian computus, plus the calendars'
    difference (13 days from 1900 to 2099)."""
    a, b, c = year % 4, year % 7, year % 19
    d = (19 * c + 15) % 30
    e = (2 * a + 4 * b - d + 34) % 7
    month, day = divmod(d + e + 114, 31)
    julian = dt.date(year, month, day + 1)
    return julian + dt.timedelta(days=year // 100 - year // 400 - 2)


def easter_days(year: int) -> list[tuple[dt.date, str]]:
    """Good Friday to Easter Monday (Orthodox): the days schools close at Easter."""
    sunday = orthodox_easter(year)
    names = [_("Good Friday"), _("Holy Saturday"), _("Easter Sunday"), _("Easter Monday")]
    return [(sunday + dt.timedelta(days=offset), name) for offset, name in zip((-2, -1, 0, 1), names)]


def holiday_plan(source: AcademicYear, target: AcademicYear) -> list[dict]:
    """The public holidays proposed for ``target``, oldest first, each with ``kind``:

    - ``fixed``: Serbia's fixed-date holidays that fall in the target year, named as in ``source``
      where it has them (checked);
    - ``easter``: Orthodox Easter, Good Friday to Easter Monday, worked out for the target year (checked);
    - ``other``: the other single days off of every school in ``source``, on the same date a year on
      (unchecked: a day whose date moves must be checked by hand).

    Breaks (ranges) and one school's days are not proposed. ``exists``: the target year has that day
    off already (not checked)."""
    if source.id == target.id:
        raise OperationError("source", _("Choose a year other than this one to copy from."))
    shift = target.first_day.year - source.first_day.year
    source_easter = {d for y in {source.first_day.year, source.last_day.year} for d, _n in easter_days(y)}
    singles = [d for d in source.non_school_days if d.school_id is None and d.range_id is None]
    named = {(d.date.month, d.date.day): d.description for d in singles}
    taken = _days_off_taken(target, target.first_day, target.last_day, None)
    proposals: dict[dt.date, dict] = {}

    def propose(day, description, kind, checked):
        if target.first_day <= day <= target.last_day and day not in proposals:
            proposals[day] = {"date": day, "description": description, "kind": kind,
                              "checked": checked and day not in taken, "exists": taken.get(day)}

    for y in sorted({target.first_day.year, target.last_day.year}):
        for month, day in sorted(FIXED_HOLIDAYS):
            propose(dt.date(y, month, day), named.get((month, day)) or fixed_holiday_name(month, day), "fixed", True)
        for day, name in easter_days(y):
            propose(day, name, "easter", True)
    for nsd in singles:
        if nsd.date in source_easter:
            continue
        try:
            day = nsd.date.replace(year=nsd.date.year + shift)
        except ValueError:  # 29 February
            continue
        propose(day, nsd.description, "other", False)
    return sorted(proposals.values(), key=lambda p: p["date"])


def copy_holidays(source: AcademicYear, target: AcademicYear, dates, *, user=None) -> list[NonSchoolDay]:
    """Add the chosen days of ``holiday_plan(source, target)`` to ``target``; days it has off already,
    or that the plan does not propose, are left out. Returns the days added."""
    chosen = set(dates)
    days = [NonSchoolDay(year=target, date=p["date"], description=p["description"][:200])
            for p in holiday_plan(source, target) if p["date"] in chosen and p["exists"] is None]
    if not days:
        raise OperationError("day", _("Choose at least one day that is not a non-school day already."))
    save_reference(days, [], user=user)
    audit.record("holidays_copied", user=user, object_type="academic_year", object_id=target.label)
    return days


def active_schools(query: sa.Select | None = None) -> sa.Select:
    """``query`` (default: every school, by name) without the archived schools: for choice lists and
    new enrolments. ``active_schools(scope.schools(user))`` keeps the user's scope."""
    query = sa.select(School).order_by(School.name) if query is None else query
    return query.where(School.archived_at.is_(None))


def active_classes(query: sa.Select | None = None) -> sa.Select:
    """``query`` (default: every class) without archived classes or the classes of archived schools."""
    from tracker.schools.models import SchoolClass

    query = sa.select(SchoolClass) if query is None else query
    return query.where(SchoolClass.archived_at.is_(None),
                       SchoolClass.school_id.in_(sa.select(School.id).where(School.archived_at.is_(None))))
