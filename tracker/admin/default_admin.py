"""Default plugin: the users page (create, assign, deactivate, reset a password) and the audit log, for admins."""
from flask_babel import gettext as _

from tracker import hookimpl
from tracker.types import Role


@hookimpl
def register_blueprints(app):
    from tracker.admin.views import bp

    return [bp]


@hookimpl
def menu_items(user):
    if user.role == Role.admin:
        return [{"endpoint": "admin.users", "label": _("Users"), "order": 80},
                {"endpoint": "admin.audit", "label": _("Audit log"), "order": 82}]
    return []
