"""Saving a register: one record per enrolment and date, by upsert, so a double save leaves one row."""
from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Mapping

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite

from tracker import audit, bulk
from tracker.attendance import summary
from tracker.attendance.models import AttendanceChange, AttendanceRecord
from tracker.children.models import utcnow
from tracker.enrolment.models import Enrolment
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.unit_of_work import queue
from tracker.schools.calendar import why_not_school_day
from tracker.schools.models import SchoolClass
from tracker.types import AttendanceStatus

log = logging.getLogger(__name__)

REASONS = ("illness", "appointment", "asylum_procedure", "moved_centre", "no_transport", "work", "unknown")


CHUNK = 500
ATTEMPTS = 3  # a write still deadlocked on its third try fails rather than keep the request waiting
RETRY_SQLSTATES = {"40001", "40P01", "23505"}  # serialization failure, deadlock, unique violation
_sleep = time.sleep  # tests replace it: no real waiting


def _key(row: dict) -> tuple[int, dt.date]:
    return row["enrolment_id"], row["date"]


def _retryable(exc: sa.exc.DBAPIError) -> bool:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) in RETRY_SQLSTATES or getattr(orig, "pgcode", None) in RETRY_SQLSTATES


def _under_lock(enrolment_ids, write):
    """Run ``write()`` holding the attendance lock of ``enrolment_ids``, in a SAVEPOINT, retried.

    The enrolments are locked in id order (``summary.lock_enrolments``) before anything is read, so
    earlier values and the summary's aggregate are read under the lock, and two writers of
    overlapping registers queue instead of deadlocking. Should a deadlock or serialization failure
    still happen (a transaction that locked other rows first, several batches in one transaction),
    only the SAVEPOINT rolls back and ``write`` runs again, up to ATTEMPTS times with a short
    jittered wait; the request's other writes stay, and the unit of work still commits once.

    On SQLite the lock is taken before the SAVEPOINT: it opens the transaction (pysqlite opens
    one only at the first write), so the SAVEPOINT nests inside it, and releasing it does not
    commit. After that the database has one writer, so no retry is ever needed there.
    """
    ids = sorted(set(enrolment_ids))
    if not ids:
        return write()
    for attempt in range(1, ATTEMPTS + 1):
        if not bulk.is_postgresql():
            summary.lock_enrolments(ids)
        try:
            with db.session.begin_nested():
                summary.lock_enrolments(ids)
                return write()
        except sa.exc.DBAPIError as exc:
            if attempt == ATTEMPTS or not _retryable(exc):
                raise
            log.warning("attendance write retried after %s (attempt %d)", type(exc.orig).__name__, attempt)
        _sleep(random.uniform(0.005, 0.05) * attempt)
    raise AssertionError("unreachable")


def upsert_records(rows: list[dict], *, user=None) -> dict[str, int]:
    """Insert or update attendance rows (enrolment_id, date, status, reason, note); flush, no commit.

    One row per enrolment and date whatever happens concurrently (INSERT ... ON CONFLICT DO
    UPDATE). A row that changes a saved record keeps the earlier value in attendance_change: the
    enrolments are locked before the stored records are read (see ``_under_lock``), so the earlier
    value is the one this write replaces, not one another save has replaced meanwhile.
    Returns counts of created, updated and unchanged rows.
    """
    rows = sorted(rows, key=_key)
    return _under_lock((r["enrolment_id"] for r in rows), lambda: _upsert(rows, user))


