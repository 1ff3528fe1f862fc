"""Export one school as a OneRoster 1.1 bulk CSV zip.

Only the files with rows are shipped; the manifest marks each of the 13 data files bulk or
absent. Bulk files leave status and dateLastModified blank. The zip is built with a fixed
timestamp, so the same data gives the same bytes.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pycountry
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from plugins.oneroster import spec
from tracker import csvsafe
from tracker.auth.models import User
from tracker.children.models import Child
from tracker.enrolment.models import Enrolment
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.schools.models import AcademicYear, SchoolClass
from tracker.types import Level

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
LEVEL_TITLES = {Level.primary: "Primary school, grade {grade}", Level.secondary: "Secondary school, grade {grade}"}


def org_sourced_id(scope) -> str:
    """The school's sourcedId: the one its own system uses (a setting), or the school code."""
    return (scope.settings or {}).get("org_sourced_id") or scope.school.code


def _clean(value) -> str:
    """A cell: text without line breaks or other control characters (RFC 4180 as OneRoster allows it)."""
    if value is None:
        return ""
    return CONTROL.sub(" ", str(value))


def to_csv(header: tuple[str, ...], rows: list[dict]) -> bytes:
    """A CSV file; a cell a spreadsheet would run as a formula (a school named "=HYPERLINK(...)") is neutralised."""
    out = io.StringIO(newline="")
    writer = csvsafe.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_clean(row.get(column, "")) for column in header])
    return out.getvalue().encode("utf-8")


def alpha_2(country: str) -> str:
    found = pycountry.countries.get(alpha_3=(country or "").upper())
    return found.alpha_2 if found is not None else ""


def split_name(user: User) -> tuple[str, str]:
    """tracker keeps one name per user: the last word is the family name, the rest the given name."""
    words = (user.name or "").split() or [user.email.split("@")[0]]
    if len(words) == 1:
        return words[0], words[0]
    return " ".join(words[:-1]), words[-1]


