"""Every write about enrolments: enrol, transfer, exit. History is never overwritten."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from tracker import audit
from tracker.children.models import CentreStay, Child, utcnow
from tracker.enrolment.models import Enrolment
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.unit_of_work import queue
from tracker.schools.models import AcademicYear, School, SchoolClass
from tracker.types import GRADES, LEAVING_SERBIA, ExitReason, Level

# An enrolment may start this long before the year's first day (registered over the summer).
EARLY_START = dt.timedelta(days=92)


def year_for(day: dt.date) -> AcademicYear | None:
    """The academic year that ``day`` falls in, or the next one when it falls in the summer before it."""
    # A handful of rows; date arithmetic on columns differs between SQLite and PostgreSQL.
    for year in db.session.scalars(sa.select(AcademicYear).order_by(AcademicYear.first_day)):
        if year.first_day - EARLY_START <= day <= year.last_day:
            return year
    return None


def check_grade(school: School, level: Level, grade: int) -> None:
    """The school offers the level and the grade is one of the level's."""
    if not school.offers(level):
        raise OperationError("level", _("%(school)s does not offer this level.", school=school.name))
    if grade not in GRADES[level]:
        raise OperationError("grade", _("Grade must be between %(a)d and %(b)d for this level.",
                                        a=GRADES[level][0], b=GRADES[level][-1]))


def check_class(school: School, level: Level, grade: int, school_class: SchoolClass | None,
                year: AcademicYear) -> None:
    """The class (if any) is of the same school, year, level and grade."""
    if school_class is not None:
        if (school_class.school_id, school_class.year_id, school_class.level, school_class.grade) != (
                school.id, year.id, level, grade):
            raise OperationError("class_id", _("The class must be of the same school, year, level and grade."))


def check_start(child: Child, start: dt.date) -> AcademicYear:
    """A start date after the birth date, not too far ahead, in an academic year: that year."""
    if start < child.birth_date:
        raise OperationError("start_date", _("The start date is before the child's birth date."))
    if start > dt.date.today() + dt.timedelta(days=31):
        raise OperationError("start_date", _("The start date is too far in the future."))
    year = year_for(start)
    if year is None:
        raise OperationError("start_date", _("No academic year covers this date. An administrator adds academic years."))
    return year


def check_placement(child: Child, school: School, level: Level, grade: int, school_class: SchoolClass | None,
                     start: dt.date) -> AcademicYear:
    # Archived schools and classes keep their records but take no new enrolment (tracker.schools).
    if school.archived_at is not None:
        raise OperationError("school", _("%(school)s is archived and takes no new enrolments.", school=school.name))
    if school_class is not None and school_class.archived_at is not None:
        raise OperationError("class_id", _("The class %(name)s is archived and takes no new enrolments.",
                                           name=school_class.name))
    check_grade(school, level, grade)
    year = check_start(child, start)
    check_class(school, level, grade, school_class, year)
    last_end = max((e.end_date for e in child.enrolments if e.end_date), default=None)
    if last_end and start <= last_end:
        raise OperationError("start_date", _("The child was enrolled until %(d)s; start after that.",
                                             d=last_end.isoformat()))
    return year


def _flush_open(enrolment: Enrolment) -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise OperationError(None, _("The child already has an open enrolment; it was changed meanwhile. "
                                     "Reload the page.")) from None


def enrol(child: Child, school: School, level: str, grade: int, start_date: dt.date, *,
          school_class: SchoolClass | None = None, user=None) -> Enrolment:
    level = Level(level)
    if child.open_enrolment is not None:
        raise OperationError(None, _("The child is already enrolled at %(school)s. Transfer or record an exit first.",
                                     school=child.open_enrolment.school.name))
    year = check_placement(child, school, level, int(grade), school_class, start_date)
    enrolment = Enrolment(child=child, school=school, year=year, level=level, grade=int(grade),
                          school_class=school_class, start_date=start_date, created_by_id=getattr(user, "id", None))
    db.session.add(enrolment)
    db.session.flush()
    audit.record("enrolled", enrolment, user=user)
    _flush_open(enrolment)
    queue("enrolment_changed", enrolment=enrolment, change="enrolled", previous=None, user=user)
    return enrolment


