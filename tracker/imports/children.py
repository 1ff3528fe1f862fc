"""children.csv: register new children, correct existing ones, matched on child_code.

Checked as the registration form checks them. A blank child_code registers a new child with a
generated code, unless a child of the same name, sex and birth date is already in the
importer's scope (so importing the same file twice registers nobody twice). For an existing
child, a blank name_original, arrival_date or centre_code keeps what is stored; a new UASC
status or centre starts on the day of the import, and the history is kept.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from tracker.audit.models import AuditEvent
from tracker.children.models import CentreStay, Child, UascPeriod, utcnow
from tracker.children.names import name_key, to_ascii
from tracker.children.operations import CODE_ALPHABET, valid_country, valid_language
from tracker.extensions import db
from tracker.imports.context import ImportContext, Plan, chunks, parse_date
from tracker.plugins import fire, get_pm
from tracker.schools.models import Centre
from tracker.types import LegalBasis, Sex, UascStatus

CODE = re.compile(r"C-[A-Z0-9]{1,10}\Z")
FIELDS = ("given_name", "family_name", "name_original", "sex", "birth_date", "birth_date_estimated", "country",
          "first_language", "arrival_date")


def _same_person(given: str, family: str, sex: str, born: dt.date) -> tuple:
    return to_ascii(given), to_ascii(family), sex, born


class ChildrenPlan(Plan):
    def __init__(self):
        super().__init__()
        self.new: list[dict] = []                      # values of each new child, with "line"
        self.changes: list[tuple[Child, dict, str | None, int | None]] = []  # child, fields, uasc, centre id
        self.created: list[str] = []                   # codes, for the hooks
        self.codes: list[tuple[int, str]] = []         # (line, generated code)

    def write(self, ctx: ImportContext) -> None:
        today, uid = ctx.today, ctx.user_id
        with ctx.progressbar(_("Saving"), self.writes) as bar:
            for child, fields, uasc, centre_id in self.changes:
                for name, value in fields.items():
                    setattr(child, name, value)
                if {"given_name", "family_name", "name_original"} & set(fields):
                    child.name_key = name_key(child.given_name, child.family_name, child.name_original)
                if uasc is not None:
                    _change_uasc(child, UascStatus(uasc), today, uid)
                if centre_id is not None:
                    _move(child, centre_id, today)
                bar.update(1)
            db.session.flush()
            self._insert(ctx, bar)
        now = utcnow()
        events = [{"at": now, "user_id": uid, "action": "child_registered", "object_type": "child", "object_id": code}
                  for code in self.created]
        events += [{"at": now, "user_id": uid, "action": "child_updated", "object_type": "child", "object_id": c.code}
                   for c, *_rest in self.changes]
        if events:
            db.session.execute(sa.insert(AuditEvent.__table__), events)

    def _insert(self, ctx: ImportContext, bar) -> None:
        if not self.new:
            return
        missing = [row for row in self.new if not row["code"]]
        for row, code in zip(missing, _new_codes(len(missing), {row["code"] for row in self.new})):
            row["code"] = code
            self.codes.append((row["line"], code))
        table, uid, now = Child.__table__, ctx.user_id, utcnow()
        for part in chunks(self.new, 1000):
            ids = db.session.execute(
                sa.insert(table).returning(table.c.id, sort_by_parameter_order=True),
                [{"code": r["code"], "given_name": r["given_name"], "family_name": r["family_name"],
                  "name_original": r["name_original"],
                  "name_key": name_key(r["given_name"], r["family_name"], r["name_original"]),
                  "sex": r["sex"], "birth_date": r["birth_date"], "birth_date_estimated": r["birth_date_estimated"],
                  "country": r["country"], "first_language": r["first_language"], "arrival_date": r["arrival_date"],
                  "legal_basis": LegalBasis.public_task.value, "legal_basis_recorded_at": now,
                  "legal_basis_recorded_by_id": uid, "created_at": now, "created_by_id": uid, "version": 1}
                 for r in part]).scalars().all()
            since = [r["arrival_date"] or ctx.today for r in part]
            db.session.execute(sa.insert(UascPeriod.__table__), [
                {"child_id": cid, "status": r["uasc_status"], "start_date": s, "recorded_at": now,
                 "recorded_by_id": uid}
                for cid, r, s in zip(ids, part, since)])
            stays = [{"child_id": cid, "centre_id": r["centre_id"], "start_date": s}
                     for cid, r, s in zip(ids, part, since) if r["centre_id"] is not None]
            if stays:
                db.session.execute(sa.insert(CentreStay.__table__), stays)
            self.created.extend(r["code"] for r in part)
            bar.update(len(part))

    def after_commit(self, ctx: ImportContext) -> None:
        if not self.created or not get_pm().hook.child_registered.get_hookimpls():
            return
        for part in chunks(self.created):
            for child in db.session.scalars(sa.select(Child).where(Child.code.in_(part))):
                fire("child_registered", child=child, user=ctx.user)


def _new_codes(n: int, taken: set[str]) -> list[str]:
    """``n`` fresh codes, none stored and none in the file (checked in the database in chunks)."""
    codes: list[str] = []
    while len(codes) < n:
        batch = {"C-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6)) for _ in range(n - len(codes))}
        batch -= taken
        for part in chunks(sorted(batch)):
            batch -= set(db.session.scalars(sa.select(Child.code).where(Child.code.in_(part))))
        taken |= batch
        codes.extend(sorted(batch))
    return codes[:n]


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


def validate(table, ctx: ImportContext) -> Plan:
    ix, plan, today = table.index, ChildrenPlan(), ctx.today
    try:
        oldest = today.replace(year=today.year - 30)
    except ValueError:  # 29 February
        oldest = today.replace(year=today.year - 30, day=28)
    centres = dict(db.session.execute(sa.select(Centre.code, Centre.id)).all())
    visible = ctx.child_scope()
    col = ix.__getitem__
    i_code = col("child_code")
    codes = sorted({cells[i_code].upper() for _, cells in table.good if cells[i_code]})
    stored: dict[str, Child] = {}
    for part in chunks(codes):
        for child in db.session.scalars(sa.select(Child).where(Child.code.in_(part)).options(
                selectinload(Child.uasc_periods), selectinload(Child.centre_stays))):
            stored[child.code] = child
    # Children a blank child_code may mean: same name, sex and birth date.
    i_born = col("birth_date")
    births = {parse_date(cells[i_born]) for _line, cells in table.good if not cells[i_code]} - {None}
    by_person: dict[tuple, list[Child]] = {}
    for part in chunks(sorted(births)):
        for child in db.session.scalars(sa.select(Child).where(Child.birth_date.in_(part)).options(
                selectinload(Child.uasc_periods), selectinload(Child.centre_stays))):
            by_person.setdefault(_same_person(child.given_name, child.family_name, child.sex.value,
                                              child.birth_date), []).append(child)
    seen_codes: dict[str, int] = {}
    seen_people: dict[tuple, int] = {}
    seen_ids: dict[int, int] = {}
    for line, cells in ctx.each(table.good, _("Checking")):
        before = ctx.report.count
        get = lambda name: cells[col(name)]  # noqa: E731
        code = get("child_code").upper()
        if code and not CODE.match(code):
            ctx.error(line, "child_code", _("“%(value)s” is not a child code (C- and up to ten letters or digits).",
                                            value=get("child_code")))
        given = ctx.text(line, "given_name", get("given_name"), max_length=100)
        family = ctx.text(line, "family_name", get("family_name"), max_length=100)
        original = ctx.text(line, "name_original", get("name_original"), max_length=200, required=False) or ""
        sex = ctx.choice(line, "sex", get("sex"), [s.value for s in Sex])
        born = ctx.date(line, "birth_date", get("birth_date"))
        estimated = ctx.choice(line, "birth_date_estimated", get("birth_date_estimated") or "0", ("0", "1"))
        country = get("country").upper()
        if not valid_country(country):
            ctx.error(line, "country", _("Choose a country (ISO 3166 three-letter code)."))
        language = get("first_language").lower()
        if not valid_language(language):
            ctx.error(line, "first_language", _("Choose a language (ISO 639-3 three-letter code)."))
        uasc = ctx.choice(line, "uasc_status", get("uasc_status"), [s.value for s in UascStatus])
        centre_code = get("centre_code")
        centre_id = centres.get(centre_code) if centre_code else None
        if centre_code and centre_id is None:
            ctx.error(line, "centre_code", _("No centre %(code)s.", code=centre_code))
        arrival = ctx.date(line, "arrival_date", get("arrival_date"), required=False)
        if born is not None:
            if born > today:
                ctx.error(line, "birth_date", _("The birth date cannot be in the future."))
            elif born < oldest:
                ctx.error(line, "birth_date", _("tracker records children and young people; check the birth date."))
            elif arrival is not None and (arrival > today or arrival < born):
                ctx.error(line, "arrival_date", _("The arrival date must be between the birth date and today."))
        if ctx.report.count != before:
            continue
        # Which child the row is about.
        child = None
        if code:
            if code in seen_codes:
                ctx.error(line, "child_code", _("%(value)s appears again (first on line %(n)d).", value=code,
                                                n=seen_codes[code]))
                continue
            seen_codes[code] = line
            child = stored.get(code)
            if child is not None and visible is not None and child.id not in visible:
                ctx.error(line, "child_code", _("%(code)s is not in your scope.", code=code))
                continue
        else:
            person = _same_person(given, family, sex, born)
            if person in seen_people:
                ctx.error(line, "child_code", _("The same child (name, sex and birth date) is on line %(n)d.",
                                                n=seen_people[person]))
                continue
            seen_people[person] = line
            matches = by_person.get(person, [])
            mine = [c for c in matches if visible is None or c.id in visible]
            if len(mine) > 1:
                ctx.error(line, "child_code", _("Several registered children have this name, sex and birth date; "
                                                "give the child_code."))
                continue
            if matches and not mine:
                ctx.error(line, "child_code", _("A child with this name, sex and birth date is registered outside "
                                                "your scope; ask an administrator."))
                continue
            child = mine[0] if mine else None
        values = {"given_name": given, "family_name": family, "name_original": original, "sex": Sex(sex),
                  "birth_date": born, "birth_date_estimated": estimated == "1", "country": country,
                  "first_language": language, "arrival_date": arrival}
        if child is None:
            plan.new.append({**values, "line": line, "code": code, "sex": sex, "uasc_status": uasc,
                             "centre_id": centre_id})
            plan.mark(line, "created")
            continue
        if child.id in seen_ids:
            ctx.error(line, "child_code", _("The same child is on line %(n)d.", n=seen_ids[child.id]))
            continue
        seen_ids[child.id] = line
        if not original:
            values.pop("name_original")
        if arrival is None:
            values.pop("arrival_date")
            if child.arrival_date and child.arrival_date < born:
                ctx.error(line, "birth_date", _("The birth date must come before the arrival date (%(d)s).",
                                                d=child.arrival_date.isoformat()))
                continue
        fields = {k: v for k, v in values.items() if getattr(child, k) != v}
        new_uasc = uasc if child.uasc_status_on(today).value != uasc else None
        current = child.current_stay
        moved = centre_id is not None and (current is None or current.centre_id != centre_id)
        new_centre = centre_id if moved else None
        if fields or new_uasc or new_centre:
            plan.changes.append((child, fields, new_uasc, new_centre))
            plan.mark(line, "updated")
        else:
            plan.mark(line, "unchanged")
    return plan
