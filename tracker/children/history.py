"""The history of corrections as the child's page shows it: translated field labels, values as read."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import format_date, gettext as _, lazy_gettext as _l

from tracker.children.models import Child, RecordChange
from tracker.extensions import db
from tracker.labels import country_name, label, language_name

# (object type, field) -> label; the child's and guardian's labels are the registration form's.
LABELS = {
    ("child", "given_name"): _l("Given name (Latin script)"),
    ("child", "family_name"): _l("Family name (Latin script)"),
    ("child", "name_original"): _l("Name in original script"),
    ("child", "sex"): _l("Sex"),
    ("child", "birth_date"): _l("Birth date"),
    ("child", "birth_date_estimated"): _l("Birth date is estimated"),
    ("child", "country"): _l("Country of origin"),
    ("child", "first_language"): _l("First language"),
    ("child", "arrival_date"): _l("Arrival in Serbia"),
    ("child", "temporary_id"): _l("Temporary ID number"),
    ("child", "asylum_number"): _l("Asylum registration number"),
    ("guardian", "guardian_name"): _l("Legal guardian"),
    ("guardian", "guardian_organisation"): _l("Guardian's organisation"),
    ("guardian", "guardian_phone"): _l("Guardian's phone"),
    ("enrolment", "start_date"): _l("First day at school"),
    ("enrolment", "end_date"): _l("Last day at school"),
    ("enrolment", "grade"): _l("Grade"),
    ("enrolment", "class_id"): _l("Class"),
    ("enrolment", "exit_reason"): _l("Exit reason"),
    ("enrolment", "exit_note"): _l("Note"),
    ("centre_stay", "end_date"): _l("End of the centre stay"),
    ("child", "merged_from"): _l("Another record of this child merged into this one"),
}
DATES = {"birth_date", "arrival_date", "start_date", "end_date"}


def shown(change: RecordChange, value: str | None, classes: dict[int, str]) -> str:
    """A stored value as the reader reads it, in their language."""
    if value is None:
        return _("(blank)")
    field = change.field
    if field in DATES:
        return format_date(dt.date.fromisoformat(value), "medium")
    if field == "birth_date_estimated":
        return _("yes") if value == "true" else _("no")
    if field in ("sex", "exit_reason"):
        return str(label(value))
    if field == "country":
        return country_name(value)
    if field == "first_language":
        return language_name(value)
    if field == "class_id":
        return classes.get(int(value), _("a class no longer recorded"))
    return value


def entries(child: Child) -> list[dict]:
    """The corrections about a child, latest first: label, old and new value, who, when."""
    from tracker.schools.models import SchoolClass

    changes = db.session.scalars(sa.select(RecordChange).where(RecordChange.child_id == child.id)
                                 .order_by(RecordChange.changed_at.desc(), RecordChange.id.desc())).all()
    class_ids = {int(v) for c in changes if c.field == "class_id" for v in (c.old_value, c.new_value) if v}
    classes = dict(db.session.execute(sa.select(SchoolClass.id, SchoolClass.name)
                                      .where(SchoolClass.id.in_(class_ids))).all()) if class_ids else {}
    return [{"label": LABELS.get((c.object_type, c.field), c.field),
             "old": None if c.field == "merged_from" else shown(c, c.old_value, classes),
             "new": shown(c, c.new_value, classes), "by": c.changed_by.name if c.changed_by else _("unknown user"),
             "at": c.changed_at} for c in changes]
