"""Default plugin: the language and script switch."""
from tracker import hookimpl


@hookimpl
def register_blueprints(app):
    from tracker.language.views import bp

    return [bp]