def _upsert(rows: list[dict], user) -> dict[str, int]:
    """upsert_records' writes, rows in key order, the lock held."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    insert = postgresql.insert if bulk.is_postgresql() else sqlite.insert
    now = utcnow()
    uid = getattr(user, "id", None)
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i:i + CHUNK]
        keys = {_key(r) for r in chunk}
        # Two plain IN lists use the (enrolment_id, date) index on both databases; a row-value IN does not on SQLite.
        existing = {
            (rec.enrolment_id, rec.date): rec
            for rec in db.session.execute(
                sa.select(AttendanceRecord.id, AttendanceRecord.enrolment_id, AttendanceRecord.date,
                          AttendanceRecord.status, AttendanceRecord.reason, AttendanceRecord.note,
                          AttendanceRecord.recorded_by_id, AttendanceRecord.recorded_at)
                .where(AttendanceRecord.enrolment_id.in_({k[0] for k in keys}),
                       AttendanceRecord.date.in_({k[1] for k in keys})))
            if (rec.enrolment_id, rec.date) in keys
        }
        writes, changes = [], []
        for r in chunk:
            status = AttendanceStatus(r["status"])
            reason, note = r.get("reason") or "", r.get("note") or ""
            old = existing.get(_key(r))
            if old is not None and (old.status, old.reason, old.note) == (status, reason, note):
                counts["unchanged"] += 1
                continue
            counts["updated" if old is not None else "created"] += 1
            writes.append({"enrolment_id": r["enrolment_id"], "date": r["date"], "status": status.value,
                           "reason": reason, "note": note, "recorded_by_id": uid, "recorded_at": now})
            if old is not None:
                changes.append({"record_id": old.id, "old_status": old.status.value, "old_reason": old.reason,
                                "old_note": old.note, "old_recorded_by_id": old.recorded_by_id,
                                "old_recorded_at": old.recorded_at, "new_status": status.value,
                                "changed_by_id": uid, "changed_at": now})
        if writes:
            stmt = insert(AttendanceRecord).values(writes)
            stmt = stmt.on_conflict_do_update(
                index_elements=["enrolment_id", "date"],
                set_={c: stmt.excluded[c] for c in ("status", "reason", "note", "recorded_by_id", "recorded_at")},
            )
            db.session.execute(stmt)
        if changes:
            db.session.execute(sa.insert(AttendanceChange), changes)
        if writes:
            summary.refresh(_key(w) for w in writes)
    return counts


INSERT_CHUNK = 5000  # new records per executemany, between progress bar updates
_COLUMNS = ("enrolment_id", "date", "status", "reason", "note", "recorded_by_id", "recorded_at")


def save_records(new: list[dict], corrections: list[dict], *, user=None, progress=None) -> None:
    """Save a batch of attendance records (an import, an integration); flush, no commit.

    ``new`` are rows with no stored record (enrolment_id, date, status, reason), inserted with
    one prepared statement; ``corrections`` change stored records and go through
    ``upsert_records``' writes, so the earlier value is kept in the history. The whole batch holds
    the lock of its enrolments (``_under_lock``); a "new" row whose record was saved since the
    caller looked (a register taken meanwhile) is saved as a correction. The callers have checked
    that each row's enrolment covers its date and that the date is a school day. The summary is
    refreshed for every month touched, and ``attendance_saved`` is queued once per class and date.
    ``progress(n)`` is told how many rows were written, as it goes. A new row may carry its own
    ``note``, ``recorded_by_id`` and ``recorded_at`` (the demo's registers, taken in the past).
    """
    progress = progress or (lambda n: None)
    if not new and not corrections:
        return
    constant = {"note": "", "recorded_by_id": getattr(user, "id", None), "recorded_at": utcnow()}

    def write():
        fresh, late = _still_new(new)  # a register saved since the caller looked: a correction now
        _insert(fresh, constant, progress)
        summary.refresh(_key(r) for r in fresh)
        redo = sorted([*corrections, *late], key=_key)  # key order: one refresh per month
        for i in range(0, len(redo), INSERT_CHUNK):
            part = redo[i:i + INSERT_CHUNK]
            _upsert(part, user)
            progress(len(part))

    # One lock for the whole batch, in enrolment order, before anything is read or written.
    _under_lock((r["enrolment_id"] for r in (*new, *corrections)), write)
    audit.record("attendance_imported", user=user, object_type="attendance_record",
                 object_id=str(len(new) + len(corrections)))
    _queue_saved([_key(r) for r in (*new, *corrections)], user)


def _still_new(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Split rows the caller found unsaved into those still unsaved and those saved meanwhile (lock held).

    One range query per CHUNK enrolments: with an import into empty months it returns nothing.
    """
    if not rows:
        return rows, []
    by_enrolment: dict[int, list[dt.date]] = {}
    for r in rows:
        by_enrolment.setdefault(r["enrolment_id"], []).append(r["date"])
    eids = sorted(by_enrolment)
    saved = set()
    for i in range(0, len(eids), CHUNK):
        part = eids[i:i + CHUNK]
        first = min(min(by_enrolment[e]) for e in part)
        last = max(max(by_enrolment[e]) for e in part)
        saved.update(tuple(k) for k in db.session.execute(
            sa.select(AttendanceRecord.enrolment_id, AttendanceRecord.date)
            .where(AttendanceRecord.enrolment_id.in_(part), AttendanceRecord.date.between(first, last))))
    if not saved:
        return rows, []
    return [r for r in rows if _key(r) not in saved], [r for r in rows if _key(r) in saved]


def _queue_saved(keys: list[tuple[int, dt.date]], user) -> None:
    """Queue ``attendance_saved`` per class and date for a batch (only when a plugin listens)."""
    from tracker.plugins import get_pm

    if not get_pm().hook.attendance_saved.get_hookimpls():
        return
    by_day: dict[dt.date, set[int]] = {}
    for eid, day in keys:
        by_day.setdefault(day, set()).add(eid)
    eids = sorted({eid for eid, _d in keys})
    class_of: dict[int, int | None] = {}
    for i in range(0, len(eids), CHUNK):
        class_of.update(db.session.execute(sa.select(Enrolment.id, Enrolment.class_id)
                                           .where(Enrolment.id.in_(eids[i:i + CHUNK]))).all())
    classes = {c.id: c for c in db.session.scalars(sa.select(SchoolClass).where(
        SchoolClass.id.in_({c for c in class_of.values() if c is not None})))}
    for day in sorted(by_day):
        ids = sorted(by_day[day])
        groups: dict[int | None, list[AttendanceRecord]] = {}
        for i in range(0, len(ids), CHUNK):
            for rec in db.session.scalars(sa.select(AttendanceRecord).where(
                    AttendanceRecord.date == day, AttendanceRecord.enrolment_id.in_(ids[i:i + CHUNK]))
                    .execution_options(populate_existing=True)):
                groups.setdefault(class_of.get(rec.enrolment_id), []).append(rec)
        for class_id, records in groups.items():
            queue("attendance_saved", school_class=classes.get(class_id), date=day, records=records, user=user)


def _insert(rows: list[dict], constant: dict, progress) -> None:
    """INSERT new records in the open transaction: COPY on PostgreSQL, the driver's executemany on SQLite.

    On SQLite each distinct value goes through its column type's conversion once (a file has a few
    hundred dates and four statuses), not once per row: with 100,000 rows, per-row parameter
    processing would cost as much as the database's own work.
    """
    if not rows:
        return
    constant = {c: v for c, v in constant.items() if c not in rows[0]}
    if bulk.is_postgresql():
        for i in range(0, len(rows), INSERT_CHUNK):
            part = rows[i:i + INSERT_CHUNK]
            bulk.copy(AttendanceRecord.__table__, [{**constant, **{c: row.get(c, "") for c in _COLUMNS
                                                                   if c not in constant}} for row in part])
            progress(len(part))
        return
    conn = db.session.connection()
    dialect, table = conn.dialect, AttendanceRecord.__table__
    light = sa.table(table.name, *(sa.column(c) for c in _COLUMNS))  # untyped: values go to the driver as given
    compiled = sa.insert(light).values({c: sa.bindparam(c) for c in _COLUMNS}).compile(dialect=dialect)
    convert = {}
    for c in _COLUMNS:
        process = table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            memo: dict = {}
            convert[c] = lambda v, memo=memo, process=process: memo[v] if v in memo else memo.setdefault(v, process(v))
    constant = {c: convert[c](v) if c in convert else v for c, v in constant.items()}
    varying = [c for c in _COLUMNS if c not in constant]
    names = compiled.positiontup if compiled.positional else _COLUMNS
    for i in range(0, len(rows), INSERT_CHUNK):
        part = rows[i:i + INSERT_CHUNK]
        values = [{**constant, **{c: convert[c](row[c]) if c in convert else row[c] for c in varying}} for row in part]
        params = [tuple(v[n] for n in names) for v in values] if compiled.positional else values
        conn.exec_driver_sql(compiled.string, params)
        progress(len(part))


def enrolled_in_class(school_class: SchoolClass, day: dt.date) -> list[Enrolment]:
    return list(db.session.scalars(sa.select(Enrolment).where(
        Enrolment.class_id == school_class.id, Enrolment.start_date <= day,
        sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= day))))


