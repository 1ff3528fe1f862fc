"""Every write about a child: registration, UASC status, centre stays."""
from __future__ import annotations

import datetime as dt
import secrets

import pycountry
import sqlalchemy as sa
from flask_babel import gettext as _

from tracker import audit
from tracker.children.models import CentreStay, Child, Guardian, UascPeriod
from tracker.children.names import name_key
from tracker.dates import years_before
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.plugins import fire
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


def register_child(*, given_name: str, family_name: str, name_original: str = "", sex: str, birth_date: dt.date,
                   birth_date_estimated: bool = False, country: str, first_language: str,
                   uasc_status: str = "accompanied", arrival_date: dt.date | None = None,
                   centre: Centre | None = None, centre_since: dt.date | None = None,
                   guardian_name: str = "", guardian_organisation: str = "", guardian_phone: str = "",
                   temporary_id: str = "", asylum_number: str = "", legal_basis: str = "public_task",
                   code: str | None = None, user=None, today: dt.date | None = None, commit: bool = True) -> Child:
    """Register a child with their first UASC status and centre stay, in one transaction."""
    today = today or dt.date.today()
    given_name, family_name = given_name.strip(), family_name.strip()
    if not given_name:
        raise OperationError("given_name", _("Enter the given name in Latin script."))
    if not family_name:
        raise OperationError("family_name", _("Enter the family name in Latin script."))
    try:
        sex, uasc, basis = Sex(sex), UascStatus(uasc_status), LegalBasis(legal_basis)
    except ValueError as exc:
        raise OperationError(None, str(exc)) from None
    if birth_date > today:
        raise OperationError("birth_date", _("The birth date cannot be in the future."))
    if birth_date < years_before(today, 30):
        raise OperationError("birth_date", _("tracker records children and young people; check the birth date."))
    if not valid_country(country):
        raise OperationError("country", _("Choose a country (ISO 3166 three-letter code)."))
    if not valid_language(first_language):
        raise OperationError("first_language", _("Choose a language (ISO 639-3 three-letter code)."))
    if arrival_date and (arrival_date > today or arrival_date < birth_date):
        raise OperationError("arrival_date", _("The arrival date must be between the birth date and today."))
    if uasc != UascStatus.accompanied and not guardian_name.strip():
        raise OperationError("guardian_name", _("An unaccompanied or separated child needs the name of the legal guardian."))
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
    if uasc != UascStatus.accompanied:
        child.guardians.append(Guardian(name=guardian_name.strip(), organisation=guardian_organisation.strip(),
                                        phone=guardian_phone.strip(), start_date=since))
    if centre is not None:
        child.centre_stays.append(CentreStay(centre=centre, start_date=centre_since))
    db.session.add(child)
    db.session.flush()
    audit.record("child_registered", child, user=user)
    if commit:
        db.session.commit()
        fire("child_registered", child=child, user=user)
    return child


def change_uasc_status(child: Child, status: str, since: dt.date, *, guardian_name: str = "",
                       guardian_organisation: str = "", user=None) -> UascPeriod:
    """Close the current UASC period the day before ``since`` and open a new one."""
    status = UascStatus(status)
    current = next((p for p in child.uasc_periods if p.end_date is None), None)
    if current and since <= current.start_date:
        raise OperationError("since", _("The change must come after %(d)s, when the current status began.",
                                        d=current.start_date.isoformat()))
    if since > dt.date.today():
        raise OperationError("since", _("The date cannot be in the future."))
    if current and current.status == status:
        raise OperationError("status", _("The child already has this status."))
    if status != UascStatus.accompanied and not guardian_name.strip() and not any(
            g.end_date is None for g in child.guardians):
        raise OperationError("guardian_name", _("An unaccompanied or separated child needs the name of the legal guardian."))
    if current:
        current.end_date = since - dt.timedelta(days=1)
    period = UascPeriod(status=status, start_date=since, recorded_by_id=getattr(user, "id", None))
    child.uasc_periods.append(period)
    if guardian_name.strip():
        for g in child.guardians:
            if g.end_date is None:
                g.end_date = max(g.start_date, since - dt.timedelta(days=1))
        child.guardians.append(Guardian(name=guardian_name.strip(), organisation=guardian_organisation.strip(),
                                        start_date=since))
    audit.record("uasc_changed", child, user=user)
    db.session.commit()
    return period


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
    db.session.commit()
    return stay
