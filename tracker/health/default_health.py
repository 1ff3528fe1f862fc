"""Default plugin: /healthz and /readyz for load balancers and process supervisors (can be blocked)."""
from tracker import hookimpl


@hookimpl
def register_blueprints(app):
    from tracker.health.views import bp

    return [bp]
