"""Default plugin: the dashboard (the home page) and its entry in the navigation menu.

Every other entry of the menu comes from the plugin that serves the page (``menu_items``), so
blocking a plugin takes its entries out of the menu with its pages.
"""
from flask_babel import gettext as _

from tracker import hookimpl


@hookimpl
def register_blueprints(app):
    from tracker.dashboard.views import bp

    return [bp]


@hookimpl
def menu_items(user):
    return [{"endpoint": "dashboard.index", "label": _("Home"), "order": 0}]