def _close(enrolment: Enrolment, end_date: dt.date, reason: ExitReason, note: str, user,
           allow_future: bool = False, end_stay: bool = True) -> None:
    if end_date < enrolment.start_date:
        raise OperationError("end_date", _("The date is before the enrolment started (%(d)s).",
                                           d=enrolment.start_date.isoformat()))
    if end_date > dt.date.today() and not allow_future:
        raise OperationError("end_date", _("The date cannot be in the future."))
    enrolment.end_date = end_date
    enrolment.exit_reason = reason
    enrolment.exit_note = note.strip()[:500]
    enrolment.closed_at = utcnow()
    enrolment.closed_by_id = getattr(user, "id", None)
    after_close([(enrolment.id, end_date)], user=user, end_stays=end_stay)


def after_close(closed: list[tuple[int, dt.date]], *, user=None, end_stays: bool = True) -> None:
    """What follows the end of enrolments, one or a batch of (enrolment id, end date).

    Registers taken after the new end date stop counting: those months of the summary are refreshed.
    An exit that means the child left Serbia (``LEAVING_SERBIA``), when it is the child's latest
    news (no enrolment or centre stay started after it), resolves the child's open flags with the
    outcome ``exit_recorded`` (resolved by ``user``) and ends the child's open centre stay on the
    end date, unless ``end_stays`` is false (the officer kept the stay open on the exit form).
    """
    from tracker.attendance import summary
    from tracker.attendance.models import AttendanceRecord

    db.session.flush()
    ends = dict(closed)
    ids = sorted(ends)
    pairs = []
    for i in range(0, len(ids), BATCH):
        part = ids[i:i + BATCH]
        first = min(ends[e] for e in part)
        for eid, day in db.session.execute(sa.select(AttendanceRecord.enrolment_id, AttendanceRecord.date).where(
                AttendanceRecord.enrolment_id.in_(part), AttendanceRecord.date > first)):
            if day > ends[eid]:
                pairs += [(eid, ends[eid]), (eid, day)]
    if pairs:
        summary.refresh(pairs)
    _left_serbia(ends, user=user, end_stays=end_stays)


def _left_serbia(ends: dict[int, dt.date], *, user, end_stays: bool) -> None:
    from tracker.audit.models import AuditEvent
    from tracker.flags.operations import resolve_for_children

    later, stay = aliased(Enrolment), aliased(CentreStay)
    gone: dict[int, dt.date] = {}  # child id -> the end of their leaving enrolment
    ids = sorted(ends)
    for i in range(0, len(ids), BATCH):
        q = sa.select(Enrolment.child_id, Enrolment.end_date).where(
            Enrolment.id.in_(ids[i:i + BATCH]), Enrolment.exit_reason.in_(LEAVING_SERBIA),
            ~sa.exists().where(later.child_id == Enrolment.child_id, later.start_date > Enrolment.end_date),
            ~sa.exists().where(stay.child_id == Enrolment.child_id, stay.start_date > Enrolment.end_date))
        gone.update((cid, end) for cid, end in db.session.execute(q))
    if not gone:
        return
    resolve_for_children(list(gone), "exit_recorded", user=user)
    if not end_stays:
        return
    children = sorted(gone)
    by_day: dict[dt.date, list[int]] = {}
    ended: list[str] = []
    for i in range(0, len(children), BATCH):
        for sid, cid, start, code in db.session.execute(
                sa.select(CentreStay.id, CentreStay.child_id, CentreStay.start_date, Child.code)
                .join(Child, Child.id == CentreStay.child_id)
                .where(CentreStay.child_id.in_(children[i:i + BATCH]), CentreStay.end_date.is_(None))):
            if start <= gone[cid]:
                by_day.setdefault(gone[cid], []).append(sid)
                ended.append(code)
    for day, stay_ids in by_day.items():
        for i in range(0, len(stay_ids), BATCH):
            db.session.execute(sa.update(CentreStay).where(CentreStay.id.in_(stay_ids[i:i + BATCH]))
                               .values(end_date=day).execution_options(synchronize_session="fetch"))
    if ended:
        uid, now = getattr(user, "id", None), utcnow()
        db.session.execute(sa.insert(AuditEvent.__table__), [
            {"at": now, "user_id": uid, "action": "centre_changed", "object_type": "child", "object_id": code}
            for code in ended])
    db.session.flush()


