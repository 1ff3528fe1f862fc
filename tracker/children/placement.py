"""What the enrol form offers: a grade suggested from the child's age, and only the classes that fit.

Serbian schools place a child by age on 1 September of the school year: primary grade = age - 6 (1 to 8), and
secondary from age 15, grade = age - 14 (1 to 4). The officer may choose otherwise (a child who missed years of
school often starts lower); the suggestion only pre-fills the form.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from tracker import scope
from tracker.enrolment.operations import EARLY_START, year_for
from tracker.extensions import db
from tracker.schools.models import AcademicYear, School, SchoolClass
from tracker.types import GRADES, Level

SECONDARY_FROM = 15  # age on 1 September at which a child starts secondary school


@dataclass(frozen=True)
class Suggestion:
    age: int  # on 1 September of the school year
    level: Level
    grade: int


def first_of_september(day: dt.date) -> dt.date:
    """1 September of the school year that ``day`` is in (or, over the summer, the one about to start)."""
    year = year_for(day)
    if year is not None:
        return dt.date(year.first_day.year, 9, 1)
    return dt.date(day.year if day.month >= 7 else day.year - 1, 9, 1)


def suggest(birth_date: dt.date, day: dt.date, school: School | None = None) -> Suggestion:
    """The level and grade for a child born on ``birth_date`` starting school on ``day``; secondary only where
    the school offers it (or no school is chosen yet)."""
    sept = first_of_september(day)
    age = sept.year - birth_date.year - ((sept.month, sept.day) < (birth_date.month, birth_date.day))
    secondary_here = school is None or school.offers(Level.secondary) or not school.offers(Level.primary)
    if age >= SECONDARY_FROM and secondary_here:
        level = Level.secondary
        grade = age - SECONDARY_FROM + 1
    else:
        level = Level.primary
        grade = age - 6
    grades = GRADES[level]
    return Suggestion(age, level, max(grades[0], min(grades[-1], grade)))


def candidate_classes(user, today: dt.date) -> list[SchoolClass]:
    """The user's classes of the school years an enrolment starting around now can fall in."""
    from tracker.schools.operations import active_classes

    return db.session.scalars(
        active_classes(scope.classes(user)).join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(AcademicYear.last_day >= today - EARLY_START)
        .options(selectinload(SchoolClass.school), selectinload(SchoolClass.year))
        .order_by(SchoolClass.name, SchoolClass.id)).all()


def fitting(classes: list[SchoolClass], school: School | None, year: AcademicYear | None, level, grade
            ) -> list[SchoolClass]:
    """The classes of exactly this school, school year, level and grade."""
    if school is None or year is None or level is None or grade is None:
        return []
    level = getattr(level, "value", level)
    return [c for c in classes if (c.school_id, c.year_id, c.level.value, c.grade) == (school.id, year.id, level, grade)]


def script_data(classes: list[SchoolClass]) -> dict[str, str]:
    """What static/enrol.js needs to narrow the class list as the officer chooses (JSON in data- attributes); the
    years in the order tracker.enrolment.operations.year_for tries them."""
    years = db.session.scalars(sa.select(AcademicYear).order_by(AcademicYear.first_day)).all()  # a handful
    return {
        "classes": json.dumps([{"id": str(c.id), "school": c.school.code, "year": c.year_id, "level": c.level.value,
                                "grade": c.grade, "label": c.name} for c in classes]),
        "years": json.dumps([{"id": y.id, "from": (y.first_day - EARLY_START).isoformat(),
                              "to": y.last_day.isoformat()} for y in years]),
    }