def build(scope, params: dict) -> tuple[str, str, bytes]:
    school = scope.school
    org = org_sourced_id(scope)
    query = sa.select(SchoolClass).where(SchoolClass.school_id == school.id).options(
        selectinload(SchoolClass.teachers), selectinload(SchoolClass.year))
    label = (params or {}).get("year")
    if label:
        year = db.session.scalar(sa.select(AcademicYear).where(AcademicYear.label == label))
        if year is None:
            raise OperationError("year", _("No academic year %(label)s.", label=label))
        query = query.where(SchoolClass.year_id == year.id)
    classes = sorted(db.session.scalars(query), key=lambda c: (c.year.first_day, c.level.value, c.grade, c.name, c.id))
    enrolments = []
    if classes:
        enrolments = list(db.session.scalars(
            sa.select(Enrolment).join(Child, Child.id == Enrolment.child_id)
            .where(Enrolment.school_id == school.id, Enrolment.class_id.in_([c.id for c in classes]),
                   Enrolment.end_date.is_(None))
            .options(selectinload(Enrolment.child)).order_by(Child.code)))
    by_class_id = {c.id: c for c in classes}

    files: dict[str, bytes] = {}
    files["orgs"] = to_csv(spec.HEADERS["orgs"], [
        {"sourcedId": org, "name": school.name, "type": "school", "identifier": school.code}])

    years = sorted({c.year for c in classes}, key=lambda y: y.first_day)
    if years:
        files["academicSessions"] = to_csv(spec.HEADERS["academicSessions"], [
            {"sourcedId": spec.year_id(y), "title": y.label, "type": "schoolYear",
             "startDate": y.first_day.isoformat(), "endDate": y.last_day.isoformat(),
             "schoolYear": spec.school_year(y.last_day)} for y in years])

    shapes = sorted({(c.level, c.grade) for c in classes}, key=lambda s: (s[0] != Level.primary, s[1]))
    if shapes:
        files["courses"] = to_csv(spec.HEADERS["courses"], [
            {"sourcedId": spec.course_id(school.code, level, grade),
             "title": LEVEL_TITLES[level].format(grade=grade), "courseCode": f"{level.value}-{grade}",
             "grades": spec.ceds_grade(level, grade), "orgSourcedId": org} for level, grade in shapes])

    if classes:
        files["classes"] = to_csv(spec.HEADERS["classes"], [
            {"sourcedId": spec.class_id(c), "title": c.name, "grades": spec.ceds_grade(c.level, c.grade),
             "courseSourcedId": spec.course_id(school.code, c.level, c.grade), "classCode": c.name,
             "classType": "homeroom", "schoolSourcedId": org, "termSourcedIds": spec.year_id(c.year)}
            for c in classes])

    names = scope.allows("names")
    users: list[dict] = []
    seen_children: set[str] = set()
    for e in enrolments:
        child = e.child
        if child.code in seen_children:  # one open enrolment per child; kept safe all the same
            continue
        seen_children.add(child.code)
        users.append({"sourcedId": child.code, "enabledUser": "true", "orgSourcedIds": org, "role": "student",
                      "username": child.code, "givenName": child.given_name if names else child.code,
                      "familyName": child.family_name if names else child.code, "identifier": child.code,
                      "grades": spec.ceds_grade(e.level, e.grade)})
    teachers: dict[int, User] = {}
    for c in classes:
        for t in c.teachers:
            teachers[t.id] = t
    for t in sorted(teachers.values(), key=lambda u: u.id):
        given, family = split_name(t)
        users.append({"sourcedId": spec.teacher_id(t), "enabledUser": "true" if t.active else "false",
                      "orgSourcedIds": org, "role": "teacher", "username": t.email, "givenName": given,
                      "familyName": family, "email": t.email})
    if users:
        files["users"] = to_csv(spec.HEADERS["users"], users)

    enrollments = [{"sourcedId": spec.student_enrollment_id(e),
                    "classSourcedId": spec.class_id(by_class_id[e.class_id]), "schoolSourcedId": org, "userSourcedId": e.child.code, "role": "student", "primary": "false",
                    "beginDate": e.start_date.isoformat()} for e in enrolments]
    for c in classes:
        for t in sorted(c.teachers, key=lambda u: u.id):
            enrollments.append({"sourcedId": spec.teacher_enrollment_id(c, t), "classSourcedId": spec.class_id(c),
                                "schoolSourcedId": org, "userSourcedId": spec.teacher_id(t), "role": "teacher",
                                "primary": "false"})
    if enrollments:
        files["enrollments"] = to_csv(spec.HEADERS["enrollments"], enrollments)

    allowed = {f for f in ("birth_date", "sex", "country") if scope.allows(f)}
    if allowed and seen_children:
        rows, done = [], set()
        for e in enrolments:
            child = e.child
            if child.code in done:
                continue
            done.add(child.code)
            rows.append({"sourcedId": child.code,
                         "birthDate": child.birth_date.isoformat() if "birth_date" in allowed else "",
                         "sex": child.sex.value if "sex" in allowed else "",
                         "countryOfBirthCode": alpha_2(child.country) if "country" in allowed else ""})
        files["demographics"] = to_csv(spec.HEADERS["demographics"], rows)

    manifest = [("manifest.version", spec.MANIFEST_VERSION), ("oneroster.version", spec.ONEROSTER_VERSION)]
    manifest += [(f"file.{name}", "bulk" if name in files else "absent") for name in spec.DATA_FILES]
    manifest += [("source.systemName", "tracker"), ("source.systemCode", "tracker")]
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in [("manifest", to_csv(spec.MANIFEST_HEADER, [dict(zip(spec.MANIFEST_HEADER, row))
                                                                         for row in manifest])),
                              *sorted(files.items())]:
            info = zipfile.ZipInfo(spec.file_name(name), date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, content)
    filename = f"oneroster-{school.code}-{dt.date.today().isoformat()}.zip"
    return filename, "application/zip", body.getvalue()
