"""Rate limits counted in the database, so that they hold across workers and machines (docs/deploy.md, "Rate limits").

One row per key ("signin:<address>", "api:<token>") and fixed window: the count and the start of its window,
incremented by a single INSERT ... ON CONFLICT DO UPDATE ... RETURNING (``operations.hit``), as the sign-in
lockout counts failures (tracker/auth). Settings (instance/config.py or TRACKER_* environment variables):

- SIGNIN_RATE_LIMIT (30) failed sign-ins per SIGNIN_RATE_WINDOW (600 seconds) from one source address, whatever
  the emails tried; a correct password takes its attempt back. 0 switches it off.
- API_RATE_LIMIT (600) requests per API_RATE_WINDOW (3600 seconds) per API token. 0 switches it off.
"""
from __future__ import annotations

import datetime as dt

DEFAULTS = {
    "SIGNIN_RATE_LIMIT": 30,
    "SIGNIN_RATE_WINDOW": 600,
    "API_RATE_LIMIT": 600,
    "API_RATE_WINDOW": 3600,
}


def setting(config, name: str) -> int:
    """An integer setting (a window may also be a timedelta), the default when absent."""
    value = config.get(name, DEFAULTS[name])
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds())
    return int(value)
