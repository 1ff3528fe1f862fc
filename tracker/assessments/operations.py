"""Saving assessment forms: drafts, submission, corrections with the earlier version kept, optimistic locking."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from tracker.assessments.models import Assessment, AssessmentRevision, AssessmentRound, AssessmentTypeSetting
from tracker.assessments.types import AssessmentType
from tracker.children.models import utcnow
from tracker.enrolment.models import Enrolment
from tracker import audit
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.unit_of_work import queue


class ConflictError(OperationError):
    """Someone else saved the same form after this user opened it."""


def round_day(round_: AssessmentRound, today: dt.date) -> dt.date:
    """The day a round's form is about: today while the round is open, else its first or last day."""
    return min(max(today, round_.opens), round_.closes)


def enrolment_for(child, day: dt.date) -> Enrolment | None:
    """The child's enrolment covering ``day``, else the latest one that started by then."""
    q = (sa.select(Enrolment).where(Enrolment.child_id == child.id, Enrolment.start_date <= day)
         .order_by(sa.case((sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= day), 0), else_=1),
                   Enrolment.start_date.desc()).limit(1))
    return db.session.scalar(q)


def moved_away(child, enrolment: Enrolment | None, today: dt.date) -> bool:
    """True when the child is now at another school than the enrolment a round's form belongs to."""
    current = enrolment_for(child, today)
    return enrolment is not None and current is not None and current.school_id != enrolment.school_id


def moved_message(child) -> str:
    return _("%(name)s has moved to another school since this round, so the form can no longer be filled in here. "
             "What was saved is kept.", name=child.display_name)


def find(child, round_: AssessmentRound, slug: str) -> Assessment | None:
    return db.session.scalar(sa.select(Assessment).where(Assessment.child_id == child.id,
                                                         Assessment.round_id == round_.id, Assessment.type_slug == slug))


def context_of(enrolment: Enrolment | None) -> dict:
    return {"grade": getattr(enrolment, "grade", None),
            "level": getattr(getattr(enrolment, "level", None), "value", getattr(enrolment, "level", None))}


def save(user, *, child, round_: AssessmentRound, atype: AssessmentType, answers: dict, submit: bool,
         expected_version: int | None, today: dt.date | None = None) -> Assessment:
    """Save a form as a draft or submit it (or correct a submitted one); flushes, the caller commits.

    The form belongs to the enrolment the round covers (its grade scores it), and is filled in by that
    enrolment's teachers and liaison officers while the child is still at that school.
    ``expected_version``: the version the user's form was opened at (None or 0 for a new form).
    Raises OperationError (with the field, when one is at fault), ConflictError, PermissionError.
    """
    today = today or dt.date.today()
    enrolment = enrolment_for(child, round_day(round_, today))
    if not atype.may_fill(user, enrolment):
        raise PermissionError("not allowed to fill this form for this child")
    if moved_away(child, enrolment, today):
        raise OperationError(None, moved_message(child))
    if round_.opens > today:
        raise OperationError(None, _("This round opens on %(day)s.", day=round_.opens.isoformat()))
    existing = find(child, round_, atype.slug)
    seen = expected_version or 0
    if (existing.version if existing else 0) != seen:
        raise ConflictError(None, _("Someone else saved this form after you opened it. Nothing was overwritten: "
                                    "open it again to see their version."))
    now = utcnow()
    if existing is None:
        existing = Assessment(child_id=child.id, enrolment_id=enrolment.id, round_id=round_.id, type_slug=atype.slug,
                              type_version=atype.version, status="draft", answers={}, scores={},
                              created_by_id=user.id, created_at=now)
        db.session.add(existing)
    elif existing.status == "submitted":
        if not submit:
            raise OperationError(None, _("A submitted form cannot go back to a draft; save it as a correction."))
        db.session.add(AssessmentRevision(assessment=existing, version=existing.version, answers=existing.answers,
                                          scores=existing.scores, band=existing.band,
                                          saved_at=existing.updated_at, saved_by_id=existing.updated_by_id,
                                          replaced_at=now, replaced_by_id=user.id))
    existing.answers = dict(answers)
    existing.updated_at, existing.updated_by_id = now, user.id
    existing.type_version = atype.version
    if submit:
        result = atype.score(dict(answers), context_of(enrolment))
        if result.band is not None and result.band not in dict(atype.bands):
            raise ValueError(f"assessment type {atype.slug!r} scored an unknown band {result.band!r}")
        existing.scores = {k: float(v) for k, v in result.domains.items() if v is not None}
        if result.extra:
            existing.scores["_extra"] = result.extra
        existing.band = result.band
        if existing.status != "submitted":
            existing.status, existing.submitted_at, existing.submitted_by_id = "submitted", now, user.id
    try:
        db.session.flush()
        audit.record("assessment_saved", existing, user=user)
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise ConflictError(None, _("Someone else saved this form after you opened it. Nothing was overwritten: "
                                    "open it again to see their version.")) from None
    if submit:
        queue("assessment_submitted", assessment=existing, user=user)
    return existing


