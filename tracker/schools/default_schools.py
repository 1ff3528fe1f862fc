"""Default plugin: the schools and classes pages."""
from tracker import hookimpl


@hookimpl
def register_blueprints(app):
    from tracker.schools.views import bp

    return [bp]
