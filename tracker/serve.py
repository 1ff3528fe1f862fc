"""``tracker serve``: the production WSGI server (gunicorn) around the application factory.

``tracker run`` is Flask's development server (one process, the debugger within reach, for the demo);
``tracker serve`` is what a deployment runs: several gunicorn worker processes, each building its own
application with ``create_app`` (no preloading, so that ``kill -HUP`` of the master reloads new code and
configuration worker by worker), an access log that names the path and never the query string nor the
client, and the error log on standard error. docs/deploy.md, "Serving", tells the whole story.
"""
from __future__ import annotations

import os

import click

# The access log: time, method, path (never the query string: a search like /children/?q=<name> would put a
# name in the log), status, bytes, duration. No client address, user agent or referrer. Paths carry child
# codes, which are pseudonymous; no route puts a name or a date of birth into its path.
ACCESS_LOG_FORMAT = '%(t)s %(p)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
MAX_DEFAULT_WORKERS = 8


def default_workers() -> int:
    """2 × CPU cores + 1 (gunicorn's own advice), at most MAX_DEFAULT_WORKERS."""
    return min(2 * (os.cpu_count() or 1) + 1, MAX_DEFAULT_WORKERS)


def build_app(proxies: int = 0):
    """The application as a worker serves it; behind ``proxies`` trusted reverse proxies, their X-Forwarded-For
    and X-Forwarded-Proto name the client (what the sign-in limits count per source address)."""
    from tracker import create_app

    app = create_app()
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0)
    return app


def check_app() -> None:
    """Build the application once in the master, before any worker starts: a broken configuration or plugin stops
    ``tracker serve`` with its own message (instead of workers that fail to boot one after another), and the
    instance's secret key file exists before several workers look for it at once."""
    from tracker.extensions import db

    app = build_app()
    with app.app_context():
        db.engine.dispose()  # no connection of the master's survives into a forked worker


def make_server(options: dict, proxies: int = 0):
    from gunicorn.app.base import BaseApplication

    class TrackerServer(BaseApplication):
        """gunicorn with tracker's settings and the application factory (loaded in each worker)."""

        def load_config(self):
            for key, value in options.items():
                if key in self.cfg.settings and value is not None:
                    self.cfg.set(key.lower(), value)

        def load(self):
            return build_app(proxies)

    return TrackerServer()


def gunicorn_options(*, bind, workers, threads, timeout, graceful_timeout, access_log, max_requests) -> dict:
    return {
        "bind": list(bind),
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": timeout,
        "graceful_timeout": graceful_timeout,
        "preload_app": False,
        "accesslog": None if access_log == "off" else access_log,
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "loglevel": "info",
        "max_requests": max_requests,
        "max_requests_jitter": max_requests // 10 if max_requests else 0,
        "proc_name": "tracker",
        "control_socket_disable": True,  # no socket in the home directory: signals control the master
        # REMOTE_ADDR is the peer; client addresses from proxies are trusted only through --proxies (ProxyFix).
        "forwarded_allow_ips": "127.0.0.1",
    }


@click.command("serve")
@click.option("--bind", "-b", multiple=True, default=["127.0.0.1:8000"], show_default=True, metavar="ADDRESS",
              help="HOST:PORT or unix:PATH to listen on (repeat for several).")
@click.option("--workers", "-w", type=click.IntRange(1, 64), default=None,
              help=f"Worker processes (default: 2 x CPU cores + 1, at most {MAX_DEFAULT_WORKERS}; here "
                   f"{default_workers()}).")
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Threads per worker (more than 1: gunicorn's gthread worker).")
@click.option("--timeout", type=click.IntRange(5, 3600), default=60, show_default=True,
              help="Seconds a request may take before its worker is restarted (a partner PDF takes a few).")
@click.option("--graceful-timeout", type=click.IntRange(1, 3600), default=30, show_default=True,
              help="Seconds a worker gets to finish its requests on SIGTERM or SIGHUP.")
@click.option("--access-log", default="-", show_default=True, metavar="FILE",
              help="Where the access log goes ('-' standard output, 'off' none). Paths only, never query strings.")
@click.option("--max-requests", type=click.IntRange(0), default=0, show_default=True,
              help="Restart a worker after this many requests (0: never).")
@click.option("--proxies", type=click.IntRange(0, 5), default=0, show_default=True,
              help="Trusted reverse proxies in front: their X-Forwarded-For names the client (for the sign-in limit).")
def serve_command(bind, workers, threads, timeout, graceful_timeout, access_log, max_requests, proxies):
    """Serve tracker with gunicorn (production). SIGHUP reloads code and configuration gracefully; SIGTERM stops."""
    check_app()
    options = gunicorn_options(bind=bind, workers=workers or default_workers(), threads=threads, timeout=timeout,
                               graceful_timeout=graceful_timeout, access_log=access_log, max_requests=max_requests)
    make_server(options, proxies).run()
