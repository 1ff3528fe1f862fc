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
    items = []
    if user.role in (Role.admin, Role.liaison, Role.teacher):
        items.append({"endpoint": "schools.index", "label": _("Schools"), "order": 20})
    if user.role == Role.admin:
        items.append({"endpoint": "calendar.index", "label": _("Calendar"), "order": 40})
    return items
