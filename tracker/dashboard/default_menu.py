"""Default plugin: the dashboard and the core entries of the navigation menu."""
from flask_babel import gettext as _

from tracker import hookimpl
from tracker.types import Role


@hookimpl
def register_blueprints(app):
    from tracker.dashboard.views import bp

    return [bp]


@hookimpl
def menu_items(user):
    items = [{"endpoint": "dashboard.index", "label": _("Home"), "order": 0}]
    if user.role in (Role.admin, Role.liaison, Role.teacher):
        items.append({"endpoint": "children.index", "label": _("Children"), "order": 10})
        items.append({"endpoint": "schools.index", "label": _("Schools"), "order": 20})
    if user.role in (Role.admin, Role.liaison):
        items.append({"endpoint": "children.register", "label": _("Register a child"), "order": 15})
    items.append({"endpoint": "auth.password", "label": _("Password"), "order": 90})
    return items
