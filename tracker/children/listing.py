"""The children list: the search by name or code, its filters, its order and its pages.

The form posts (names typed into it stay out of URLs and access logs); the same fields read from the query
string make links to a filtered list, as the officer's home page links to the children waiting for a school.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy.orm import aliased, selectinload
from wtforms import SelectField
from wtforms.validators import Optional

from tracker import listing, scope
from tracker.children.forms import SearchForm, Strip
from tracker.children.models import CentreStay, Child, UascPeriod
from tracker.children.names import to_ascii
from tracker.dates import aged_between
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.indicators import sql
from tracker.labels import choices, options
from tracker.listing import centre_label  # noqa: F401 - the children list names centres as the other lists do
from tracker.schools.models import AcademicYear, Centre, School, SchoolClass
from tracker.types import UascStatus

# The fields that narrow the list (for "N of M children match"); the search text counts as one.
FILTERS = ("q", "school", "centre", "class_id", "sex", "uasc", "level", "enrolled")
SCHOOL_AGE = (7, 17)  # the ages the officer's home page and the out-of-school indicator look at
RECENT_YEARS = dt.timedelta(days=92)  # the class filter offers classes of years not over longer than this


class ChildListForm(SearchForm):
    """The search (name or code) and the list's filters."""

    school = SelectField(_l("School (now or before)"), filters=[Strip()], validators=[Optional()])
    centre = SelectField(_l("Living in centre"), filters=[Strip()], validators=[Optional()])
    class_id = SelectField(_l("Class"), choices=[], validate_choice=False)
    enrolled = SelectField(_l("Enrolment"), choices=[], filters=[Strip()], validators=[Optional()])
    # The statuses, and "unaccompanied or separated" (either): the children the follow-up list puts first.
    uasc = SelectField(_l("UASC status"), choices=options([("", _l("Any")), ("uasc", _l("Unaccompanied or separated"))])
                       + choices(UascStatus), filters=[Strip()], validators=[Optional()])
    sort = SelectField(_l("Order"), choices=[], validate_choice=False)


def waiting_for_school(day: dt.date):
    """A condition on Child: living in a centre now, school age, no open enrolment, not left Serbia.

    The one definition for the officer's home page and the children list's "waiting for a school" filter."""
    from tracker.indicators.compute import left_serbia

    stay, enrolment = aliased(CentreStay), aliased(Enrolment)  # a page may join either for its own order
    return sa.and_(sa.exists().where(stay.child_id == Child.id, stay.end_date.is_(None)),
                   aged_between(Child.birth_date, day, *SCHOOL_AGE),
                   ~sa.exists().where(enrolment.child_id == Child.id, enrolment.end_date.is_(None)),
                   ~left_serbia(day))


def waiting_children(user, day: dt.date, limit: int | None = None) -> tuple[list[Child], int]:
    """The children in the user's scope waiting for a school, the longest in a centre first, and how many."""
    q = scope.children(user).where(waiting_for_school(day))
    first = (q.join(CentreStay, sa.and_(CentreStay.child_id == Child.id, CentreStay.end_date.is_(None)))
             .options(selectinload(Child.centre_stays).selectinload(CentreStay.centre), selectinload(Child.uasc_periods))
             .order_by(CentreStay.start_date, Child.id).limit(limit or listing.PAGE))
    return list(db.session.scalars(first)), listing.count(q)


def form_for(user, data) -> ChildListForm:
    form = ChildListForm(data)
    schools = db.session.scalars(scope.schools(user)).all()
    form.school.choices = listing.school_choices(schools, value=lambda s: s.code, blank=_("Any"))
    form.centre.choices = listing.centre_choices(db.session.scalars(sa.select(Centre).order_by(Centre.code)),
                                                 value=lambda c: c.code, blank=_("Any"))
    school = next((s for s in schools if s.code == (form.school.data or "").strip()), None)
    classes = (scope.classes(user).join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
               .join(School, School.id == SchoolClass.school_id)
               .where(AcademicYear.last_day >= dt.date.today() - RECENT_YEARS)
               .options(selectinload(SchoolClass.school), selectinload(SchoolClass.year)))
    if school is not None:
        classes = classes.where(SchoolClass.school_id == school.id)
    classes = db.session.scalars(classes.order_by(School.name, AcademicYear.first_day.desc(), SchoolClass.level,
                                                  SchoolClass.grade, SchoolClass.name)).all()
    form.class_id.choices = listing.class_choices(classes, with_school=school is None, blank=_("Any"))
    form.enrolled.choices = options([("", _("Any")), ("yes", _("Enrolled now")), ("no", _("Not enrolled")),
                                     ("waiting", _("Waiting for a school"))])
    form.sort.choices = options([("name", _("By name")), ("action", _("Not enrolled first"))])
    if form.sort.data not in ("name", "action"):
        form.sort.data = "name"
    return form


