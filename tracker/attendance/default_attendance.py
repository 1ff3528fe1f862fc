"""Default plugin: the daily register pages and their menu entries."""
from flask_babel import gettext as _

from tracker import hookimpl
from tracker.types import Role


@hookimpl
def register_blueprints(app):
    from tracker.attendance.views import bp

    return [bp]


@hookimpl
def menu_items(user):
    if user.role == Role.partner:
        return []
    return [{"endpoint": "attendance.today", "label": _("Registers"), "order": 5},
            {"endpoint": "attendance.missing", "label": _("Missing registers"), "order": 6}]