def set_enabled(slug: str, enabled: bool, user) -> None:
    setting = db.session.get(AssessmentTypeSetting, slug)
    if setting is None:
        setting = AssessmentTypeSetting(slug=slug)
        db.session.add(setting)
    setting.enabled, setting.changed_at, setting.changed_by_id = enabled, utcnow(), user.id
    audit.record("assessment_type_enabled" if enabled else "assessment_type_disabled", user=user,
                 object_type="assessment_type", object_id=slug)
    db.session.flush()


def add_round(year, kind: str, opens: dt.date, closes: dt.date) -> AssessmentRound:
    if closes < opens:
        raise OperationError("closes", _("The round closes before it opens."))
    if not (year.first_day <= opens and closes <= year.last_day):
        raise OperationError("opens", _("A round lies within its school year (%(first)s to %(last)s).",
                                        first=year.first_day.isoformat(), last=year.last_day.isoformat()))
    if db.session.scalar(sa.select(AssessmentRound.id).where(AssessmentRound.year_id == year.id,
                                                             AssessmentRound.kind == kind)):
        raise OperationError("kind", _("This school year already has that round."))
    round_ = AssessmentRound(year_id=year.id, kind=kind, opens=opens, closes=closes)
    db.session.add(round_)
    db.session.flush()
    return round_


def rounds_in_order(year_id: int | None = None) -> list[AssessmentRound]:
    from tracker.schools.models import AcademicYear

    q = sa.select(AssessmentRound).join(AcademicYear, AcademicYear.id == AssessmentRound.year_id)
    if year_id is not None:
        q = q.where(AssessmentRound.year_id == year_id)
    rounds = list(db.session.scalars(q))
    return sorted(rounds, key=lambda r: (r.year.first_day, r.order))


def current_round(today: dt.date | None = None, rounds: list[AssessmentRound] | None = None) -> AssessmentRound | None:
    """The round whose window contains today, else the next to open, else the latest one."""
    today = today or dt.date.today()
    rounds = rounds_in_order() if rounds is None else rounds
    open_now = [r for r in rounds if r.opens <= today <= r.closes]
    if open_now:
        return open_now[-1]
    upcoming = sorted((r for r in rounds if r.opens > today), key=lambda r: (r.opens, r.closes))
    if upcoming:
        return upcoming[0]
    return max(rounds, key=lambda r: (r.closes, r.opens), default=None)


def round_state(round_: AssessmentRound, today: dt.date, missing: int) -> str:
    """"upcoming", "open", "done" (closed, every child assessed) or "overdue" (closed, some not assessed)."""
    if round_.opens > today:
        return "upcoming"
    if today <= round_.closes:
        return "open"
    return "overdue" if missing else "done"