BATCH = 1000


def save_batch(creates: list[dict], updates: list[tuple[int, dict]], *, new_classes: dict | None = None,
               class_ids: dict | None = None, user=None, progress=None) -> tuple[list[int], list[int]]:
    """Write a checked batch of enrolments (an import); flush, no commit. Returns (opened ids, closed ids).

    ``new_classes`` maps (school id, year id, name) to (level, grade) of classes to create;
    ``class_ids`` the same keys to existing class ids. ``updates`` are (enrolment id, values) of
    stored open enrolments: ``end_date`` with ``exit_reason`` closes one (with the same rules as
    ``exit_enrolment``), ``class_key`` places it in a class. ``creates`` are new enrolments
    (child_id, school_id, year_id, level, grade, class_key, start_date, end_date, exit_reason; the
    demo's also created_at, created_by_id, closed_at, closed_by_id: recorded in the past).
    The caller has checked placement and overlaps. Audit events and ``enrolment_changed`` follow.
    """
    from tracker.audit.models import AuditEvent
    from tracker.plugins import get_pm

    progress = progress or (lambda n: None)
    uid, now = getattr(user, "id", None), utcnow()
    class_ids = dict(class_ids or {})
    if new_classes:
        from tracker.schools.operations import add_classes

        keys = list(new_classes)
        class_ids.update(zip(keys, add_classes([
            {"school_id": s, "year_id": y, "name": n, "level": new_classes[(s, y, n)][0],
             "grade": new_classes[(s, y, n)][1]} for s, y, n in keys], user=user)))
    etable = Enrolment.__table__
    closed: list[tuple[int, dt.date]] = []
    # Closing comes first: the database allows one open enrolment per child.
    for eid, values in updates:
        values = dict(values)
        if "class_key" in values:
            values["class_id"] = class_ids[values.pop("class_key")]
        if "end_date" in values:
            values.update(closed_at=now, closed_by_id=uid)
            closed.append((eid, values["end_date"]))
        db.session.execute(sa.update(etable).where(etable.c.id == eid).values(**values))
        progress(1)
    db.session.flush()
    opened: list[int] = []
    for i in range(0, len(creates), BATCH):
        part = creates[i:i + BATCH]
        ids = db.session.execute(sa.insert(etable).returning(etable.c.id, sort_by_parameter_order=True), [
            {"child_id": r["child_id"], "school_id": r["school_id"], "year_id": r["year_id"], "level": r["level"],
             "grade": r["grade"], "class_id": class_ids[r["class_key"]] if r.get("class_key") else None,
             "start_date": r["start_date"], "end_date": r["end_date"], "exit_reason": r["exit_reason"],
             "exit_note": r.get("exit_note", ""), "created_at": r.get("created_at", now),
             "created_by_id": r.get("created_by_id", uid),
             "closed_at": r.get("closed_at", now) if r["end_date"] else None,
             "closed_by_id": r.get("closed_by_id", uid) if r["end_date"] else None} for r in part]).scalars().all()
        opened.extend(ids)
        closed.extend((eid, r["end_date"]) for eid, r in zip(ids, part) if r["end_date"])
        progress(len(part))
    new_ids = set(opened)
    closed_ids = [eid for eid, _end in closed if eid not in new_ids]
    if closed:
        after_close(closed, user=user)
    events = [{"at": now, "user_id": uid, "action": action, "object_type": "enrolment", "object_id": str(eid)}
              for action, ids in (("enrolled", opened), ("exited", closed_ids)) for eid in ids]
    if events:
        db.session.execute(sa.insert(AuditEvent.__table__), events)
    if get_pm().hook.enrolment_changed.get_hookimpls():
        for change, ids in (("enrolled", opened), ("exited", closed_ids)):
            for i in range(0, len(ids), BATCH):
                for enrolment in db.session.scalars(sa.select(Enrolment).where(Enrolment.id.in_(ids[i:i + BATCH]))):
                    queue("enrolment_changed", enrolment=enrolment, change=change, previous=None, user=user)
    return opened, closed_ids


