"""Every write about a child: registration, corrections, UASC status, centre stays."""
from __future__ import annotations

import datetime as dt
import secrets

import pycountry
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from tracker import audit
from tracker.children.models import CentreStay, Child, Guardian, MergedCode, RecordChange, UascPeriod, utcnow
from tracker.children.names import name_key
from tracker.dates import years_before
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.unit_of_work import queue
from tracker.schools.models import Centre
from tracker.types import LegalBasis, Sex, UascStatus

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed on phones


def new_child_code() -> str:
    while True:
        code = "C-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if not db.session.scalar(sa.select(Child.id).where(Child.code == code)):
            return code


def valid_country(code: str) -> bool:
    return bool(code) and pycountry.countries.get(alpha_3=code.upper()) is not None


def valid_language(code: str) -> bool:
    return bool(code) and pycountry.languages.get(alpha_3=code.lower()) is not None


def registration_problems(*, given_name: str | None, family_name: str | None, sex: str | None,
                          birth_date: dt.date | None, country: str, first_language: str, uasc_status: str | None,
                          arrival_date: dt.date | None, guardian_name: str, legal_basis: str | None, today: dt.date,
                          has_guardian: bool = False, guardian_pending: bool = False) -> list[tuple[str | None, str]]:
    """What stops a child's registration, as (field, message) pairs, in the order the form shows them.

    The rules of the registration form, the children import and the integrations alike. A value
    given as None did not parse (the caller reported it) and is not checked again.
    ``has_guardian``: a stored child already has an open guardian (a correction).
    ``guardian_pending``: no guardian is appointed yet; an unaccompanied or separated child may then
    be registered without one (the "UASC without a guardian" flag follows it up).
    """
    problems: list[tuple[str | None, str]] = []
    if given_name is not None and not given_name.strip():
        problems.append(("given_name", _("Enter the given name in Latin script.")))
    if family_name is not None and not family_name.strip():
        problems.append(("family_name", _("Enter the family name in Latin script.")))
    for field, enum, value in (("sex", Sex, sex), ("uasc_status", UascStatus, uasc_status),
                               ("legal_basis", LegalBasis, legal_basis)):
        if value is not None and value not in {m.value for m in enum}:
            problems.append((field, _("“%(value)s” is not one of %(values)s.", value=value,
                                      values=", ".join(m.value for m in enum))))
    if birth_date is not None:
        if birth_date > today:
            problems.append(("birth_date", _("The birth date cannot be in the future.")))
        elif birth_date < years_before(today, 30):
            problems.append(("birth_date", _("tracker records children and young people; check the birth date.")))
    if not valid_country(country):
        problems.append(("country", _("Choose a country (ISO 3166 three-letter code).")))
    if not valid_language(first_language):
        problems.append(("first_language", _("Choose a language (ISO 639-3 three-letter code).")))
    if arrival_date and birth_date and (arrival_date > today or arrival_date < birth_date):
        problems.append(("arrival_date", _("The arrival date must be between the birth date and today.")))
    problem = guardian_problem(uasc_status, guardian_name, has_guardian, guardian_pending)
    if problem:
        problems.append(problem)
    return problems


def guardian_problem(uasc_status: str | None, guardian_name: str, has_guardian: bool,
                     pending: bool = False) -> tuple[str, str] | None:
    """An unaccompanied or separated child needs a legal guardian: named now, already on record, or
    marked pending (not appointed yet). Naming one and marking it pending at once is refused."""
    if pending and guardian_name.strip():
        return "guardian_pending", _("Either name the legal guardian or tick “guardian pending”, not both.")
    if uasc_status in (UascStatus.separated.value, UascStatus.unaccompanied.value) \
            and not guardian_name.strip() and not has_guardian and not pending:
        return "guardian_name", _("An unaccompanied or separated child needs the name of the legal guardian, "
                                  "or “guardian pending” ticked while none is appointed.")
    return None


