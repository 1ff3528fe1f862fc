"""The one place that decides which schools, classes and children a user may see.

Every view and command asks here. Scope comes from the user's server-side assignments
(schools for liaison officers, classes for teachers), never from submitted ids. A user with
no assignment sees nothing; partners never see a child's record. Out of scope is 404.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from tracker.auth.models import User, user_schools
from tracker.children.models import CentreStay, Child
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.schools.models import Centre, School, SchoolClass, class_teachers
from tracker.types import Role


def school_ids(user: User) -> sa.Select:
    """A SELECT of the ids of the schools this user may see."""
    if user.role == Role.admin:
        return sa.select(School.id)
    if user.role == Role.liaison:
        return sa.select(user_schools.c.school_id).where(user_schools.c.user_id == user.id)
    if user.role == Role.teacher:
        return (sa.select(SchoolClass.school_id)
                .join(class_teachers, class_teachers.c.class_id == SchoolClass.id)
                .where(class_teachers.c.user_id == user.id))
    return sa.select(School.id).where(sa.false())


def class_ids(user: User) -> sa.Select:
    if user.role == Role.admin:
        return sa.select(SchoolClass.id)
    if user.role == Role.liaison:
        return sa.select(SchoolClass.id).where(SchoolClass.school_id.in_(school_ids(user)))
    if user.role == Role.teacher:
        return sa.select(class_teachers.c.class_id).where(class_teachers.c.user_id == user.id)
    return sa.select(SchoolClass.id).where(sa.false())


def child_ids(user: User) -> sa.Select:
    """A SELECT of the ids of the children whose records this user may see.

    Liaison officers: children ever enrolled in their schools, children living now in a centre
    in the municipality of one of their schools, and children they registered who are not
    enrolled anywhere yet. Teachers: children ever enrolled in their classes.
    """
    if user.role == Role.admin:
        return sa.select(Child.id)
    if user.role == Role.liaison:
        mine = school_ids(user)
        municipalities = sa.select(School.municipality).where(School.id.in_(mine))
        enrolled = sa.select(Enrolment.child_id).where(Enrolment.school_id.in_(mine))
        living = (sa.select(CentreStay.child_id).join(Centre, Centre.id == CentreStay.centre_id)
                  .where(CentreStay.end_date.is_(None), Centre.municipality.in_(municipalities)))
        registered = (sa.select(Child.id).where(
            Child.created_by_id == user.id,
            ~sa.exists().where(Enrolment.child_id == Child.id),
            sa.exists(mine),
        ))
        return sa.union(enrolled, living, registered)
    if user.role == Role.teacher:
        return sa.select(Enrolment.child_id).where(Enrolment.class_id.in_(class_ids(user)))
    return sa.select(Child.id).where(sa.false())


def children(user: User) -> sa.Select:
    return sa.select(Child).where(Child.id.in_(child_ids(user)))


def schools(user: User) -> sa.Select:
    return sa.select(School).where(School.id.in_(school_ids(user))).order_by(School.name)


def classes(user: User) -> sa.Select:
    return sa.select(SchoolClass).where(SchoolClass.id.in_(class_ids(user)))


def get_child_or_404(user: User, code: str) -> Child:
    child = db.session.scalar(children(user).where(Child.code == code))
    if child is None:
        abort(404)
    return child


def get_school_or_404(user: User, code: str) -> School:
    school = db.session.scalar(schools(user).where(School.code == code))
    if school is None:
        abort(404)
    return school


def get_class_or_404(user: User, class_id: int) -> SchoolClass:
    cls = db.session.scalar(classes(user).where(SchoolClass.id == class_id))
    if cls is None:
        abort(404)
    return cls


def can_manage_children(user: User) -> bool:
    """Register children and change enrolments: admins and liaison officers."""
    return user.role in (Role.admin, Role.liaison)


def can_change_enrolment(user: User, enrolment: Enrolment) -> bool:
    if user.role == Role.admin:
        return True
    return user.role == Role.liaison and enrolment.school_id in set(db.session.scalars(school_ids(user)))
