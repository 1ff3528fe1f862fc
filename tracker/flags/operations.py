"""Every write about flags: the refresh that raises and clears them, and what people do about them."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker import audit
from tracker.children.models import Child, utcnow
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.flags.models import Flag, FollowUp
from tracker.flags.rules import load_rules

FOLLOW_UP_KINDS = ("home_visit", "call_guardian", "call_centre", "referral_social_work", "school_meeting", "other")
OUTCOMES = ("back_in_school", "exit_recorded", "enrolled", "referred", "no_action_needed", "other")


def refresh(as_of: dt.date | None = None, progress=None) -> dict[str, int]:
    """Evaluate every rule for every child in one pass; raise, update and clear flags; commit once.

    Running it twice on the same day changes nothing. A flag whose condition no longer holds is
    cleared (kept, with its history); while a flag is not cleared the rule raises no second one.
    """
    as_of = as_of or dt.date.today()
    rules = load_rules()
    children = sa.select(Child.id)
    found: dict[tuple[int, str], dict] = {}
    for slug, rule in rules.items():
        for child_id, evidence in rule.evaluate(children, as_of):
            found[(child_id, slug)] = evidence
        if progress:
            progress(slug)
    active = {(f.child_id, f.rule): f for f in db.session.scalars(sa.select(Flag).where(Flag.cleared_on.is_(None)))}
    counts = {"raised": 0, "updated": 0, "cleared": 0, "unchanged": 0}
    for key, evidence in found.items():
        flag = active.get(key)
        if flag is None:
            db.session.add(Flag(child_id=key[0], rule=key[1], severity=rules[key[1]].severity, evidence=evidence,
                                raised_on=as_of, last_seen_on=as_of))
            counts["raised"] += 1
        elif flag.evidence != evidence or flag.last_seen_on != as_of:
            flag.evidence, flag.last_seen_on = evidence, as_of
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    for key, flag in active.items():
        if key not in found and flag.rule in rules:
            flag.cleared_on = as_of
            counts["cleared"] += 1
    db.session.flush()
    return counts


def _guard(flag: Flag, version: int | None) -> None:
    if version is not None and flag.version != version:
        raise OperationError(None, _("Someone else changed this flag meanwhile. Reload the page and try again."))
    if flag.status == "resolved":
        raise OperationError(None, _("This flag is resolved already."))


def acknowledge(flag: Flag, *, user, version: int | None = None) -> None:
    _guard(flag, version)
    if flag.status == "open":
        flag.status = "acknowledged"
        flag.acknowledged_at, flag.acknowledged_by_id = utcnow(), user.id
    audit.record("flag_acknowledged", flag, user=user)
    db.session.flush()


def log_follow_up(flag: Flag, kind: str, date: dt.date, note: str, *, user, version: int | None = None) -> FollowUp:
    _guard(flag, version)
    if kind not in FOLLOW_UP_KINDS:
        raise OperationError("kind", _("Choose what was done."))
    if date > dt.date.today():
        raise OperationError("date", _("The date cannot be in the future."))
    if date < flag.raised_on - dt.timedelta(days=31):
        raise OperationError("date", _("The date is long before the flag was raised."))
    follow_up = FollowUp(flag=flag, kind=kind, date=date, note=note.strip()[:1000], created_by_id=user.id)
    db.session.add(follow_up)
    if flag.status == "open":
        flag.status = "acknowledged"
        flag.acknowledged_at, flag.acknowledged_by_id = utcnow(), user.id
    audit.record("follow_up_logged", flag, user=user)
    db.session.flush()
    return follow_up


def resolve(flag: Flag, outcome: str, note: str, *, user, version: int | None = None) -> None:
    _guard(flag, version)
    if outcome not in OUTCOMES:
        raise OperationError("outcome", _("Choose an outcome."))
    flag.status = "resolved"
    flag.outcome, flag.outcome_note = outcome, note.strip()[:1000]
    flag.resolved_at, flag.resolved_by_id = utcnow(), user.id
    audit.record("flag_resolved", flag, user=user)
    db.session.flush()


def resolve_for_children(child_ids: list[int], outcome: str, note: str = "", *, user=None) -> int:
    """Resolve every flag of these children that is neither resolved nor cleared, with ``outcome``.

    A batch (an exit from the page, an import): one update per thousand children, an audit
    event per flag, as ``resolve`` gives one by one. Returns how many flags were resolved.
    """
    from tracker.audit.models import AuditEvent

    if outcome not in OUTCOMES:
        raise OperationError("outcome", _("Choose an outcome."))
    uid, now = getattr(user, "id", None), utcnow()
    ids: list[int] = []
    child_ids = sorted(set(child_ids))
    for i in range(0, len(child_ids), BATCH):
        part = child_ids[i:i + BATCH]
        found = db.session.scalars(sa.select(Flag.id).where(
            Flag.child_id.in_(part), Flag.cleared_on.is_(None), Flag.status != "resolved").order_by(Flag.id)).all()
        if found:
            db.session.execute(
                sa.update(Flag).where(Flag.id.in_(found)).values(
                    status="resolved", outcome=outcome, outcome_note=note.strip()[:1000], resolved_at=now,
                    resolved_by_id=uid, version=Flag.version + 1).execution_options(synchronize_session="fetch"))
            ids.extend(found)
    if ids:
        db.session.execute(sa.insert(AuditEvent.__table__), [
            {"at": now, "user_id": uid, "action": "flag_resolved", "object_type": "flag", "object_id": str(fid)}
            for fid in ids])
    db.session.flush()
    return len(ids)


BATCH = 1000
