"""Possible duplicates of a child about to be registered, told only as far as the user's scope allows.

A match outside the user's scope is not described at all (no code, name, birth date or badge): the
user learns only that a possible match exists elsewhere and whom to ask. Every check is audited
(who asked and which records matched, never what was typed).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from tracker import audit, scope
from tracker.children.models import Child
from tracker.children.names import birth_dates_close, names_match
from tracker.extensions import db

ACTION = "duplicate_check"


def possible_duplicates(*, given_name: str, family_name: str, name_original: str, birth_date: dt.date,
                        birth_date_estimated: bool, limit: int = 10) -> list[tuple[Child, float]]:
    """Every registered child with a close birth date and alike given and family names, most alike first.

    The date window is narrowed in the database; names are compared on the few candidates left. Not
    scoped: callers showing the result to a user go through ``check``.
    """
    window = dt.timedelta(days=366)
    candidates = db.session.scalars(
        sa.select(Child).where(Child.birth_date.between(birth_date - window, birth_date + window))
    )
    found = []
    for c in candidates:
        if not birth_dates_close(birth_date, birth_date_estimated, c.birth_date, c.birth_date_estimated):
            continue
        score = names_match(given_name, family_name, name_original, c.given_name, c.family_name, c.name_original)
        if score:
            found.append((c, score))
    found.sort(key=lambda cs: (-cs[1], cs[0].code))
    return found[:limit]


@dataclass
class DuplicateCheck:
    visible: list[Child] = field(default_factory=list)  # matches the user may open, most alike first
    elsewhere: bool = False  # a match the user may not see exists
    matched: list[str] = field(default_factory=list, repr=False)  # every match's code: for the audit only

    def __bool__(self) -> bool:
        return bool(self.visible) or self.elsewhere

    def record(self, user) -> None:
        """Audit the check: one event per child it matched, or one without a record when none matched."""
        for code in self.matched:
            audit.record(ACTION, user=user, object_type="child", object_id=code)
        if not self.matched:
            audit.record(ACTION, user=user, object_type="child")


def check(user, *, given_name: str, family_name: str, name_original: str, birth_date: dt.date,
          birth_date_estimated: bool) -> DuplicateCheck:
    """The possible duplicates this user may be told about, and whether there are others.

    The caller audits the check with ``record`` once it knows what the request keeps.
    """
    found = possible_duplicates(given_name=given_name, family_name=family_name, name_original=name_original,
                                birth_date=birth_date, birth_date_estimated=birth_date_estimated)
    result = DuplicateCheck()
    if found:
        mine = set(db.session.scalars(
            sa.select(Child.id).where(Child.id.in_([c.id for c, _ in found]), Child.id.in_(scope.child_ids(user)))))
        result.visible = [c for c, _ in found if c.id in mine]
        result.elsewhere = len(result.visible) < len(found)
        result.matched = [c.code for c, _ in found]
    return result
