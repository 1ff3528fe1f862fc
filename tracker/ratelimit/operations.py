"""Every write of the rate limits: count a request under a key, take a count back. Flush only, never commit."""
from __future__ import annotations

import dataclasses
import datetime as dt
import math

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from tracker import bulk, unit_of_work
from tracker.children.models import utcnow
from tracker.extensions import db
from tracker.ratelimit import setting
from tracker.ratelimit.models import RateLimit


@dataclasses.dataclass(frozen=True)
class Count:
    key: str
    hits: int
    limit: int
    retry_after: int  # seconds until the window ends

    @property
    def refused(self) -> bool:
        """This request (counted) went over the limit."""
        return self.limit > 0 and self.hits > self.limit

    @property
    def used_up(self) -> bool:
        """The limit is reached: the next request would go over it (for a count read with ``peek``)."""
        return self.limit > 0 and self.hits >= self.limit


def _retry_after(window_start: dt.datetime, window: int, now: dt.datetime) -> int:
    return max(1, math.ceil((window_start + dt.timedelta(seconds=window) - now).total_seconds()))


def hit(key: str, limit: int, window: int) -> Count:
    """Count one request under ``key``: a single INSERT ... ON CONFLICT DO UPDATE ... RETURNING that starts a new
    window when the current one is over. Atomic on SQLite and PostgreSQL, so parallel requests in any number of
    workers are counted one after another. The count stands even when the request is refused (``keep``)."""
    now = utcnow()
    since = now - dt.timedelta(seconds=window)
    insert = postgresql.insert if bulk.is_postgresql() else sqlite.insert
    table = RateLimit.__table__
    expired = table.c.window_start <= since
    stmt = insert(table).values(key=key, hits=1, window_start=now).on_conflict_do_update(
        index_elements=["key"], set_={
            "hits": sa.case((expired, 1), else_=table.c.hits + 1),
            "window_start": sa.case((expired, now), else_=table.c.window_start),
        }).returning(table.c.hits, table.c.window_start)
    hits, window_start = db.session.execute(stmt).one()
    unit_of_work.keep()  # a refused request (429, or a failed sign-in answered 401) keeps its count
    return Count(key, hits, limit, _retry_after(window_start, window, now))


def peek(key: str, limit: int, window: int) -> Count:
    """The count under ``key`` in its current window, without counting (reads only)."""
    now = utcnow()
    row = db.session.execute(sa.select(RateLimit.hits, RateLimit.window_start).where(RateLimit.key == key)).one_or_none()
    if row is None or row.window_start <= now - dt.timedelta(seconds=window):
        return Count(key, 0, limit, window)
    return Count(key, row.hits, limit, _retry_after(row.window_start, window, now))


def give_back(count: Count) -> None:
    """Take back one counted request (a sign-in that turned out to be correct)."""
    db.session.execute(sa.update(RateLimit).where(RateLimit.key == count.key, RateLimit.hits > 0)
                       .values(hits=RateLimit.hits - 1))
    db.session.flush()


# --- the two limits ----------------------------------------------------------------------------------------------

def signin_attempt(source: str | None) -> Count:
    """Count a sign-in attempt from ``source`` (the client's address), before its password is checked."""
    config = current_app.config
    limit = setting(config, "SIGNIN_RATE_LIMIT")
    return hit(f"signin:{(source or '-')[:90]}", limit, setting(config, "SIGNIN_RATE_WINDOW"))


def api_key(token_hash: str) -> str:
    return f"api:{token_hash[:32]}"


def api_check(token_hash: str) -> Count:
    """How many requests this token made in its window (reads only; an API request is counted as it ends)."""
    config = current_app.config
    return peek(api_key(token_hash), setting(config, "API_RATE_LIMIT"), setting(config, "API_RATE_WINDOW"))


def api_request(token_hash: str) -> Count:
    config = current_app.config
    return hit(api_key(token_hash), setting(config, "API_RATE_LIMIT"), setting(config, "API_RATE_WINDOW"))