def register_child(*, given_name: str, family_name: str, name_original: str = "", sex: str, birth_date: dt.date,
                   birth_date_estimated: bool = False, country: str, first_language: str,
                   uasc_status: str = "accompanied", arrival_date: dt.date | None = None,
                   centre: Centre | None = None, centre_since: dt.date | None = None,
                   guardian_name: str = "", guardian_organisation: str = "", guardian_phone: str = "",
                   temporary_id: str = "", asylum_number: str = "", legal_basis: str = "public_task",
                   code: str | None = None, user=None, today: dt.date | None = None,
                   guardian_pending: bool = False) -> Child:
    """Register a child with their first UASC status and centre stay, in one transaction.

    ``guardian_pending``: an unaccompanied or separated child with no guardian appointed yet is
    registered without one; the child's page says so until a guardian is recorded."""
    today = today or dt.date.today()
    given_name, family_name = given_name.strip(), family_name.strip()
    problems = registration_problems(given_name=given_name, family_name=family_name, sex=sex, birth_date=birth_date,
                                     country=country, first_language=first_language, uasc_status=uasc_status,
                                     arrival_date=arrival_date, guardian_name=guardian_name,
                                     legal_basis=legal_basis, today=today, guardian_pending=guardian_pending)
    if problems:
        raise OperationError(*problems[0])
    sex, uasc, basis = Sex(sex), UascStatus(uasc_status), LegalBasis(legal_basis)
    if centre is not None and centre_since is None:
        centre_since = arrival_date or today
    if centre_since and (centre_since > today or centre_since < birth_date):
        raise OperationError("centre_since", _("The centre stay must start between the birth date and today."))
    since = arrival_date or centre_since or today
    child = Child(
        code=code or new_child_code(), given_name=given_name, family_name=family_name,
        name_original=name_original.strip(), name_key=name_key(given_name, family_name, name_original),
        sex=sex, birth_date=birth_date, birth_date_estimated=bool(birth_date_estimated),
        country=country.upper(), first_language=first_language.lower(), arrival_date=arrival_date,
        temporary_id=temporary_id.strip() or None, asylum_number=asylum_number.strip() or None,
        legal_basis=basis, legal_basis_recorded_by_id=getattr(user, "id", None), created_by_id=getattr(user, "id", None),
    )
    child.uasc_periods.append(UascPeriod(status=uasc, start_date=since, recorded_by_id=getattr(user, "id", None)))
    if uasc != UascStatus.accompanied and guardian_name.strip():
        child.guardians.append(Guardian(name=guardian_name.strip(), organisation=guardian_organisation.strip(),
                                        phone=guardian_phone.strip(), start_date=since))
    if centre is not None:
        child.centre_stays.append(CentreStay(centre=centre, start_date=centre_since))
    db.session.add(child)
    db.session.flush()
    audit.record("child_registered", child, user=user)
    queue("child_registered", child=child, user=user)
    return child


class StaleRecord(OperationError):
    """The record was saved by someone else since the form was opened (its version moved on)."""


# What a correction may change on the child's row, and on their current guardian (form field -> column).
CORRECTABLE = ("given_name", "family_name", "name_original", "sex", "birth_date", "birth_date_estimated", "country",
               "first_language", "arrival_date", "temporary_id", "asylum_number")
GUARDIAN_FIELDS = {"guardian_name": "name", "guardian_organisation": "organisation", "guardian_phone": "phone"}