def searched(form: ChildListForm, user, day: dt.date) -> sa.Select:
    """The children in the user's scope that the search and the filters keep, in the order asked for."""
    q = scope.children(user)
    open_enrolment = sa.and_(Enrolment.child_id == Child.id, Enrolment.end_date.is_(None))
    text = "".join(ch for ch in (form.q.data or "") if ord(ch) >= 32).strip()
    if text:
        if text.upper().startswith("C-") and len(text) <= 12:
            q = q.where(Child.code == text.upper())
        else:
            conds = [Child.name_key.like(f"%{tok}%") for tok in to_ascii(text).split()]
            q = q.where(sa.or_(sa.and_(*conds) if conds else sa.false(), Child.name_original.like(f"%{text}%")))
    if form.school.data:
        q = q.where(sa.exists().where(Enrolment.child_id == Child.id, Enrolment.school_id == School.id,
                                      School.code == form.school.data))
    if form.centre.data:
        q = q.where(sa.exists().where(CentreStay.child_id == Child.id, CentreStay.end_date.is_(None),
                                      CentreStay.centre_id == Centre.id, Centre.code == form.centre.data))
    if (class_id := listing.an_id(form.class_id.data)) is not None:
        q = q.where(sa.exists().where(Enrolment.child_id == Child.id, Enrolment.class_id == class_id))
    if form.level.data:
        q = q.where(sa.exists().where(open_enrolment, Enrolment.level == form.level.data))
    if form.enrolled.data == "yes":
        q = q.where(sa.exists().where(open_enrolment))
    elif form.enrolled.data == "no":
        q = q.where(~sa.exists().where(open_enrolment))
    elif form.enrolled.data == "waiting":
        q = q.where(waiting_for_school(day))
    if form.sex.data:
        q = q.where(Child.sex == form.sex.data)
    if form.uasc.data == "uasc":
        q = q.where(sql.uasc_on(day) != UascStatus.accompanied.value)
    elif form.uasc.data:
        in_period = sa.exists().where(UascPeriod.child_id == Child.id, UascPeriod.status == form.uasc.data,
                                      UascPeriod.start_date <= day,
                                      sa.or_(UascPeriod.end_date.is_(None), UascPeriod.end_date >= day))
        if form.uasc.data == UascStatus.accompanied.value:
            in_period = sa.or_(in_period, ~sa.exists().where(UascPeriod.child_id == Child.id))
        q = q.where(in_period)
    by_name = (Child.family_name, Child.given_name, Child.code)
    if form.sort.data == "action":
        return q.order_by(sa.case((sa.exists().where(open_enrolment), 1), else_=0), *by_name)
    return q.order_by(*by_name)


def children_page(form: ChildListForm, user, data, *, valid: bool = True,
                  page_size: int | None = None) -> listing.Listing:
    """One page of the list (``data``: the posted form or the query string); nothing when the form is invalid."""
    day = dt.date.today()
    every = scope.children(user)
    q = searched(form, user, day) if valid else every.where(sa.false())
    q = q.options(selectinload(Child.enrolments).selectinload(Enrolment.school),
                  selectinload(Child.centre_stays).selectinload(CentreStay.centre), selectinload(Child.uasc_periods))
    page = listing.listing(q, everything=every, args=data, filters=FILTERS, page_size=page_size)
    page.extra["filtered"] = form.sort.data == "action" or any(
        (data.get(name) or "").strip() for name in FILTERS if name != "q")
    return page
