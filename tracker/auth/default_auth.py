"""Default plugin: sign-in, sign-out and password pages."""
from tracker import hookimpl


@hookimpl
def register_blueprints(app):
    from tracker.auth.views import bp

    return [bp]
