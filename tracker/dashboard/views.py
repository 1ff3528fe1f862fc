import datetime as dt

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from tracker import scope
from tracker.attendance.queries import missing_registers
from tracker.dashboard import queries
from tracker.types import Role

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@login_required
def index():
    user = current_user._get_current_object()
    today = dt.date.today()
    ctx = {"today": today}
    if user.role == Role.partner:
        ctx.update(queries.partner_overview(user, today))
    elif user.role == Role.teacher:
        ctx["classes"] = queries.enrolled_by_class(scope.class_ids(user), today)
        ctx["missing"] = missing_registers(scope.class_ids(user), today)
    else:
        ctx["schools"] = queries.enrolled_by_school(scope.school_ids(user), today)
        ctx["waiting"] = queries.not_enrolled_in_centres(scope.child_ids(user), today)
        if user.role == Role.admin:
            ctx["totals"] = queries.totals()
    return render_template(f"dashboard/{user.role.value}.html", **ctx)
