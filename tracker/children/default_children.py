"""Default plugin: the children pages (list, child's page, register, enrol, transfer, exit)."""
from tracker import hookimpl


@hookimpl
def register_blueprints(app):
    from tracker.children.views import bp

    return [bp]