def exit_enrolment(child: Child, end_date: dt.date, reason: str, *, note: str = "", user=None,
                   end_stay: bool = True) -> Enrolment:
    """Close the open enrolment on ``end_date`` (the last day the child belonged) for ``reason``.

    For a reason that means the child left Serbia the child's open flags are resolved and, with
    ``end_stay`` (the exit form's box, ticked by default), their open centre stay ends on ``end_date``.
    """
    enrolment = child.open_enrolment
    if enrolment is None:
        raise OperationError(None, _("The child has no open enrolment."))
    try:
        reason = ExitReason(reason)
    except ValueError:
        raise OperationError("reason", _("Choose a reason.")) from None
    if reason == ExitReason.transferred:
        raise OperationError("reason", _("Use Transfer to move the child to another school."))
    _close(enrolment, end_date, reason, note, user, end_stay=end_stay)
    audit.record("exited", enrolment, user=user)
    db.session.flush()
    queue("enrolment_changed", enrolment=enrolment, change="exited", previous=None, user=user)
    return enrolment


def transfer(child: Child, to_school: School, start_date: dt.date, *, level: str | None = None,
             grade: int | None = None, school_class: SchoolClass | None = None, note: str = "",
             user=None) -> Enrolment:
    """Close the open enrolment the day before ``start_date`` and open one at ``to_school``, in one transaction."""
    previous = child.open_enrolment
    if previous is None:
        raise OperationError(None, _("The child has no open enrolment to transfer; enrol them instead."))
    if to_school.id == previous.school_id and school_class is None:
        raise OperationError("school", _("The child is already at this school."))
    if start_date <= previous.start_date:
        raise OperationError("start_date", _("The new school must start after %(d)s, when the current enrolment began.",
                                             d=previous.start_date.isoformat()))
    level = Level(level or previous.level)
    grade = int(grade or previous.grade)
    year = check_placement(child, to_school, level, grade, school_class, start_date)
    # A transfer agreed ahead of time closes the current enrolment on the eve of the new one.
    _close(previous, start_date - dt.timedelta(days=1), ExitReason.transferred, note, user, allow_future=True)
    db.session.flush()
    enrolment = Enrolment(child=child, school=to_school, year=year, level=level, grade=grade,
                          school_class=school_class, start_date=start_date, created_by_id=getattr(user, "id", None))
    db.session.add(enrolment)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise OperationError(None, _("The enrolment was changed meanwhile. Reload the page.")) from None
    audit.record("transferred", enrolment, user=user)
    _flush_open(enrolment)
    queue("enrolment_changed", enrolment=enrolment, change="transferred", previous=previous, user=user)
    return enrolment


def _refresh_attendance(enrolment: Enrolment) -> None:
    """Recompute the summary months of every register of this enrolment (its dates changed)."""
    from tracker.attendance import summary
    from tracker.attendance.models import AttendanceRecord

    db.session.flush()
    days = db.session.scalars(sa.select(AttendanceRecord.date).where(AttendanceRecord.enrolment_id == enrolment.id)
                              .distinct()).all()
    summary.refresh((enrolment.id, day) for day in days)


