"""Default settings. instance/config.py overrides them, then TRACKER_* environment variables."""
from datetime import timedelta

SECRET_KEY = None  # set in instance/config.py or TRACKER_SECRET_KEY; a random one is written on first run
SQLALCHEMY_DATABASE_URI = None  # None: sqlite at instance/tracker.sqlite3
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
SQLITE_BUSY_TIMEOUT_MS = 5000

# Plugins named here are never loaded (bundled, default or third-party).
BLOCKED_PLUGINS: list[str] = []

# Sessions: 30 minutes idle, 12 hours absolute.
PERMANENT_SESSION_LIFETIME = timedelta(minutes=30)
SESSION_ABSOLUTE_LIFETIME = timedelta(hours=12)
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_SECURE = True
REMEMBER_COOKIE_HTTPONLY = True

# Login: this many failures within the window lock the account for the window.
LOGIN_MAX_FAILURES = 5
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
PASSWORD_MIN_LENGTH = 12

WTF_CSRF_TIME_LIMIT = None  # the session lifetime bounds the token

BABEL_DEFAULT_LOCALE = "en"
BABEL_DEFAULT_TIMEZONE = "Europe/Belgrade"
LANGUAGES = ["en", "sr_Latn", "sr_Cyrl"]

MAX_CONTENT_LENGTH = 5 * 1024 * 1024

DEMO_PASSWORD = "refugee-education-demo"

# Small-cell suppression threshold for aggregates shown to partners (and in reports prepared for sharing).
SUPPRESSION_K = 5
# The breakdowns partners may ask for, and how many of them at once. Country and centre are left
# out on purpose: with UASC status they single out a handful of children.
REPORT_PARTNER_DIMENSIONS = ["sex", "uasc", "age_band", "level", "municipality"]
REPORT_PARTNER_MAX_DIMENSIONS = 2
