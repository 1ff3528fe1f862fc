"""Default plugin: sign-in, sign-out and password pages."""
from flask_babel import gettext as _

from tracker import hookimpl


@hookimpl
def register_blueprints(app):
    from tracker.auth.views import bp

    return [bp]


@hookimpl
def menu_items(user):
    return [{"endpoint": "auth.password", "label": _("Password"), "order": 90}]
