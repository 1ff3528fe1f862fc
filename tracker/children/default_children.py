"""Default plugin: the children pages (list, child's page, register, enrol, transfer, exit)."""
from flask_babel import gettext as _

from tracker import hookimpl
from tracker.types import Role


@hookimpl
def register_blueprints(app):
    from tracker.children.views import bp

    return [bp]


@hookimpl
def menu_items(user):
    items = []
    if user.role in (Role.admin, Role.liaison, Role.teacher):
        items.append({"endpoint": "children.index", "label": _("Children"), "order": 10})
    if user.role in (Role.admin, Role.liaison):
        items.append({"endpoint": "children.register", "label": _("Register a child"), "order": 15})
    return items
