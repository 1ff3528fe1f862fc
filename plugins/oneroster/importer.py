"""Import a OneRoster 1.1 zip into one school: its homeroom classes and its students' enrolments.

Three steps: the reader checks the zip against the binding; the plan matches classes and
students against tracker and decides every change (and counts them); then, unless the run is
a dry run or anything was wrong, the changes are added to the open transaction. The caller
(the core's runner) commits, or rolls back when the result is not ok. Nothing is committed here.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from plugins.oneroster import spec
from plugins.oneroster.reader import Package, Row, read
from tracker import scope as scopes
from tracker.children.models import Child
from tracker.children.names import name_key, to_ascii
from tracker.enrolment.models import Enrolment
from tracker.enrolment.operations import EARLY_START, check_placement, save_batch
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.imports.importer import limits
from tracker.integrations.operations import link_external_ids, save_pending
from tracker.integrations.models import ExternalId, IntegrationPending
from tracker.schools.models import AcademicYear, SchoolClass
from tracker.types import Level

SLUG = "oneroster"
MAX_KEY = 200  # ExternalId.value, IntegrationPending.key
LATEST_START = dt.timedelta(days=31)  # as enrolment.operations: an enrolment starts at most a month ahead
COUNTS = ("classes_created", "classes_unchanged", "classes_skipped",
          "enrolments_created", "enrolments_updated", "enrolments_unchanged", "enrolments_skipped",
          "enrolments_pending", "students_matched", "students_linked", "students_pending", "students_ignored",
          "pending_created", "pending_updated", "pending_unchanged", "pending_resolved")
# How a student was matched, strongest first: when two students match one child, the stronger match wins.
EXTERNAL, CODE, RESOLVED, NAME = range(4)


def system_for(school) -> str:
    """ExternalId.system of a school's OneRoster identifiers (as the core's pending page writes them)."""
    return f"{SLUG}:{school.code}"


@dataclass
class ClassPlan:
    row: Row
    year: AcademicYear
    level: Level
    grade: int
    name: str
    stored: SchoolClass | None
    new: SchoolClass | None = None

    @property
    def school_class(self) -> SchoolClass | None:
        return self.stored or self.new


@dataclass
class Student:
    sourced_id: str
    user: Row
    demographics: Row | None
    classes: list[tuple[Row, ClassPlan]] = field(default_factory=list)
    child: Child | None = None
    method: int | None = None
    candidates: list[str] = field(default_factory=list)
    reason: str = "unmatched"

    @property
    def given(self) -> str:
        return self.user["givenName"].strip()

    @property
    def family(self) -> str:
        return self.user["familyName"].strip()

    @property
    def birth_date(self) -> dt.date | None:
        return spec.parse_date(self.demographics["birthDate"]) if self.demographics else None


class Plan:
    def __init__(self, package: Package, scope, result, today: dt.date):
        self.p = package
        self.scope = scope
        self.school = scope.school
        self.result = result
        self.today = today
        self.system = system_for(self.school)
        self.counts = dict.fromkeys(COUNTS, 0)
        self.classes: dict[str, ClassPlan] = {}       # class sourcedId → plan (homeroom classes imported)
        self.skipped_classes: set[str] = set()
        self.new_classes: list[ClassPlan] = []
        self.links: list[tuple[Child, str]] = []      # ExternalIds to add
        self.updates: list[tuple[Enrolment, ClassPlan]] = []
        self.creates: list[tuple[Child, ClassPlan, dt.date]] = []
        self.pending_writes: list[tuple[IntegrationPending | None, dict]] = []
        self.resolutions: list[tuple[IntegrationPending, str]] = []
        self.pending_keys: list[str] = []

    def error(self, message: str, file: str | None = None, line: int | None = None, column: str | None = None):
        self.result.error(message, file=file, line=line, column=column)

    # Planning.

    def make(self) -> None:
        org = self._org()
        if org is None:
            return
        self.org = org
        self._classes()
        if not self.result.ok:
            return
        students = self._students()
        if not self.result.ok:
            return
        self._load_pending()
        self._match(students)
        self._settle(students)

    def _org(self) -> str | None:
        """The sourcedId of the school's org: the setting, else the org whose sourcedId or identifier is the code."""
        orgs = self.p.rows("orgs")
        wanted = (self.scope.settings or {}).get("org_sourced_id")
        if wanted:
            row = self.p.get("orgs", wanted)
            if row is None or row["type"] != "school":
                self.error(_("No school in orgs.csv has the sourcedId “%(id)s” (the school's sourcedId in the "
                             "settings of this integration).", id=wanted), file="orgs.csv", column="sourcedId")
                return None
            return wanted
        code = self.school.code
        by_id = [r for r in orgs if r["type"] == "school" and r["sourcedId"] == code]
        if by_id:
            return code
        by_identifier = [r for r in orgs if r["type"] == "school" and r["identifier"] == code]
        if len(by_identifier) == 1:
            return by_identifier[0]["sourcedId"]
        if by_identifier:
            self.error(_("Several schools in orgs.csv have the identifier %(code)s (lines %(lines)s).", code=code,
                         lines=", ".join(str(r.line) for r in by_identifier)), file="orgs.csv", column="identifier")
        else:
            self.error(_("No school in orgs.csv has the sourcedId or the identifier %(code)s, the code of %(school)s. "
                         "Export the roster of this school, or an administrator enters the school's sourcedId in "
                         "the settings of this integration.", code=code, school=self.school.name),
                       file="orgs.csv", column="identifier")
        return None

    def _year(self, row: Row) -> tuple[AcademicYear | None, bool]:
        """The tracker year of a class's terms, and whether that school year has ended; None after an error."""
        terms = [self.p.get("academicSessions", t) for t in row.list("termSourcedIds")]
        if not terms:
            self.error(_("Required."), file="classes.csv", line=row.line, column="termSourcedIds")
            return None, False
        starts = [spec.parse_date(t["startDate"]) for t in terms]
        ends = [spec.parse_date(t["endDate"]) for t in terms]
        first, last = min(starts), max(ends)
        middle = first + (last - first) / 2
        year = next((y for y in self.years if y.first_day <= middle <= y.last_day), None)
        if year is None:
            if last < self.today:
                return None, True
            self.error(_("tracker has no academic year for the terms of this class (%(a)s to %(b)s, school year "
                         "%(y)s). An administrator adds the academic year first.", a=first.isoformat(),
                         b=last.isoformat(), y=", ".join(sorted({t["schoolYear"] for t in terms}))),
                       file="classes.csv", line=row.line, column="termSourcedIds")
            return None, False
        return year, year.last_day < self.today

    def _shape(self, row: Row) -> tuple[Level, int] | None:
        grades = row.list("grades")
        where = None
        if not grades:
            course = self.p.get("courses", row["courseSourcedId"])
            grades, where = course.list("grades"), course
        if len(set(grades)) != 1:
            if where is not None:
                message = _("A tracker class has one grade; give it in grades here or in the course (courses.csv "
                            "line %(n)d has “%(grades)s”).", n=where.line, grades=",".join(grades))
            else:
                message = _("A tracker class has one grade; this class has %(grades)s.", grades=",".join(grades))
            self.error(message, file="classes.csv", line=row.line, column="grades")
            return None
        shape = spec.tracker_grade(grades[0])
        if shape is None:
            self.error(_("tracker records grades 01 to 08 (primary school) and 09 to 12 (secondary school, grades 1 "
                         "to 4); “%(grade)s” is not one of them.", grade=grades[0]),
                       file="classes.csv", line=row.line, column="grades")
            return None
        if not self.school.offers(shape[0]):
            self.error(_("%(school)s does not offer this level (grade %(grade)s is %(level)s school).",
                         school=self.school.name, grade=grades[0],
                         level=_("primary") if shape[0] == Level.primary else _("secondary")),
                       file="classes.csv", line=row.line, column="grades")
            return None
        return shape

    def _classes(self) -> None:
        self.years = list(db.session.scalars(sa.select(AcademicYear).order_by(AcademicYear.first_day)))
        stored = {(c.year_id, c.name): c for c in db.session.scalars(
            sa.select(SchoolClass).where(SchoolClass.school_id == self.school.id))}
        seen: dict[tuple[int, str], int] = {}
        for row in self.p.rows("classes"):
            if row["schoolSourcedId"] != self.org:
                self.error(_("This class belongs to the org “%(org)s”, not to %(school)s (“%(id)s”). Import one "
                             "school's roster at a time.", org=row["schoolSourcedId"], school=self.school.name,
                             id=self.org), file="classes.csv", line=row.line, column="schoolSourcedId")
                continue
            if row["classType"] != "homeroom":
                self.skipped_classes.add(row["sourcedId"])  # subject classes: tracker keeps homeroom classes
                self.counts["classes_skipped"] += 1
                continue
            year, ended = self._year(row)
            if ended:
                self.skipped_classes.add(row["sourcedId"])  # a past school year: history, not imported
                self.counts["classes_skipped"] += 1
                continue
            shape = self._shape(row)
            name = row["title"].strip()
            if not name:
                self.error(_("Required."), file="classes.csv", line=row.line, column="title")
                continue
            if len(name) > 50:
                self.error(_("At most %(n)d characters.", n=50), file="classes.csv", line=row.line, column="title")
                continue
            if year is None or shape is None:
                continue
            key = (year.id, name)
            if key in seen:
                self.error(_("Line %(n)d has a class with the same title in the same school year.", n=seen[key]),
                           file="classes.csv", line=row.line, column="title")
                continue
            seen[key] = row.line
            known = stored.get(key)
            if known is not None and (known.level, known.grade) != shape:
                self.error(_("In tracker, class %(name)s of %(year)s is %(level)s grade %(grade)d; an import does "
                             "not change a class's grade.", name=name, year=year.label,
                             level=_("primary") if known.level == Level.primary else _("secondary"),
                             grade=known.grade), file="classes.csv", line=row.line, column="grades")
                continue
            plan = ClassPlan(row, year, shape[0], shape[1], name, known)
            self.classes[row["sourcedId"]] = plan
            if known is None:
                self.new_classes.append(plan)
                self.counts["classes_created"] += 1
            else:
                self.counts["classes_unchanged"] += 1

    def _students(self) -> list[Student]:
        students: dict[str, Student] = {}
        for row in self.p.rows("enrollments"):
            if row["schoolSourcedId"] != self.org:
                self.error(_("This enrolment belongs to the org “%(org)s”, not to %(school)s (“%(id)s”).",
                             org=row["schoolSourcedId"], school=self.school.name, id=self.org),
                           file="enrollments.csv", line=row.line, column="schoolSourcedId")
                continue
            if row["role"] != "student":
                continue  # teachers: tracker's class assignments are made by administrators
            if row["classSourcedId"] in self.skipped_classes:
                self.counts["enrolments_skipped"] += 1
                continue
            plan = self.classes.get(row["classSourcedId"])
            if plan is None:
                continue  # a class refused above (already reported)
            end = spec.parse_date(row["endDate"])
            if end is not None and end < self.today:
                self.counts["enrolments_skipped"] += 1  # ended: tracker records exits with their reason
                continue
            sid = row["userSourcedId"]
            if len(sid) > MAX_KEY:
                self.error(_("tracker keeps identifiers of at most %(n)d characters.", n=MAX_KEY),
                           file="enrollments.csv", line=row.line, column="userSourcedId")
                continue
            student = students.get(sid)
            if student is None:
                student = students[sid] = Student(sid, self.p.get("users", sid), self.p.get("demographics", sid))
            student.classes.append((row, plan))
        return [students[sid] for sid in sorted(students)]

    def _load_pending(self) -> None:
        self.pending = {(p.kind, p.key): p for p in db.session.scalars(sa.select(IntegrationPending).where(
            IntegrationPending.school_id == self.school.id, IntegrationPending.slug == SLUG))}

    def _visible(self, query):
        """Children the importing user may see (the command line, user None: every child)."""
        if self.scope.user is not None:
            query = query.where(Child.id.in_(scopes.child_ids(self.scope.user)))
        return query.options(selectinload(Child.enrolments))

    def _match(self, students: list[Student]) -> None:
        sids = [s.sourced_id for s in students]
        external: dict[str, int] = {}
        for part in _chunks(sids):
            external.update(db.session.execute(sa.select(ExternalId.value, ExternalId.child_id).where(
                ExternalId.system == self.system, ExternalId.value.in_(part))).all())
        resolved_codes = {}
        for s in students:
            row = self.pending.get(("student", s.sourced_id))
            if row is not None and row.resolved_at is not None and ":" in row.resolution:
                resolved_codes[s.sourced_id] = row.resolution.split(":", 1)[1]
        codes = sorted({sid.upper() for sid in sids} | set(resolved_codes.values()))
        births = sorted({s.birth_date for s in students if s.birth_date is not None})
        children: dict[int, Child] = {}
        for part in _chunks(sorted(set(external.values()))):
            children.update((c.id, c) for c in db.session.scalars(self._visible(sa.select(Child).where(
                Child.id.in_(part)))))
        for part in _chunks(codes):
            children.update((c.id, c) for c in db.session.scalars(self._visible(sa.select(Child).where(
                Child.code.in_(part)))))
        for part in _chunks(births):
            children.update((c.id, c) for c in db.session.scalars(self._visible(sa.select(Child).where(
                Child.birth_date.in_(part)))))
        by_code = {c.code: c for c in children.values()}
        by_birth: dict[dt.date, list[Child]] = {}
        for c in children.values():
            by_birth.setdefault(c.birth_date, []).append(c)
        linked: dict[int, set[str]] = {}  # child id → its OneRoster sourcedIds at this school
        for part in _chunks(sorted(children)):
            for child_id, value in db.session.execute(sa.select(ExternalId.child_id, ExternalId.value).where(
                    ExternalId.system == self.system, ExternalId.child_id.in_(part))):
                linked.setdefault(child_id, set()).add(value)

        for s in students:
            child = children.get(external.get(s.sourced_id))
            if child is not None:
                s.child, s.method = child, EXTERNAL
                continue
            child = by_code.get(s.sourced_id.upper())
            if child is not None:
                s.child, s.method = child, CODE
                continue
            child = by_code.get(resolved_codes.get(s.sourced_id))
            if child is not None:
                s.child, s.method = child, RESOLVED  # a person matched it; the identifier link had gone
                continue
            if s.birth_date is None:
                continue
            key = name_key(s.given, s.family)
            if not key:
                continue
            found = [c for c in by_birth.get(s.birth_date, [])
                     if not linked.get(c.id, set()) - {s.sourced_id}
                     and key in {name_key(c.given_name, c.family_name), to_ascii(c.name_original or "")}]
            if len(found) == 1:
                s.child, s.method = found[0], NAME
            elif found:
                s.reason, s.candidates = "ambiguous", sorted(c.code for c in found)

        # Two students of the file must never become one child: the strongest match keeps it.
        claims: dict[int, list[Student]] = {}
        for s in students:
            if s.child is not None:
                claims.setdefault(s.child.id, []).append(s)
        for group in claims.values():
            if len(group) < 2:
                continue
            best = min(s.method for s in group)
            keep = [s for s in group if s.method == best]
            for s in group:
                if len(keep) > 1 or s is not keep[0]:
                    s.reason, s.candidates = "ambiguous", [s.child.code]
                    s.child, s.method = None, None

    def _settle(self, students: list[Student]) -> None:
        for s in students:
            if s.child is None:
                self._unmatched(s)
                continue
            self.counts["students_matched"] += 1
            if s.method in (NAME, RESOLVED):
                self.links.append((s.child, s.sourced_id))
                self.counts["students_linked"] += 1
            self._resolve(("student", s.sourced_id), f"matched:{s.child.code}")
            self._enrol(s)

    def _unmatched(self, s: Student) -> None:
        stored = self.pending.get(("student", s.sourced_id))
        if stored is not None and stored.resolved_at is not None and stored.resolution == "ignored":
            self.counts["students_ignored"] += 1
            return
        plans = _distinct(p for _row, p in s.classes)
        data = {"given_name": s.given, "family_name": s.family,
                "birth_date": s.birth_date.isoformat() if s.birth_date else "",
                "sex": s.demographics["sex"] if s.demographics else "",
                "identifier": s.user["identifier"].strip(),
                "class": ", ".join(p.name for p in plans),
                "academic_year": ", ".join(sorted({p.year.label for p in plans}))}
        self.counts["students_pending"] += 1
        self._pend("student", s.sourced_id, s.reason, data, s.candidates)

    def _enrol(self, s: Student) -> None:
        child = s.child
        plans = _distinct(p for _row, p in s.classes)
        if len(plans) > 1:
            current = [p for p in plans if p.year.first_day <= self.today <= p.year.last_day]
            plans = current if len(current) == 1 else plans
        if len(plans) > 1:
            return self._conflict(s, plans, _("The school system has %(code)s in several classes (%(classes)s); a "
                                              "child is in one class in tracker.", code=child.code,
                                              classes=", ".join(p.name for p in plans)))
        plan = plans[0]
        begin = next((spec.parse_date(row["beginDate"]) for row, p in s.classes if p is plan and row["beginDate"]),
                     None)
        current = child.open_enrolment
        if current is not None:
            if (current.school_id, current.year_id, current.level, current.grade) == (
                    self.school.id, plan.year.id, plan.level, plan.grade):
                if plan.stored is not None and current.class_id == plan.stored.id:
                    self.counts["enrolments_unchanged"] += 1
                else:
                    self.updates.append((current, plan))
                    self.counts["enrolments_updated"] += 1
                return self._resolve(("enrolment", s.sourced_id), f"enrolled:{child.code}")
            return self._conflict(s, [plan], _(
                "%(code)s is enrolled at %(school)s in %(year)s (%(level)s, grade %(grade)d) since %(d)s. Record an "
                "exit or a transfer on the child's page; the next import then enrols them in %(class)s.",
                code=child.code, school=current.school.name, year=current.year.label,
                level=_("primary") if current.level == Level.primary else _("secondary"), grade=current.grade,
                d=current.start_date.isoformat(), **{"class": plan.name}))
        start = begin
        if start is None or start < plan.year.first_day - EARLY_START:
            # No beginDate: from the first day of the year, or from today when the year has begun. A beginDate
            # long before the class's year (the day the student first came to the school): its first day.
            start = plan.year.first_day if start is not None else max(plan.year.first_day,
                                                                      min(self.today, plan.year.last_day))
            last_end = max((e.end_date for e in child.enrolments if e.end_date), default=None)
            if last_end is not None and start <= last_end:
                start = last_end + dt.timedelta(days=1)
        if start > self.today + LATEST_START:
            self.counts["enrolments_skipped"] += 1  # not yet: imported within a month of its start
            return
        try:
            year = check_placement(child, self.school, plan.level, plan.grade, None, start)
        except OperationError as exc:
            return self._conflict(s, [plan], exc.message)
        if year.id != plan.year.id:
            return self._conflict(s, [plan], _("The enrolment would start on %(d)s, which is not in %(year)s, the "
                                               "school year of class %(class)s.", d=start.isoformat(),
                                               year=plan.year.label, **{"class": plan.name}))
        self.creates.append((child, plan, start))
        self.counts["enrolments_created"] += 1
        self._resolve(("enrolment", s.sourced_id), f"enrolled:{child.code}")

    def _conflict(self, s: Student, plans: list[ClassPlan], message: str) -> None:
        stored = self.pending.get(("enrolment", s.sourced_id))
        if stored is not None and stored.resolved_at is not None and stored.resolution == "ignored":
            self.counts["enrolments_skipped"] += 1
            return
        data = {"child_code": s.child.code, "class": ", ".join(p.name for p in plans),
                "academic_year": ", ".join(sorted({p.year.label for p in plans})), "message": message}
        self.counts["enrolments_pending"] += 1
        self._pend("enrolment", s.sourced_id, "conflict", data, [s.child.code])

    def _pend(self, kind: str, key: str, reason: str, data: dict, candidates: list[str]) -> None:
        stored = self.pending.get((kind, key))
        values = {"reason": reason, "data": data, "candidates": list(candidates)}
        self.pending_keys.append(key)
        if stored is None:
            self.pending_writes.append((None, {"kind": kind, "key": key, **values}))
            self.counts["pending_created"] += 1
        elif stored.resolved_at is None and (stored.reason, stored.data, list(stored.candidates or [])) == (
                reason, data, values["candidates"]):
            self.counts["pending_unchanged"] += 1
        else:
            self.pending_writes.append((stored, values))
            self.counts["pending_updated"] += 1

    def _resolve(self, key: tuple[str, str], resolution: str) -> None:
        stored = self.pending.get(key)
        if stored is not None and stored.resolved_at is None:
            self.resolutions.append((stored, resolution))
            self.counts["pending_resolved"] += 1

    # Writing, in the caller's transaction.

    def write(self) -> list[int]:
        """Through the core's operations: enrolments and classes by ``save_batch``, as the enrolments import."""
        user = self.scope.user
        key = lambda plan: (self.school.id, plan.year.id, plan.name)  # noqa: E731
        new_classes = {key(plan): (plan.level.value, plan.grade) for plan in self.new_classes}
        class_ids = {key(plan): plan.stored.id for plan in (*[p for _e, p in self.updates],
                                                          *[p for _c, p, _s in self.creates]) if plan.stored}
        link_external_ids(self.system, self.links, user=user)
        updates = [(enrolment.id, {"class_key": key(plan)}) for enrolment, plan in self.updates]
        creates = [{"child_id": child.id, "school_id": self.school.id, "year_id": plan.year.id,
                    "level": plan.level.value, "grade": plan.grade, "class_key": key(plan), "start_date": start,
                    "end_date": None, "exit_reason": None} for child, plan, start in self.creates]
        created, _closed = save_batch(creates, updates, new_classes=new_classes, class_ids=class_ids, user=user)
        save_pending(self.school, SLUG, self.pending_writes, self.resolutions, user=user)
        return created


def _distinct(plans) -> list[ClassPlan]:
    out: list[ClassPlan] = []
    for p in plans:
        if all(p is not q for q in out):
            out.append(p)
    return out


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def import_zip(data: bytes, scope, result, *, today: dt.date | None = None) -> None:
    """Check, plan and (unless a dry run or anything is wrong) write; fills ``result``."""
    max_bytes, max_rows = limits()
    package = read(data, result, max_bytes=max_bytes, max_rows=max_rows)
    if package is None:
        return
    plan = Plan(package, scope, result, today or dt.date.today())
    plan.make()
    if not result.ok:
        return
    result.counts = dict(plan.counts)
    result.pending = list(plan.pending_keys)
    if result.dry_run:
        return
    try:
        plan.write()
    except sa.exc.DBAPIError:
        db.session.rollback()
        result.counts = {}
        result.error(_("The data changed while importing, or the database was busy; nothing was saved. Try again."))
        return