def save_register(school_class: SchoolClass, day: dt.date, marks: Mapping[int, Mapping[str, str]], *,
                  user=None) -> list[AttendanceRecord]:
    """Save the register of ``school_class`` on ``day``.

    ``marks`` maps enrolment id to {"status", "reason", "note"}. On a register not taken yet, enrolled
    children left out (no status) are present. Once it has been saved, a child left out keeps their
    record, and a child with none (enrolled after the register was saved) stays *not recorded*:
    never marked present without someone choosing it. Every enrolment must be in the class on that
    day, and the day a school day.
    """
    reason = why_not_school_day(school_class.school, day)
    if reason is not None:
        raise OperationError("date", _("%(d)s is not a school day (%(why)s).", d=day.isoformat(), why=reason))
    if day > dt.date.today():
        raise OperationError("date", _("A register cannot be taken for a future date."))
    enrolments = {e.id: e for e in enrolled_in_class(school_class, day)}
    unknown = set(marks) - set(enrolments)
    if unknown:
        raise OperationError(None, _("Some children are not enrolled in this class on this date."))
    taken = db.session.scalar(sa.select(sa.exists().where(
        AttendanceRecord.date == day, AttendanceRecord.enrolment_id.in_(list(enrolments))))) if enrolments else False
    rows = []
    for eid in enrolments:
        mark = marks.get(eid) or {}
        if taken and not mark.get("status"):
            continue  # a saved register: left out keeps the record, or stays not recorded
        try:
            status = AttendanceStatus(mark.get("status") or "present")
        except ValueError:
            raise OperationError("status", _("Unknown attendance status.")) from None
        why = mark.get("reason") or ""
        if why and why not in REASONS:
            raise OperationError("reason", _("Unknown absence reason."))
        absent = status in (AttendanceStatus.absent_excused, AttendanceStatus.absent_unexcused)
        rows.append({"enrolment_id": eid, "date": day, "status": status.value, "reason": why if absent else "",
                     "note": (mark.get("note") or "").strip()[:500]})
    if rows:
        upsert_records(rows, user=user)
    audit.record("register_saved", school_class, user=user, object_id=f"{school_class.id}:{day.isoformat()}")
    db.session.flush()
    records = list(db.session.scalars(sa.select(AttendanceRecord).where(
        AttendanceRecord.date == day, AttendanceRecord.enrolment_id.in_(list(enrolments)))
        .execution_options(populate_existing=True)))
    queue("attendance_saved", school_class=school_class, date=day, records=records, user=user)
    return records


def register_counts(records: list[AttendanceRecord], enrolled: int) -> dict[str, int]:
    """What a saved register says: present, absent (excused or not), late, and not recorded."""
    by = {s: sum(1 for r in records if r.status == s) for s in AttendanceStatus}
    return {"present": by[AttendanceStatus.present], "late": by[AttendanceStatus.late],
            "absent": by[AttendanceStatus.absent_excused] + by[AttendanceStatus.absent_unexcused],
            "not_recorded": max(0, enrolled - len(records))}
