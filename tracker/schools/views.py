import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from tracker import scope
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.schools.models import AcademicYear, SchoolClass
from tracker.types import Role

bp = Blueprint("schools", __name__, url_prefix="/schools")


@bp.before_request
@login_required
def records_only():
    if current_user.role == Role.partner:
        abort(404)


@bp.route("/")
def index():
    schools = db.session.scalars(scope.schools(current_user)).all()
    return render_template("schools/index.html", schools=schools)


@bp.route("/<code>")
def detail(code):
    school = scope.get_school_or_404(current_user, code)
    classes = db.session.scalars(
        scope.classes(current_user).where(SchoolClass.school_id == school.id)
        .join(AcademicYear).order_by(AcademicYear.first_day.desc(), SchoolClass.level, SchoolClass.grade, SchoolClass.name)
    ).all()
    return render_template("schools/detail.html", school=school, classes=classes)


@bp.route("/classes/<int:class_id>")
def class_detail(class_id):
    cls = scope.get_class_or_404(current_user, class_id)
    today = dt.date.today()
    enrolments = db.session.scalars(
        sa.select(Enrolment).where(Enrolment.class_id == cls.id).order_by(Enrolment.start_date)
    ).all()
    current = [e for e in enrolments if e.covers(today)]
    past = [e for e in enrolments if not e.covers(today)]
    return render_template("schools/class.html", cls=cls, current=current, past=past)
