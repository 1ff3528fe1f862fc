import datetime as dt

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from tracker import scope
from tracker.attendance.queries import missing_registers
from tracker.children import listing as children_listing
from tracker.dashboard import queries
from tracker.listing import centre_label
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
        # The children list filtered to exactly these children (tracker.children.listing.waiting_for_school).
        ctx["waiting"], ctx["waiting_total"] = children_listing.waiting_children(user, today)
        ctx["centre_label"] = centre_label
        if user.role == Role.admin:
            ctx["totals"] = queries.totals()
    return render_template(f"dashboard/{user.role.value}.html", **ctx)