def correct_enrolment(enrolment: Enrolment, *, start_date: dt.date, end_date: dt.date | None, grade: int,
                      school_class: SchoolClass | None, user=None) -> list[str]:
    """Correct a recorded enrolment's dates, grade and class; keep the earlier values. Returns the changed fields.

    The rules of enrol, exit and transfer: the start after the birth date and in the enrolment's
    academic year, the end not before the start nor in the future (a transfer's may be, as agreed
    ahead), the grade of the level, the class of the same school, year, level and grade, and no
    overlap with the child's other enrolments. An open enrolment stays open (an exit is recorded
    with Record an exit). The attendance summary of the enrolment is recomputed, so every figure
    follows. Audited as ``enrolment_corrected`` with the fields' names.
    """
    from tracker.children.operations import record_changes

    child = enrolment.child
    grade = int(grade)
    if enrolment.end_date is None and end_date is not None:
        raise OperationError("end_date", _("The enrolment is open: record an exit to end it."))
    if enrolment.end_date is not None and end_date is None:
        raise OperationError("end_date", _("Enter the last day at school, or undo the exit."))
    year = check_start(child, start_date)
    if year.id != enrolment.year_id:
        raise OperationError("start_date", _("The start date must be in the academic year %(y)s (from %(a)s to %(b)s).",
                                             y=enrolment.year.label, a=enrolment.year.first_day.isoformat(),
                                             b=enrolment.year.last_day.isoformat()))
    if end_date is not None:
        if end_date < start_date:
            raise OperationError("end_date", _("The date is before the enrolment started (%(d)s).",
                                               d=start_date.isoformat()))
        if end_date > dt.date.today() and enrolment.exit_reason != ExitReason.transferred:
            raise OperationError("end_date", _("The date cannot be in the future."))
    check_grade(enrolment.school, enrolment.level, grade)
    check_class(enrolment.school, enrolment.level, grade, school_class, year)
    for other in child.enrolments:
        if other.id == enrolment.id:
            continue
        if start_date <= (other.end_date or dt.date.max) and other.start_date <= (end_date or dt.date.max):
            raise OperationError("start_date", _("The dates overlap the enrolment at %(school)s from %(a)s to %(b)s.",
                                                 school=other.school.name, a=other.start_date.isoformat(),
                                                 b=other.end_date.isoformat() if other.end_date else "…"))
    new = {"start_date": start_date, "end_date": end_date, "grade": grade,
           "class_id": school_class.id if school_class is not None else None}
    changes = [(f, getattr(enrolment, f), v) for f, v in new.items() if getattr(enrolment, f) != v]
    if not changes:
        return []
    for f, _old, value in changes:
        setattr(enrolment, f, value)
    if any(f in ("start_date", "end_date") for f, *_rest in changes):
        _refresh_attendance(enrolment)
    record_changes(child, "enrolment", enrolment.id, changes, user=user)
    names = [f for f, *_rest in changes]
    audit.record("enrolment_corrected", enrolment, user=user, fields=names)
    db.session.flush()
    return names


def undo_exit(enrolment: Enrolment, *, user=None) -> CentreStay | None:
    """Reopen an enrolment closed by a wrong exit; keep the earlier values. Returns a reopened centre stay.

    Only the child's latest enrolment, and not a transfer (the next school's enrolment follows it).
    If the exit meant leaving Serbia and ended the child's centre stay on the same day, that stay is
    reopened too, unless another stay started since. Flags the exit resolved stay resolved: the next
    ``tracker flags refresh`` raises again what is due. Registers taken after the exit count again.
    Audited as ``exit_undone``.
    """
    from tracker.children.operations import record_changes

    child = enrolment.child
    if enrolment.end_date is None:
        raise OperationError(None, _("This enrolment is open: there is no exit to undo."))
    if enrolment.exit_reason == ExitReason.transferred:
        raise OperationError(None, _("A transfer cannot be undone here: correct the dates of the enrolments instead."))
    if any(e.id != enrolment.id and (e.end_date is None or e.start_date > enrolment.end_date)
           for e in child.enrolments):
        raise OperationError(None, _("The child was enrolled again after this exit: only the latest exit can be undone."))
    ended = enrolment.end_date
    changes = [("end_date", ended, None), ("exit_reason", enrolment.exit_reason, None)]
    if enrolment.exit_note:
        changes.append(("exit_note", enrolment.exit_note, None))
    enrolment.end_date = None
    enrolment.exit_reason = None
    enrolment.exit_note = ""
    enrolment.closed_at = None
    enrolment.closed_by_id = None
    stay = None
    reason = changes[1][1]
    if reason in LEAVING_SERBIA and child.current_stay is None and child.centre_stays:
        last = max(child.centre_stays, key=lambda s: (s.start_date, s.id))
        if last.end_date == ended:
            stay = last
    _flush_open(enrolment)
    if stay is not None:
        stay.end_date = None
        db.session.flush()
        record_changes(child, "centre_stay", stay.id, [("end_date", ended, None)], user=user)
        audit.record("centre_changed", child, user=user)
    _refresh_attendance(enrolment)
    record_changes(child, "enrolment", enrolment.id, changes, user=user)
    audit.record("exit_undone", enrolment, user=user, fields=[f for f, *_rest in changes])
    db.session.flush()
    return stay