def as_text(value) -> str | None:
    """A value as the history keeps it: dates ISO, enums by value, yes/no as true/false, blank as None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(getattr(value, "value", value))


def record_changes(child: Child, object_type: str, object_id: int, changes: list[tuple[str, object, object]],
                   *, user=None) -> None:
    """Keep the earlier values of a correction: one history row per (field, old, new). No commit."""
    uid, now = getattr(user, "id", None), utcnow()
    for field, old, new in changes:
        db.session.add(RecordChange(child_id=child.id, object_type=object_type, object_id=object_id, field=field,
                                    old_value=as_text(old), new_value=as_text(new), changed_by_id=uid,
                                    changed_at=now))


def correct_child(child: Child, changes: dict, *, user=None, version: int | None = None,
                  today: dt.date | None = None) -> list[str]:
    """Correct what was recorded about a child; keep every earlier value. Returns the changed fields' names.

    ``changes`` maps names of ``CORRECTABLE`` and ``GUARDIAN_FIELDS`` to their corrected values (a
    name left out keeps its value). ``version``: the child's version when the form was opened; if
    someone saved the child since, ``StaleRecord`` is raised and nothing is written. The values are
    checked with the registration rules (``registration_problems``) and against the child's
    enrolments and centre stays (none may start before the birth date). The name search key
    follows the names. Audited as ``child_corrected`` with the names of the fields, never values.
    """
    today = today or dt.date.today()
    if version is not None and int(version) != child.version:
        raise StaleRecord(None, _("Someone else saved this child's record while you were editing it. "
                                  "Your entries are kept below: check them against the record and save again."))
    unknown = set(changes) - set(CORRECTABLE) - set(GUARDIAN_FIELDS)
    if unknown:
        raise OperationError(None, _("These fields cannot be corrected here: %(f)s.", f=", ".join(sorted(unknown))))
    new = {f: getattr(child, f) for f in CORRECTABLE}
    for f in CORRECTABLE:
        if f not in changes:
            continue
        value = changes[f]
        if isinstance(value, str):
            value = value.strip()
        if f in ("temporary_id", "asylum_number", "arrival_date"):
            value = value or None
        elif f == "name_original":
            value = value or ""
        elif f == "birth_date_estimated":
            value = bool(value)
        elif f == "country" and value:
            value = value.upper()
        elif f == "first_language" and value:
            value = value.lower()
        new[f] = value
    guardian = next((g for g in reversed(child.guardians) if g.end_date is None), None)
    new_guardian = {f: (changes[f] if f in changes else getattr(guardian, col, "") if guardian else "") or ""
                    for f, col in GUARDIAN_FIELDS.items()}
    new_guardian = {f: v.strip() for f, v in new_guardian.items()}
    sex = new["sex"].value if isinstance(new["sex"], Sex) else new["sex"]
    problems = registration_problems(
        given_name=new["given_name"], family_name=new["family_name"], sex=sex, birth_date=new["birth_date"],
        country=new["country"] or "", first_language=new["first_language"] or "",
        uasc_status=child.uasc_status.value, arrival_date=new["arrival_date"],
        guardian_name=new_guardian["guardian_name"], legal_basis=None, today=today)
    if problems:
        raise OperationError(*problems[0])
    born = new["birth_date"]
    first_enrolment = min((e.start_date for e in child.enrolments), default=None)
    if first_enrolment and born > first_enrolment:
        raise OperationError("birth_date", _("The birth date is after the child's first day at school (%(d)s).",
                                             d=first_enrolment.isoformat()))
    first_stay = min((s.start_date for s in child.centre_stays), default=None)
    if first_stay and born > first_stay:
        raise OperationError("birth_date", _("The birth date is after the start of a centre stay (%(d)s).",
                                             d=first_stay.isoformat()))
    if guardian is not None and not new_guardian["guardian_name"]:
        raise OperationError("guardian_name", _("The guardian's name cannot be left blank. Correct it, or change "
                                                "the UASC status if the child no longer has a guardian."))
    new["sex"] = Sex(sex)
    child_changes = [(f, getattr(child, f), new[f]) for f in CORRECTABLE if new[f] != getattr(child, f)]
    guardian_changes = [(f, getattr(guardian, col) if guardian else None, new_guardian[f])
                        for f, col in GUARDIAN_FIELDS.items()
                        if new_guardian[f] != ((getattr(guardian, col) or "") if guardian else "")]
    if not child_changes and not guardian_changes:
        return []
    for f, _old, value in child_changes:
        setattr(child, f, value)
    if {"given_name", "family_name", "name_original"} & {f for f, *_rest in child_changes}:
        child.name_key = name_key(child.given_name, child.family_name, child.name_original)
    if guardian_changes:
        if guardian is None:
            current = next((p for p in child.uasc_periods if p.end_date is None), None)
            guardian = Guardian(start_date=current.start_date if current else today)
            child.guardians.append(guardian)
        for f, col in GUARDIAN_FIELDS.items():
            setattr(guardian, col, new_guardian[f])
    try:
        db.session.flush()
        if not child_changes:
            # Only the guardian changed: the child's version moves on all the same, so that a form
            # opened before this save is stale.
            moved = db.session.execute(sa.update(Child).where(Child.id == child.id, Child.version == child.version)
                                       .values(version=child.version + 1)).rowcount
            if moved != 1:
                raise StaleDataError()
            db.session.refresh(child, ["version"])
    except StaleDataError:
        db.session.rollback()
        raise StaleRecord(None, _("Someone else saved this child's record while you were editing it. "
                                  "Reload the page and correct it again.")) from None
    record_changes(child, "child", child.id, child_changes, user=user)
    if guardian_changes:
        record_changes(child, "guardian", guardian.id, guardian_changes, user=user)
    names = [f for f, *_rest in child_changes] + [f for f, *_rest in guardian_changes]
    audit.record("child_corrected", child, user=user, fields=names)
    db.session.flush()
    return names


def change_uasc_status(child: Child, status: str, since: dt.date, *, guardian_name: str = "",
                       guardian_organisation: str = "", user=None, guardian_pending: bool = False) -> UascPeriod:
    """Close the current UASC period the day before ``since`` and open a new one.

    The same status with a guardian named records the guardian appointed from ``since`` (the
    period stays). ``guardian_pending``: the child becomes unaccompanied or separated before a
    guardian is appointed.
    """
    status = UascStatus(status)
    current = next((p for p in child.uasc_periods if p.end_date is None), None)
    if guardian_pending and guardian_name.strip():
        raise OperationError("guardian_pending", _("Either name the legal guardian or tick “guardian pending”, "
                                                   "not both."))
    if current and current.status == status and status != UascStatus.accompanied and guardian_name.strip():
        if since > dt.date.today() or since < current.start_date:
            raise OperationError("since", _("The guardian's appointment must be between %(d)s and today.",
                                            d=current.start_date.isoformat()))
        _appoint(child, guardian_name, guardian_organisation, since)
        audit.record("guardian_recorded", child, user=user)
        db.session.flush()
        return current
    if current and since <= current.start_date:
        raise OperationError("since", _("The change must come after %(d)s, when the current status began.",
                                        d=current.start_date.isoformat()))
    if since > dt.date.today():
        raise OperationError("since", _("The date cannot be in the future."))
    if current and current.status == status:
        raise OperationError("status", _("The child already has this status."))
    if status != UascStatus.accompanied and not guardian_name.strip() and not guardian_pending and not any(
            g.end_date is None for g in child.guardians):
        raise OperationError("guardian_name", _("An unaccompanied or separated child needs the name of the legal guardian, "
                                                "or “guardian pending” ticked while none is appointed."))
    if current:
        current.end_date = since - dt.timedelta(days=1)
    period = UascPeriod(status=status, start_date=since, recorded_by_id=getattr(user, "id", None))
    child.uasc_periods.append(period)
    if guardian_name.strip():
        _appoint(child, guardian_name, guardian_organisation, since)
    audit.record("uasc_changed", child, user=user)
    db.session.flush()
    return period


def _appoint(child: Child, name: str, organisation: str, since: dt.date) -> None:
    """Record a guardian from ``since`` (the open one ends the day before); the pending follow-up ends."""
    from tracker.flags.default_rules import guardian_recorded

    for g in child.guardians:
        if g.end_date is None:
            g.end_date = max(g.start_date, since - dt.timedelta(days=1))
    child.guardians.append(Guardian(name=name.strip(), organisation=organisation.strip(), start_date=since))
    guardian_recorded([child.id])


def move_centre(child: Child, centre: Centre | None, since: dt.date, *, user=None) -> CentreStay | None:
    """End the current centre stay the day before ``since``; start one at ``centre`` (None: left the centres)."""
    current = child.current_stay
    if since > dt.date.today():
        raise OperationError("since", _("The date cannot be in the future."))
    if current and since <= current.start_date:
        raise OperationError("since", _("The move must come after %(d)s, when the current stay began.",
                                        d=current.start_date.isoformat()))
    if current and centre is not None and current.centre_id == centre.id:
        raise OperationError("centre", _("The child already lives in this centre."))
    if current is None and centre is None:
        raise OperationError("centre", _("The child has no current centre stay to end."))
    if current:
        current.end_date = since - dt.timedelta(days=1)
    stay = None
    if centre is not None:
        db.session.flush()  # the open stay must close before the new one opens (one open stay per child)
        stay = CentreStay(child=child, centre=centre, start_date=since)
        db.session.add(stay)
    audit.record("centre_changed", child, user=user)
    db.session.flush()
    return stay


BATCH = 1000


def save_children(new: list[dict], changes: list[tuple], *, user=None, today: dt.date | None = None,
                  progress=None) -> list[tuple[int, str]]:
    """Register and correct a checked batch of children (an import); flush, no commit.

    ``new`` rows carry the registration values (checked with ``registration_problems``) and
    ``code`` (blank: a new code is generated), ``uasc_status``, ``centre_id``, ``legal_basis``,
    ``guardian_name``/``guardian_organisation``/``guardian_phone`` and ``line``. ``changes`` are
    (child, fields, new UASC status or None, new centre id or None, new guardian dict or None):
    a new status or centre starts ``today``, the history is kept. Returns (line, generated code)
    pairs. Audit events and ``child_registered`` follow, as for ``register_child``.

    A record brought in with its history (the demo builder) may also carry ``created_at``,
    ``created_by_id``, ``temporary_id``, ``asylum_number`` and the lists ``uasc_periods``
    [(status, start, end, recorded_at, recorded_by_id)], ``stays`` [(centre_id, start, end)] and
    ``guardians`` [(name, organisation, phone, start, end)].
    """
    from tracker.audit.models import AuditEvent
    from tracker.children.models import utcnow
    from tracker.plugins import get_pm

    today = today or dt.date.today()
    progress = progress or (lambda n: None)
    uid, now = getattr(user, "id", None), utcnow()
    for child, fields, uasc, centre_id, guardian in changes:
        for name, value in fields.items():
            setattr(child, name, value)
        if {"given_name", "family_name", "name_original"} & set(fields):
            child.name_key = name_key(child.given_name, child.family_name, child.name_original)
        if guardian:
            _new_guardian(child, guardian, today)
        if uasc is not None:
            _change_uasc(child, UascStatus(uasc), today, uid)
        if centre_id is not None:
            _move(child, centre_id, today)
        progress(1)
    db.session.flush()
    codes: list[tuple[int, str]] = []
    created: list[str] = []
    missing = [row for row in new if not row["code"]]
    for row, code in zip(missing, _new_codes(len(missing), {row["code"] for row in new})):
        row["code"] = code
        codes.append((row["line"], code))
    table = Child.__table__
    for i in range(0, len(new), BATCH):
        part = new[i:i + BATCH]
        ids = db.session.execute(
            sa.insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [{"code": r["code"], "given_name": r["given_name"], "family_name": r["family_name"],
              "name_original": r["name_original"],
              "name_key": name_key(r["given_name"], r["family_name"], r["name_original"]),
              "sex": r["sex"], "birth_date": r["birth_date"], "birth_date_estimated": r["birth_date_estimated"],
              "country": r["country"], "first_language": r["first_language"], "arrival_date": r["arrival_date"],
              "temporary_id": r.get("temporary_id") or None, "asylum_number": r.get("asylum_number") or None,
              "legal_basis": r.get("legal_basis") or LegalBasis.public_task.value,
              "legal_basis_recorded_at": r.get("created_at", now),
              "legal_basis_recorded_by_id": r.get("created_by_id", uid), "created_at": r.get("created_at", now),
              "created_by_id": r.get("created_by_id", uid), "version": 1}
             for r in part]).scalars().all()
        periods, stays, guardians = [], [], []
        for cid, r in zip(ids, part):
            since = r["arrival_date"] or today
            # A record brought in with its history (the demo) lists it; otherwise it starts now.
            for status, start, end, at, by in r.get("uasc_periods") or [(r["uasc_status"], since, None, now, uid)]:
                periods.append({"child_id": cid, "status": status, "start_date": start, "end_date": end,
                                "recorded_at": at, "recorded_by_id": by})
            listed = r.get("stays") or ([(r["centre_id"], since, None)] if r.get("centre_id") is not None else [])
            stays += [{"child_id": cid, "centre_id": centre, "start_date": start, "end_date": end}
                      for centre, start, end in listed]
            listed = r.get("guardians") or ([(r["guardian_name"], r.get("guardian_organisation") or "",
                                              r.get("guardian_phone") or "", since, None)]
                                            if (r.get("guardian_name") or "").strip() else [])
            guardians += [{"child_id": cid, "name": name.strip(), "organisation": org.strip(), "phone": phone.strip(),
                           "start_date": start, "end_date": end} for name, org, phone, start, end in listed]
        for table_, rows_ in ((UascPeriod.__table__, periods), (CentreStay.__table__, stays),
                              (Guardian.__table__, guardians)):
            if rows_:
                db.session.execute(sa.insert(table_), rows_)
        created.extend(r["code"] for r in part)
        progress(len(part))
    events = [{"at": now, "user_id": uid, "action": "child_registered", "object_type": "child", "object_id": code}
              for code in created]
    events += [{"at": now, "user_id": uid, "action": "child_updated", "object_type": "child", "object_id": c.code}
               for c, *_rest in changes]
    if events:
        db.session.execute(sa.insert(AuditEvent.__table__), events)
    if created and get_pm().hook.child_registered.get_hookimpls():
        for i in range(0, len(created), BATCH):
            for child in db.session.scalars(sa.select(Child).where(Child.code.in_(created[i:i + BATCH]))):
                queue("child_registered", child=child, user=user)
    return codes


def _new_codes(n: int, taken: set[str]) -> list[str]:
    """``n`` fresh codes, none stored and none in the batch (checked in the database in chunks)."""
    codes: list[str] = []
    while len(codes) < n:
        batch = {"C-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6)) for _ in range(n - len(codes))}
        batch -= taken
        ordered = sorted(batch)
        for i in range(0, len(ordered), BATCH):
            batch -= set(db.session.scalars(sa.select(Child.code).where(Child.code.in_(ordered[i:i + BATCH]))))
        taken |= batch
        codes.extend(sorted(batch))
    return codes[:n]


def _new_guardian(child: Child, guardian: dict, today: dt.date) -> None:
    for g in child.guardians:
        if g.end_date is None:
            g.end_date = max(g.start_date, today - dt.timedelta(days=1))
    child.guardians.append(Guardian(name=guardian["name"].strip(), organisation=guardian.get("organisation", "").strip(),
                                    phone=guardian.get("phone", "").strip(), start_date=today))
    from tracker.flags.default_rules import guardian_recorded

    guardian_recorded([child.id])


def _change_uasc(child: Child, status: UascStatus, today: dt.date, uid: int | None) -> None:
    current = next((p for p in child.uasc_periods if p.end_date is None), None)
    if current is not None and current.start_date >= today:
        current.status = status
        return
    if current is not None:
        current.end_date = today - dt.timedelta(days=1)
    child.uasc_periods.append(UascPeriod(status=status, start_date=today, recorded_by_id=uid))


def _move(child: Child, centre_id: int, today: dt.date) -> None:
    current = child.current_stay
    if current is not None and current.start_date >= today:
        current.centre_id = centre_id
        return
    if current is not None:
        current.end_date = today - dt.timedelta(days=1)
        db.session.flush()  # one open stay per child: close before opening
    child.centre_stays.append(CentreStay(centre_id=centre_id, start_date=today))


# --- Two records of the same child ----------------------------------------------------------------

def _overlaps(a, b) -> bool:
    """Two dated rows (start_date, end_date or open) share a day."""
    return a.start_date <= (b.end_date or dt.date.max) and b.start_date <= (a.end_date or dt.date.max)


def merge_problems(keep: Child, other: Child) -> list[str]:
    """What stops merging ``other`` into ``keep``: both enrolled at once, or both assessed in the same round."""
    from tracker.assessments.models import Assessment

    if keep.id == other.id:
        return [_("These are the same record.")]
    problems = []
    for a in keep.enrolments:
        for b in other.enrolments:
            if _overlaps(a, b):
                problems.append(_("Both records are enrolled at the same time: %(a)s (%(da)s) and %(b)s (%(db)s). "
                                  "Correct or end one of the enrolments first.",
                                  a=a.school.name, da=a.start_date.isoformat(), b=b.school.name,
                                  db=b.start_date.isoformat()))
    rounds = set(db.session.execute(sa.select(Assessment.round_id, Assessment.type_slug)
                                    .where(Assessment.child_id == keep.id)).all())
    if any(tuple(r) in rounds for r in db.session.execute(
            sa.select(Assessment.round_id, Assessment.type_slug).where(Assessment.child_id == other.id))):
        problems.append(_("Both records have an assessment of the same kind in the same round."))
    return problems


def merge_children(keep: Child, other: Child, *, user=None) -> list[str]:
    """Merge ``other`` (a second record of the same child) into ``keep``; ``other``'s code leads to ``keep``.

    ``keep`` gets ``other``'s enrolments (with their attendance), assessments, flags and their
    follow-ups, external ids and history of corrections. Of ``other``'s UASC periods, centre stays
    and guardians those that overlap none of ``keep``'s move too; the others (the same facts recorded
    twice) are dropped, and ``keep``'s stand. An uncleared flag of a rule that ``keep`` also has
    uncleared is cleared today (the next flags check decides for the one child). ``keep``'s details
    stand; a blank temporary ID, asylum number, name in original script or arrival date is filled
    from ``other``'s. Refused (``merge_problems``) when both were enrolled at once or assessed in the
    same round. Returns the filled fields. Audited as ``children_merged`` (on ``keep``) and
    ``child_merged`` (on ``other``'s code).
    """
    from tracker.assessments.models import Assessment
    from tracker.enrolment.models import Enrolment
    from tracker.flags.models import Flag
    from tracker.integrations.models import ExternalId

    problems = merge_problems(keep, other)
    if problems:
        raise OperationError(None, problems[0])
    today = dt.date.today()
    for model, mine, theirs in ((UascPeriod, keep.uasc_periods, other.uasc_periods),
                                (CentreStay, keep.centre_stays, other.centre_stays),
                                (Guardian, keep.guardians, other.guardians)):
        twice = [row.id for row in theirs if any(_overlaps(row, k) for k in mine)]
        if twice:
            db.session.execute(sa.delete(model).where(model.id.in_(twice)))
        db.session.execute(sa.update(model).where(model.child_id == other.id).values(child_id=keep.id))
    kept_rules = set(db.session.scalars(sa.select(Flag.rule).where(Flag.child_id == keep.id, Flag.cleared_on.is_(None))))
    if kept_rules:
        db.session.execute(sa.update(Flag).where(Flag.child_id == other.id, Flag.cleared_on.is_(None),
                                                 Flag.rule.in_(kept_rules))
                           .values(cleared_on=today, version=Flag.version + 1))
    for model in (Enrolment, Assessment, Flag, ExternalId, RecordChange, MergedCode):
        db.session.execute(sa.update(model).where(model.child_id == other.id).values(child_id=keep.id))
    filled = [(f, getattr(keep, f), getattr(other, f)) for f in ("name_original", "arrival_date", "temporary_id",
                                                                  "asylum_number")
              if not getattr(keep, f) and getattr(other, f)]
    for f, _old, value in filled:
        setattr(keep, f, value)
    if any(f == "name_original" for f, *_rest in filled):
        keep.name_key = name_key(keep.given_name, keep.family_name, keep.name_original)
    code, uid = other.code, getattr(user, "id", None)
    db.session.flush()
    db.session.expunge(other)
    db.session.execute(sa.delete(Child).where(Child.id == other.id))
    db.session.add(MergedCode(code=code, child_id=keep.id, merged_by_id=uid))
    db.session.flush()
    db.session.expire_all()  # the moved rows' collections and relationships are read again
    record_changes(keep, "child", keep.id, [("merged_from", None, code), *filled], user=user)
    audit.record("children_merged", keep, user=user, fields=[f for f, *_rest in filled] or None)
    audit.record("child_merged", object_type="child", object_id=code, user=user)
    db.session.flush()
    return [f for f, *_rest in filled]


def merged_target(code: str) -> Child | None:
    """The child a merged record's code now leads to, if ``code`` is such a code."""
    return db.session.scalar(sa.select(Child).join(MergedCode, MergedCode.child_id == Child.id)
                             .where(MergedCode.code == code))
