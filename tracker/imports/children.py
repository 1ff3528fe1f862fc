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

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from tracker.children.models import Child
from tracker.children.names import to_ascii
from tracker.children.operations import guardian_problem, registration_problems, save_children
from tracker.extensions import db
from tracker.imports.context import ImportContext, Plan, chunks, parse_date
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
        self.changes: list[tuple[Child, dict, str | None, int | None, dict | None]] = []
        # child, fields, new uasc status, new centre id, new guardian (name, organisation, phone)
        self.codes: list[tuple[int, str]] = []         # (line, generated code)

    def write(self, ctx: ImportContext) -> None:
        with ctx.progressbar(_("Saving"), self.writes) as bar:
            self.codes = save_children(self.new, self.changes, user=ctx.user, today=ctx.today, progress=bar.update)


def validate(table, ctx: ImportContext) -> Plan:
    ix, plan, today = table.index, ChildrenPlan(), ctx.today
    centres = dict(db.session.execute(sa.select(Centre.code, Centre.id)).all())
    visible = ctx.child_scope()
    col = ix.__getitem__
    i_code = col("child_code")
    codes = sorted({cells[i_code].upper() for _, cells in table.good if cells[i_code]})
    stored: dict[str, Child] = {}
    for part in chunks(codes):
        for child in db.session.scalars(sa.select(Child).where(Child.code.in_(part)).options(
                selectinload(Child.uasc_periods), selectinload(Child.centre_stays), selectinload(Child.guardians))):
            stored[child.code] = child
    # Children a blank child_code may mean: same name, sex and birth date.
    i_born = col("birth_date")
    births = {parse_date(cells[i_born]) for _line, cells in table.good if not cells[i_code]} - {None}
    by_person: dict[tuple, list[Child]] = {}
    for part in chunks(sorted(births)):
        for child in db.session.scalars(sa.select(Child).where(Child.birth_date.in_(part)).options(
                selectinload(Child.uasc_periods), selectinload(Child.centre_stays), selectinload(Child.guardians))):
            by_person.setdefault(_same_person(child.given_name, child.family_name, child.sex.value,
                                              child.birth_date), []).append(child)
    seen_codes: dict[str, int] = {}
    seen_people: dict[tuple, int] = {}
    seen_ids: dict[int, int] = {}
    for line, cells in ctx.each(table.good, _("Checking")):
        before = ctx.report.count
        get = lambda name: cells[ix[name]] if name in ix else ""  # noqa: E731 - optional columns may be absent
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
        language = get("first_language").lower()
        uasc = ctx.choice(line, "uasc_status", get("uasc_status"), [s.value for s in UascStatus])
        basis = ctx.choice(line, "legal_basis", get("legal_basis") or LegalBasis.public_task.value,
                           [b.value for b in LegalBasis])
        guardian = {"name": ctx.text(line, "guardian_name", get("guardian_name"), max_length=200, required=False)
                    or "",
                    "organisation": ctx.text(line, "guardian_organisation", get("guardian_organisation"),
                                             max_length=200, required=False) or "",
                    "phone": ctx.text(line, "guardian_phone", get("guardian_phone"), max_length=50,
                                      required=False) or ""}
        # 1: no guardian appointed yet, allowed instead of guardian_name for an unaccompanied or separated child.
        pending = ctx.choice(line, "guardian_pending", get("guardian_pending") or "0", ("0", "1")) == "1"
        centre_code = get("centre_code")
        centre_id = centres.get(centre_code) if centre_code else None
        if centre_code and centre_id is None:
            ctx.error(line, "centre_code", _("No centre %(code)s.", code=centre_code))
        arrival = ctx.date(line, "arrival_date", get("arrival_date"), required=False)
        # The registration form's rules for what parsed (None: reported above); the guardian once the child is known.
        for field, message in registration_problems(
                given_name=given, family_name=family, sex=sex, birth_date=born, country=country,
                first_language=language, uasc_status=uasc, arrival_date=arrival, guardian_name=guardian["name"],
                legal_basis=basis, today=today, has_guardian=True, guardian_pending=pending):
            ctx.error(line, field, message)
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
            if not ctx.is_admin and (child is None or child.id not in visible):
                # The same answer whether the code exists elsewhere or not at all: nothing about other children.
                # Officers leave child_code blank for a new child; tracker gives the code.
                ctx.error(line, "child_code", ctx.no_child(code))
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
        problem = guardian_problem(uasc, guardian["name"], child is not None and any(
            g.end_date is None for g in child.guardians), pending)
        if problem:
            ctx.error(line, *problem)
            continue
        if child is None:
            plan.new.append({**values, "line": line, "code": code, "sex": sex, "uasc_status": uasc,
                             "centre_id": centre_id, "legal_basis": basis, "guardian_name": guardian["name"],
                             "guardian_organisation": guardian["organisation"], "guardian_phone": guardian["phone"]})
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
        if get("legal_basis") and child.legal_basis.value != basis:
            fields["legal_basis"] = LegalBasis(basis)
        new_uasc = uasc if child.uasc_status_on(today).value != uasc else None
        # The centre of the latest stay, open or ended: a file that still names the centre a child left
        # (who moved on, say) does not bring them back; a return is recorded on the child's page.
        latest = child.current_stay or max(child.centre_stays, key=lambda st: st.start_date, default=None)
        moved = centre_id is not None and (latest is None or latest.centre_id != centre_id)
        new_centre = centre_id if moved else None
        open_guardian = next((g for g in child.guardians if g.end_date is None), None)
        new_guardian = guardian if guardian["name"] and (open_guardian is None or (
            open_guardian.name, open_guardian.organisation, open_guardian.phone) != (
            guardian["name"], guardian["organisation"], guardian["phone"])) else None
        if fields or new_uasc or new_centre or new_guardian:
            plan.changes.append((child, fields, new_uasc, new_centre, new_guardian))
            plan.mark(line, "updated")
        else:
            plan.mark(line, "unchanged")
    return plan
