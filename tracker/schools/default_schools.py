"""Default plugin: the schools and classes pages, and the school calendar for admins."""
from flask_babel import gettext as _

from tracker import hookimpl
from tracker.types import Role


@hookimpl
def register_blueprints(app):
    from tracker.schools.calendar_views import bp as calendar
    from tracker.schools.views import bp

    return [bp, calendar]


@hookimpl
def menu_items(user):
    if user.role == Role.admin:
        return [{"endpoint": "calendar.index", "label": _("Calendar"), "order": 40}]
    return []
