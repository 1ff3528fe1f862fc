"""Bundled plugin: where the children of each accommodation centre go to school.

Adds a "Centres" page for admins and liaison officers (aggregates per centre: children living
there now, school age, enrolled, not enrolled, girls and UASC among the not enrolled) and a
``tracker centres`` command printing the same table.
"""
from __future__ import annotations

import datetime as dt

import click
import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from tracker import hookimpl, scope
from tracker.clitools import iso_date
from tracker.children.models import CentreStay, Child
from tracker.dashboard.queries import uasc_on
from tracker.dates import aged_between
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.schools.models import Centre, School
from tracker.types import Role

bp = Blueprint("centre_overview", __name__, url_prefix="/centres", template_folder="templates")


def centre_table(day: dt.date, municipalities: sa.Select | None = None) -> list[sa.Row]:
    """Per centre, on ``day``: living there, school age (7-17), enrolled, not enrolled, girls and UASC not enrolled."""
    school_age = aged_between(Child.birth_date, day, 7, 17)
    enrolled = sa.exists().where(Enrolment.child_id == Child.id, Enrolment.start_date <= day,
                                 sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= day))
    count_if = lambda cond: sa.func.sum(sa.case((cond, 1), else_=0))  # noqa: E731
    q = (sa.select(Centre,
                   sa.func.count(Child.id).label("living"),
                   count_if(school_age).label("school_age"),
                   count_if(sa.and_(school_age, enrolled)).label("enrolled"),
                   count_if(sa.and_(school_age, ~enrolled)).label("not_enrolled"),
                   count_if(sa.and_(school_age, ~enrolled, Child.sex == "female")).label("girls_not_enrolled"),
                   count_if(sa.and_(school_age, ~enrolled, uasc_on(day))).label("uasc_not_enrolled"))
         .select_from(Centre)
         .outerjoin(CentreStay, sa.and_(CentreStay.centre_id == Centre.id, CentreStay.start_date <= day,
                                        sa.or_(CentreStay.end_date.is_(None), CentreStay.end_date >= day)))
         .outerjoin(Child, Child.id == CentreStay.child_id)
         .group_by(Centre.id).order_by(Centre.name))
    if municipalities is not None:
        q = q.where(Centre.municipality.in_(municipalities))
    return list(db.session.execute(q))


@bp.route("/")
@login_required
def index():
    user = current_user._get_current_object()
    if user.role not in (Role.admin, Role.liaison):
        abort(404)
    municipalities = None
    if user.role == Role.liaison:
        municipalities = sa.select(School.municipality).where(School.id.in_(scope.school_ids(user)))
    rows = centre_table(dt.date.today(), municipalities)
    return render_template("centre_overview/index.html", rows=rows)


@click.command("centres")
@click.option("--date", "day", callback=iso_date, metavar="YYYY-MM-DD", help="As of this date (default today).")
@with_appcontext
def centres_command(day):
    """Print, per centre, how many school-age children living there are enrolled."""
    day = day or dt.date.today()
    click.echo(f"{'centre':<12}{'living':>8}{'age 7-17':>10}{'enrolled':>10}{'not':>6}{'girls':>7}{'uasc':>6}")
    for r in centre_table(day):
        click.echo(f"{r.Centre.code:<12}{r.living:>8}{r.school_age or 0:>10}{r.enrolled or 0:>10}"
                   f"{r.not_enrolled or 0:>6}{r.girls_not_enrolled or 0:>7}{r.uasc_not_enrolled or 0:>6}")


@hookimpl
def register_blueprints(app):
    return [bp]


@hookimpl
def menu_items(user):
    if user.role in (Role.admin, Role.liaison):
        return [{"endpoint": "centre_overview.index", "label": _("Centres"), "order": 30}]
    return []


@hookimpl
def register_commands(cli):
    return [centres_command]
