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

# Disclosure control of every figure partners see (and reports prepared for sharing); docs/reports.md.
# The threshold: a published count below it is shown as "<5", and a rate is published only where its
# published denominator reaches it. Protects against: singling out a group of a few children.
SUPPRESSION_K = 5
# Each count of children is changed by at most this much (the cell-key perturbation, the same for the same
# children in every request). Protects against: differencing two overlapping requests, and margins of one
# table that would pin down a small cell. 0 switches perturbation off (not advised).
DISCLOSURE_MAX_PERTURBATION = 2
# The perturbation table: the chance of each change, from -max to +max (2 * max + 1 numbers adding up to 1).
# Wider spreads protect more and blur more.
DISCLOSURE_PERTURBATION = (0.05, 0.20, 0.50, 0.20, 0.05)
# Published counts are rounded to a multiple of this. At or above SUPPRESSION_K, the difference of any two
# published counts can never be a number of 1 to SUPPRESSION_K - 1 children.
DISCLOSURE_ROUNDING = 5
# Rates are published as fractions rounded to this many decimals (2: whole percent).
DISCLOSURE_RATE_DECIMALS = 2
# A school can be chosen alone only with at least this many children enrolled in the period; smaller schools
# are reported within their municipality. Protects against: a school of a few children as its own table.
DISCLOSURE_MIN_SCHOOL_CHILDREN = 20
# The breakdowns partners may ask for, and how many of them at once. Country and centre are left
# out on purpose: with UASC status they single out a handful of children.
REPORT_PARTNER_DIMENSIONS = ["sex", "uasc", "age_band", "level", "municipality"]
REPORT_PARTNER_MAX_DIMENSIONS = 2
