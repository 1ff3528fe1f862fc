"""Possible duplicates of a child about to be registered."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from tracker.children.models import Child
from tracker.children.names import SIMILAR, birth_dates_close, name_similarity
from tracker.extensions import db


def possible_duplicates(*, given_name: str, family_name: str, name_original: str, birth_date: dt.date,
                        birth_date_estimated: bool, limit: int = 10) -> list[tuple[Child, float]]:
    """Registered children with a close birth date and a similar name, most alike first.

    The date window is narrowed in the database; names are compared on the few candidates left.
    """
    window = dt.timedelta(days=366)
    candidates = db.session.scalars(
        sa.select(Child).where(Child.birth_date.between(birth_date - window, birth_date + window))
    )
    found = []
    for c in candidates:
        if not birth_dates_close(birth_date, birth_date_estimated, c.birth_date, c.birth_date_estimated):
            continue
        score = name_similarity(given_name, family_name, name_original, c.given_name, c.family_name, c.name_original)
        if score >= SIMILAR:
            found.append((c, score))
    found.sort(key=lambda cs: -cs[1])
    return found[:limit]
