"""Build the demo population: centres, schools, two academic years, children and their registers.

Everything comes from ``random.Random`` instances seeded from ``seed``: the same seed gives the
same children (codes, names, birth dates, countries, languages) in any database. The children's
lives are simulated up to "today" (at the latest the last day of 2026/27): arrivals are spread
from a year before 2025/26 until a few days ago, nothing happens after today, and registers are
kept up to today. So on a given day the same seed gives identical data, and from 2027-06-18 on
identical data on every day.

The plan is made in Python first, then written with bulk inserts in one transaction.
"""
from __future__ import annotations

import bisect
import datetime as dt
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import click
import sqlalchemy as sa
from flask import current_app

from tracker import audit
from tracker.attendance.models import AttendanceMonth, AttendanceRecord
from tracker.auth.models import User
from tracker.children.models import CentreStay, Child, Guardian, UascPeriod
from tracker.dates import years_before
from tracker.demo import names
from tracker.demo.names import CENTRES, SCHOOLS, SOCIAL_WORK
from tracker.demo.calendar import YEARS, non_school_days, school_specific_days
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.schools.models import AcademicYear, Centre, NonSchoolDay, School, SchoolClass

DAY = dt.timedelta(days=1)
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
DOMAIN = "demo.tracker"
SIGN_IN_URL = "http://127.0.0.1:5000"
BATCH = 10_000

LIAISON_MUNICIPALITIES = ("Šid",)
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
USERS = [  # role, display name
    ("admin", "Demo administrator"),
    ("liaison", "Marija Jovanović"),
    ("teacher", "Nenad Petrović"),
    ("partner", "Demo partner organisation"),
]
# Absence reasons: weight, chance the absence is excused.
REASONS = [("illness", 40, 0.8), ("appointment", 10, 0.9), ("asylum_procedure", 10, 0.9), ("no_transport", 10, 0.3),
           ("work", 5, 0.0), ("unknown", 25, 0.05)]


def email(role: str) -> str:
    return f"{role}@{DOMAIN}"


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# --------------------------------------------------------------------------------------------
# The plan: plain Python objects, indices into SCHOOLS, CENTRES, YEARS and Plan.classes.


@dataclass
class EnrolmentPlan:
    school: int
    year: int
    level: str
    grade: int
    cls: int
    start: dt.date
    end: dt.date | None = None
    reason: str | None = None
    silent: int = 0  # school days absent without word before the end (before today when open)
    moving: bool = False  # the last days were spent moving to another centre


@dataclass
class ChildPlan:
    index: int
    code: str
    given: str
    family: str
    original: str
    sex: str
    age: int  # at arrival
    birth_offset: int  # days before the birthday-at-arrival
    estimated: bool
    country: str
    language: str
    uasc: str | None  # unaccompanied | separated | None (accompanied)
    position: float  # where the arrival falls in the arrival window
    stock: bool  # arrived before 2025/26
    legal_basis: str
    asylum_seeker: bool
    arrival: dt.date = dt.date.min
    birth: dt.date = dt.date.min
    asylum_number: str | None = None
    stays: list = field(default_factory=list)  # (centre, start, end)
    uasc_periods: list = field(default_factory=list)  # (status, start, end)
    guardians: list = field(default_factory=list)  # (name, organisation, start, end)
    enrolments: list[EnrolmentPlan] = field(default_factory=list)
    absence: float = 0.05
    registered_at: dt.datetime = dt.datetime.min


@dataclass
class Plan:
    seed: int
    today: dt.date
    as_of: dt.date
    children: list[ChildPlan]
    classes: list[tuple[int, int, str, int, str]]  # school, year, level, grade, name
    class_index: dict[tuple[int, int, str, int], list[int]]
    closed: list[dict[dt.date, str]]  # per year: days off in every school
    school_closed: list[tuple[int, int, dt.date, str]]  # school, year, date, description
    school_days: dict[tuple[int, int], list[dt.date]]
    liaison_schools: list[int] = field(default_factory=list)
    teacher_classes: list[int] = field(default_factory=list)


def _rng(seed: int, *parts) -> random.Random:
    """An independent stream per purpose (and per child), so one part's draws never shift another's."""
    return random.Random(":".join(str(p) for p in ("tracker-demo", seed, *parts)))


def _choose(rng: random.Random, weighted: list[tuple]) -> tuple:
    return rng.choices(weighted, weights=[w[1] for w in weighted])[0]


class Planner:
    def __init__(self, n: int, seed: int, today: dt.date):
        self.n, self.seed, self.today = n, seed, today
        first, last = YEARS[0].first_day, YEARS[-1].last_day
        # Lives are simulated up to as_of; a demo built before 2025/26 still gets a term's worth.
        self.as_of = min(max(today, first + dt.timedelta(days=60)), last)
        self.closed = [non_school_days(y) for y in YEARS]
        self.all_closed = set().union(*self.closed)
        index = {code: si for si, (code, *_rest) in enumerate(SCHOOLS)}
        school_keys = [(code, mun) for code, _n, mun, _l in SCHOOLS]
        self.school_closed = [(index[code], yi, d, why)
                              for yi, y in enumerate(YEARS) for code, d, why in school_specific_days(y, school_keys)]
        self.school_days: dict[tuple[int, int], list[dt.date]] = {}
        own = defaultdict(set)
        for si, yi, d, _why in self.school_closed:
            own[(si, yi)].add(d)
        for yi, y in enumerate(YEARS):
            weekdays = [y.first_day + i * DAY for i in range((y.last_day - y.first_day).days + 1)]
            weekdays = [d for d in weekdays if d.weekday() < 5 and d not in self.closed[yi]]
            for si in range(len(SCHOOLS)):
                self.school_days[(si, yi)] = [d for d in weekdays if d not in own[(si, yi)]]
        self.by_municipality: dict[tuple[str, str], list[int]] = defaultdict(list)
        for si, (_c, _n, mun, (primary, secondary)) in enumerate(SCHOOLS):
            if primary:
                self.by_municipality[(mun, "primary")].append(si)
            if secondary:
                self.by_municipality[(mun, "secondary")].append(si)
        self.classes: list[tuple[int, int, str, int, str]] = []
        self.class_index: dict[tuple[int, int, str, int], list[int]] = {}
        for yi in range(len(YEARS)):
            for si, (_c, _n, mun, (primary, secondary)) in enumerate(SCHOOLS):
                nearest = self.by_municipality[(mun, "primary")][:1] == [si]
                for level, grades, sections in (("primary", range(1, 9), 3 if nearest else 2),
                                                ("secondary", range(1, 5), 2)):
                    if not (primary if level == "primary" else secondary):
                        continue
                    for grade in grades:
                        label = str(grade) if level == "primary" else ROMAN[grade]
                        for section in range(1, sections + 1):
                            self.class_index.setdefault((si, yi, level, grade), []).append(len(self.classes))
                            self.classes.append((si, yi, level, grade, f"{label}-{section}"))

    # -- calendar helpers --------------------------------------------------------------------

    def school_day_on_or_after(self, day: dt.date) -> dt.date:
        while day.weekday() >= 5 or day in self.all_closed:
            day += DAY
        return day

    def term_for(self, day: dt.date, late_ok: bool) -> tuple[int | None, dt.date]:
        """The year an enrolment starting on ``day`` belongs to, and the start moved into it.

        A start in the summer moves to the next first day; so does one in the last three weeks
        of a year unless ``late_ok`` (a transfer keeps its date).
        """
        for yi, y in enumerate(YEARS):
            if day > y.last_day:
                continue
            if day < y.first_day:
                return yi, y.first_day
            if late_ok or day <= y.last_day - dt.timedelta(days=21):
                return yi, day
        for yi, y in enumerate(YEARS):  # too late in a year: the next one, if any
            if y.first_day > day:
                return yi, y.first_day
        return None, day

    # -- the children ------------------------------------------------------------------------

    def plan(self) -> Plan:
        rng = _rng(self.seed, "identity")
        codes: set[str] = set()
        children = []
        for i in range(self.n):
            children.append(self._identity(i, rng, codes))
        first = YEARS[0].first_day
        stock_from, stock_to = first - dt.timedelta(days=365), first - DAY
        new_to = max(self.as_of - dt.timedelta(days=3), first + DAY)
        for c in children:
            lo, hi = (stock_from, stock_to) if c.stock else (first, new_to)
            c.arrival = lo + dt.timedelta(days=int(c.position * ((hi - lo).days + 1)))
            c.birth = years_before(c.arrival, c.age) - dt.timedelta(days=c.birth_offset)
            if c.estimated:  # an estimated birth date is recorded as 1 January
                c.birth = dt.date(c.birth.year, 1, 1)
            self._life(c, _rng(self.seed, "life", c.index))
        plan = Plan(self.seed, self.today, self.as_of, children, self.classes, self.class_index, self.closed,
                    self.school_closed, self.school_days)
        self._staff(plan)
        return plan

    def _identity(self, i: int, rng: random.Random, codes: set[str]) -> ChildPlan:
        code = ""
        while not code or code in codes:
            code = "C-" + "".join(rng.choice(CODE_ALPHABET) for _ in range(6))
        codes.add(code)
        uasc = None
        if rng.random() < 0.15:
            sex = "male" if rng.random() < 0.9 else "female"
            age = rng.choices([12, 13, 14, 15, 16, 17], weights=[4, 6, 15, 25, 33, 17])[0]
            uasc = "unaccompanied" if rng.random() < 0.65 else "separated"
        else:
            sex = "female" if rng.random() < 0.375 else "male"
            age = rng.choices(range(6, 18), weights=[9, 10, 10, 10, 9, 9, 9, 8, 8, 7, 6, 5])[0]
        country, _w, languages, group = _choose(rng, names.COUNTRIES)
        language = _choose(rng, languages)[0]
        group = names.LANGUAGE_GROUP.get(language, group)
        pool = names.GROUPS[group]
        given, given_original = rng.choice(pool[sex])
        family, family_original = rng.choice(pool["family"])
        with_original = rng.random() < (0.3 if language == "kmr" else 0.8)
        original = f"{given_original} {family_original}" if with_original and given_original and family_original else ""
        return ChildPlan(
            index=i, code=code, given=given, family=family, original=original, sex=sex, age=age,
            birth_offset=rng.randint(0, 364), estimated=rng.random() < 0.2, country=country, language=language,
            uasc=uasc, position=rng.random(), stock=rng.random() < 0.3,
            legal_basis=rng.choices(["public_task", "legal_obligation", "consent"], weights=[85, 10, 5])[0],
            asylum_seeker=rng.random() < 0.4,
        )

    def _stay_length(self, r: random.Random) -> int:
        x = r.random()
        if x < 0.25:
            return r.randint(20, 120)
        if x < 0.70:
            return r.randint(150, 450)
        return r.randint(450, 900)

    def _life(self, c: ChildPlan, r: random.Random) -> None:
        as_of = self.as_of
        c.registered_at = dt.datetime.combine(min(c.arrival + dt.timedelta(days=r.randint(1, 10)), self.today),
                                              dt.time(9, r.randint(0, 59)))
        # The chance of a new absence; an absence goes on the next day with chance 0.45, so the share of
        # days absent is about 1.8 times this: 4-9 % for most, 22-30 % for the chronically absent.
        c.absence = r.uniform(0.12, 0.17) if r.random() < (0.2 if c.uasc else 0.12) else r.uniform(0.02, 0.05)
        # Episodes in Serbia: a child who moved onward sometimes comes back (pushed back at a border).
        episodes: list[tuple[dt.date, dt.date | None, str | None]] = []
        start = c.arrival
        while len(episodes) < 3:
            length = self._stay_length(r)
            if c.stock and not episodes:
                length = max(length, (YEARS[0].first_day - start).days + r.randint(20, 240))
            end = start + dt.timedelta(days=length)
            if end >= as_of:
                episodes.append((start, None, None))
                break
            how = "returned_to_origin" if r.random() < 0.04 else "moved_onward"
            episodes.append((start, end, how))
            back = end + dt.timedelta(days=r.randint(15, 150))
            if how != "moved_onward" or r.random() >= 0.12 or back >= as_of - dt.timedelta(days=3):
                break
            start = back
        centre = None
        for ep_start, ep_end, how in episodes:
            segments = self._stays(r, ep_start, ep_end, centre)
            centre = segments[-1][0]
            c.stays += segments
            self._uasc(c, r, ep_start, ep_end, segments)
            self._schooling(c, r, ep_start, ep_end, how, segments)
        if c.asylum_seeker and any(CENTRES[s[0]][2] == "asylum" for s in c.stays):
            c.asylum_number = f"26-{r.randint(100, 9999)}/{str(c.arrival.year)[2:]}"

    def _stays(self, r, start, end, previous) -> list[tuple[int, dt.date, dt.date | None]]:
        weighted = [(i, w) for i, (*_x, w) in enumerate(CENTRES)]
        centre = _choose(r, weighted)[0] if previous is None or r.random() < 0.5 else previous
        last = end or self.as_of - DAY
        moves = r.choices([0, 1, 2], weights=[75, 20, 5])[0]
        span = (last - start).days - 21
        days = sorted({r.randint(14, 14 + span) for _ in range(moves)}) if span > 30 else []
        segments = []
        for d in days:
            move = start + dt.timedelta(days=d)
            if segments and move <= segments[-1][2] + DAY:
                continue
            seg_start = segments[-1][2] + DAY if segments else start
            segments.append((centre, seg_start, move))
            centre = _choose(r, [(i, w) for i, w in weighted if i != centre])[0]
        segments.append((centre, segments[-1][2] + DAY if segments else start, end))
        return segments

    def _uasc(self, c: ChildPlan, r, start, end, segments) -> None:
        if c.uasc is None:
            if not c.uasc_periods:
                c.uasc_periods.append(("accompanied", c.arrival, None))
            return
        adult = years_before(c.birth, -18)
        if start >= adult:
            return
        stop = adult - DAY if adult <= self.as_of else None
        if end is not None and (stop is None or end < stop):
            stop = end
        status = c.uasc
        if status == "separated" and r.random() < 0.1:  # reunited with family later on
            last = stop or self.as_of
            if (last - start).days > 40:
                met = start + dt.timedelta(days=r.randint(20, (last - start).days - 10))
                c.uasc_periods.append(("separated", start, met - DAY))
                self._guardians(c, r, start, met - DAY, segments)
                c.uasc_periods.append(("accompanied", met, stop))
                return
        c.uasc_periods.append((status, start, stop))
        self._guardians(c, r, start, stop, segments)

    def _guardians(self, c: ChildPlan, r, start, stop, segments) -> None:
        """One guardian per municipality the child lives in while UASC (the local social work centre appoints)."""
        runs: list[list] = []
        for centre, s, e in segments:
            mun = CENTRES[centre][3]
            if runs and runs[-1][0] == mun:
                runs[-1][2] = e
            else:
                runs.append([mun, s, e])
        for mun, s, e in runs:
            s = max(s, start)
            e = e if stop is None else (stop if e is None else min(e, stop))
            if e is not None and e < s:
                continue
            room = ((e or self.as_of) - s).days
            s += dt.timedelta(days=min(r.randint(0, 7), max(room, 0)))
            c.guardians.append((names.guardian_name(r, mun), SOCIAL_WORK[mun], s, e))

    def _placement(self, r, age: int) -> tuple[str, int]:
        lag = 0 if age <= 8 else r.choices([0, 1, 2], weights=[45, 35, 20])[0]  # older children often go lower
        target = age - 6 - lag
        if target <= 8:
            return "primary", max(1, target)
        return "secondary", min(4, target - 8)

    def _school(self, r, municipality: str, level: str, other_than: int | None = None) -> int | None:
        options = [s for s in self.by_municipality[(municipality, level)] if s != other_than]
        if not options:
            return None
        return r.choices(options, weights=[3, 2][:len(options)] + [1] * max(0, len(options) - 2))[0]

    def _schooling(self, c: ChildPlan, r, ep_start, ep_end, how, segments) -> None:
        age = age_on(c.birth, ep_start)
        chance = 0.88 if age <= 14 else 0.6 if age <= 17 else 0.0
        if c.uasc:
            chance *= 0.75
        if r.random() >= chance:
            return
        limit = min(ep_end or self.as_of, self.as_of)
        t = ep_start + dt.timedelta(days=r.randint(5, 40))
        level = grade = school = None
        transfer = False
        while True:
            yi, t = self.term_for(t, late_ok=transfer)
            if yi is None:
                return
            if not transfer:
                t = self.school_day_on_or_after(t)
            if t > limit:
                return
            seg = next(s for s in segments if s[1] <= t and (s[2] is None or t <= s[2]))
            mun = CENTRES[seg[0]][3]
            if level is None:
                level, grade = self._placement(r, age_on(c.birth, YEARS[yi].first_day))
            if school is None or SCHOOLS[school][2] != mun or not SCHOOLS[school][3][level == "secondary"]:
                school = self._school(r, mun, level)
            year = YEARS[yi]
            e = EnrolmentPlan(school, yi, level, grade, r.choice(self.class_index[(school, yi, level, grade)]), t)
            events = [(year.last_day, "completed")]
            if ep_end is not None:
                events.append((ep_end, how))
            if seg[2] is not None:  # a move to a centre in another municipality means another school
                later = [s for s in segments if s[1] > t and CENTRES[s[0]][3] != mun]
                if later:
                    move_end = later[0][1] - DAY
                    events.append((move_end, "transferred"))
            dropout = 0.08 + (0.08 if age_on(c.birth, t) >= 15 else 0) + (0.05 if c.uasc else 0)
            if r.random() < dropout:
                events.append((t + dt.timedelta(days=r.randint(20, 150)), "dropped_out"))
            change_school = r.random() < 0.03 and len(self.by_municipality[(mun, level)]) > 1
            if change_school:
                events.append((t + dt.timedelta(days=r.randint(20, 150)), "changed_school"))
            # A transfer needs its next day: one that would fall after today has not happened yet.
            events = [(d, w) for d, w in events if w not in ("transferred", "changed_school") or d + DAY <= limit]
            when, what = min(events)  # every event falls on or after the start
            if when > self.as_of:  # nothing has ended it yet
                if r.random() < 0.04:
                    e.silent = r.randint(3, 12)
                c.enrolments.append(e)
                return
            e.end = when
            e.reason = "transferred" if what == "changed_school" else what
            if what in ("moved_onward", "returned_to_origin") and r.random() < 0.5:
                e.silent = r.randint(4, 15)
            elif what == "dropped_out" and r.random() < 0.8:
                e.silent = r.randint(8, 25)
            elif what == "transferred":
                e.moving = r.random() < 0.6
            c.enrolments.append(e)
            transfer = what in ("transferred", "changed_school")
            if what == "completed":
                if r.random() < 0.05:  # did not come back after the summer
                    return
                if level == "primary" and grade == 8:
                    if r.random() >= 0.55 or age_on(c.birth, when) >= 18:
                        return
                    level, grade, school = "secondary", 1, None
                elif level == "secondary" and grade == 4:
                    return
                else:
                    grade += 1
                t = when + DAY
            elif what == "transferred":
                t, school = when + DAY, None
            elif what == "changed_school":
                t = when + DAY
                school = self._school(r, mun, level, other_than=school)
            else:  # moved onward, returned, dropped out
                return

    # -- staff -------------------------------------------------------------------------------

    def _staff(self, plan: Plan) -> None:
        plan.liaison_schools = [si for si, s in enumerate(SCHOOLS) if s[2] in LIAISON_MUNICIPALITIES]
        current = max(yi for yi, y in enumerate(YEARS) if y.first_day <= self.as_of)
        counts = Counter(e.cls for c in plan.children for e in c.enrolments)
        candidates = [ci for ci, (si, yi, *_r) in enumerate(plan.classes)
                      if yi == current and si in plan.liaison_schools]
        by_school = Counter()
        for ci in candidates:
            by_school[plan.classes[ci][0]] += counts[ci]
        school = max(plan.liaison_schools, key=lambda si: (by_school[si], -si))
        ranked = sorted((ci for ci in candidates if plan.classes[ci][0] == school), key=lambda ci: (-counts[ci], ci))
        plan.teacher_classes = sorted(ranked[:2])


# --------------------------------------------------------------------------------------------
# Registers


class Registers:
    """Attendance rows of one enrolment at a time: the child's habits, silent spells, missing registers."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.missing: dict[int, set[dt.date]] = {}
        rng = _rng(plan.seed, "registers")
        today = plan.today
        recent: dict[tuple[int, int], set[dt.date]] = {}
        for key, days in plan.school_days.items():
            past = [d for d in days if d < today]
            recent[key] = set(past[-10:])
        for ci, (si, yi, *_rest) in enumerate(plan.classes):
            days, near = plan.school_days[(si, yi)], recent[(si, yi)]
            missing = set()
            for d in days:
                if d > today:
                    break
                p = 0.5 if d == today else 0.08 if d in near else 0.015
                if rng.random() < p:
                    missing.add(d)
            self.missing[ci] = missing
        reasons = [(name, w) for name, w, _e in REASONS]
        self.reason_names = [name for name, _w in reasons]
        self.reason_weights = [w for _name, w in reasons]
        self.excused = {name: e for name, _w, e in REASONS}

    def rows(self, child: ChildPlan, e: EnrolmentPlan, enrolment_id: int, recorder: int, r: random.Random) -> list:
        y = YEARS[e.year]
        cap = min(self.plan.today, y.last_day, e.end or y.last_day)
        days = self.plan.school_days[(e.school, e.year)]
        days = days[bisect.bisect_left(days, e.start):bisect.bisect_right(days, cap)]
        if not days:
            return []
        missing = self.missing[e.cls]
        silent_from = len(days) - e.silent if e.silent else len(days)
        moving_from = len(days) - r.randint(1, 3) if e.moving else len(days)
        at = dt.time(7, 30 + e.cls % 25)
        out = []
        prev = None
        p = child.absence
        for k, d in enumerate(days):
            if d in missing:
                continue
            if k >= silent_from:
                status, reason = "absent_unexcused", "unknown"
            elif k >= moving_from:
                status, reason = "absent_excused", "moved_centre"
            elif prev is not None and prev[0] != "present" and prev[0] != "late" and r.random() < 0.45:
                status, reason = prev
            elif r.random() < p:
                reason = r.choices(self.reason_names, weights=self.reason_weights)[0]
                status = "absent_excused" if r.random() < self.excused[reason] else "absent_unexcused"
            else:
                status, reason = ("late" if r.random() < 0.04 else "present"), ""
            prev = (status, reason)
            out.append({"enrolment_id": enrolment_id, "date": d, "status": status, "reason": reason, "note": "",
                        "recorded_by_id": recorder, "recorded_at": dt.datetime.combine(d, at)})
        return out


# --------------------------------------------------------------------------------------------
# Writing


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _demo_loaded() -> bool:
    if db.session.scalar(sa.select(User.id).where(User.email == email("admin"))) is not None:
        return True
    demo = {code: name for code, name, _m, _l in SCHOOLS}
    return any(demo.get(code) == name for code, name in db.session.execute(
        sa.select(School.code, School.name).where(School.code.in_(list(demo)))))


def _refuse_other_data() -> None:
    found = {label: _count(model) for label, model in (("schools", School), ("centres", Centre),
                                                       ("academic years", AcademicYear), ("children", Child))}
    found = {label: n for label, n in found.items() if n}
    clash = db.session.scalars(sa.select(User.email).where(User.email.in_([email(r) for r, _n in USERS]))).all()
    if found or clash:
        what = ", ".join(f"{n} {label}" for label, n in found.items())
        if clash:
            what = ", ".join(filter(None, [what, "users " + ", ".join(sorted(clash))]))
        raise click.ClickException(
            f"This database already holds data that is not the demo's ({what}). The demo is loaded only into an "
            "empty database, so that nothing real is mixed with made-up children: point TRACKER_DATABASE_URL "
            "at a new database, run `tracker db upgrade`, then `tracker demo`.")


def _write(plan: Plan, echo) -> dict:
    """Write the plan through the operations, in batches, as an import would: the same rules and summaries."""
    from tracker.assessments.operations import add_round
    from tracker.attendance.operations import save_records
    from tracker.auth.operations import create_user
    from tracker.children.operations import save_children
    from tracker.enrolment.operations import save_batch
    from tracker.schools.operations import add_classes, save_reference

    started = time.perf_counter()
    years = [AcademicYear(label=y.label, first_day=y.first_day, last_day=y.last_day) for y in YEARS]
    centres = [Centre(code=code, name=name, kind=kind, municipality=mun) for code, name, kind, mun, _w in CENTRES]
    schools = [School(code=code, name=name, municipality=mun, offers_primary=lv[0], offers_secondary=lv[1])
               for code, name, mun, lv in SCHOOLS]
    save_reference([*years, *centres, *schools], [])
    year_ids = [y.id for y in years]
    school_ids = [s.id for s in schools]
    centre_ids = [c.id for c in centres]
    days_off = [NonSchoolDay(year_id=year_ids[yi], date=d, description=why, school_id=None)
                for yi, days in enumerate(plan.closed) for d, why in days.items()]
    days_off += [NonSchoolDay(year_id=year_ids[yi], date=d, description=why, school_id=school_ids[si])
                 for si, yi, d, why in plan.school_closed]
    save_reference(days_off, [])
    # Assessment rounds: baseline in October, midline in February, endline in May.
    for y in years:
        for kind, (month, day_from, day_to) in {"baseline": (10, 1, 31), "midline": (2, 1, 28),
                                                "endline": (5, 4, 29)}.items():
            year_no = y.first_day.year if month >= 9 else y.first_day.year + 1
            add_round(y, kind, dt.date(year_no, month, day_from), dt.date(year_no, month, day_to))
    keys = [(school_ids[si], year_ids[yi], name) for si, yi, _lv, _g, name in plan.classes]
    class_ids = add_classes([{"school_id": k[0], "year_id": k[1], "level": level, "grade": grade, "name": k[2]}
                             for k, (_si, _yi, level, grade, _n) in zip(keys, plan.classes)])

    password = current_app.config["DEMO_PASSWORD"]
    users = {}
    for role, name in USERS:
        users[role] = create_user(
            email(role), role, password, name=name,
            school_codes=[SCHOOLS[si][0] for si in plan.liaison_schools] if role == "liaison" else (),
            class_ids=[class_ids[ci] for ci in plan.teacher_classes] if role == "teacher" else ())
    admin_id, liaison_id, teacher_id = users["admin"].id, users["liaison"].id, users["teacher"].id
    liaison_schools = set(plan.liaison_schools)
    echo(f"  calendar, {len(CENTRES)} centres, {len(SCHOOLS)} schools, {len(class_ids)} classes, "
         f"{len(USERS)} users")

    def by(school_index: int) -> int:
        return liaison_id if school_index in liaison_schools else admin_id

    new = []
    for c in plan.children:
        creator = _creator(c, liaison_id, admin_id)
        new.append({
            "line": c.index, "code": c.code, "given_name": c.given, "family_name": c.family,
            "name_original": c.original, "sex": c.sex, "birth_date": c.birth, "birth_date_estimated": c.estimated,
            "country": c.country, "first_language": c.language, "arrival_date": c.arrival,
            "asylum_number": c.asylum_number, "legal_basis": c.legal_basis, "created_at": c.registered_at,
            "created_by_id": creator, "uasc_status": c.uasc_periods[0][0] if c.uasc_periods else "accompanied",
            "uasc_periods": [(status, start, end, dt.datetime.combine(start, dt.time(10)), creator)
                             for status, start, end in c.uasc_periods],
            "stays": [(centre_ids[centre], start, end) for centre, start, end in c.stays],
            "guardians": [(name, org, "", start, end) for name, org, start, end in c.guardians]})
    save_children(new, [], today=plan.today)
    # Only the demo's children are in the database (anything else was refused).
    child_ids = dict(db.session.execute(sa.select(Child.code, Child.id)).all())
    enrolments = [(c, child_ids[c.code], e) for c in plan.children for e in c.enrolments]
    opened, _closed = save_batch([
        {"child_id": cid, "school_id": school_ids[e.school], "year_id": year_ids[e.year], "level": e.level,
         "grade": e.grade, "class_key": keys[e.cls], "start_date": e.start, "end_date": e.end,
         "exit_reason": e.reason, "created_at": dt.datetime.combine(min(e.start, plan.today), dt.time(11)),
         "created_by_id": by(e.school), "closed_at": dt.datetime.combine(e.end, dt.time(12)) if e.end else None,
         "closed_by_id": by(e.school) if e.end else None}
        for c, cid, e in enrolments], [], class_ids=dict(zip(keys, class_ids)))
    echo(f"  {len(child_ids)} children with their centre stays, guardians and {len(opened)} enrolments")

    registers = Registers(plan)
    rows: list[dict] = []
    written = 0
    with click.progressbar(length=len(enrolments), label="  attendance registers") as bar:
        for k, ((c, _cid, e), eid) in enumerate(zip(enrolments, opened)):
            rows += registers.rows(c, e, eid, teacher_id, _rng(plan.seed, "attendance", c.index, e.start))
            if len(rows) >= BATCH or k == len(enrolments) - 1:
                save_records(rows, [])
                written += len(rows)
                bar.update(k + 1 - bar.pos)
                rows = []
    audit.record("demo_loaded", object_type="demo", object_id=f"seed {plan.seed}, {len(child_ids)} children"[:50])
    return {"attendance": written, "seconds": time.perf_counter() - started}


def _creator(c: ChildPlan, liaison_id: int, admin_id: int) -> int:
    return liaison_id if CENTRES[c.stays[0][0]][3] in LIAISON_MUNICIPALITIES else admin_id


# --------------------------------------------------------------------------------------------
# Output


def _logins(echo) -> None:
    password = current_app.config["DEMO_PASSWORD"]
    users = {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.like(f"%@{DOMAIN}")))}
    echo(f"Demo logins (password for each: {password}):")
    for role, _name in USERS:
        u = users.get(email(role))
        if u is None:
            continue
        detail = {"admin": "administrator: everything, the school calendar",
                  "partner": "education partner: aggregate reports only"}.get(role, "")
        if role == "liaison":
            places = sorted({s.municipality for s in u.schools})
            detail = f"liaison officer: {len(u.schools)} schools in {', '.join(places)}"
        elif role == "teacher":
            cls = u.classes
            detail = "teacher: classes " + ", ".join(c.name for c in cls) + (f" at {cls[0].school.name}" if cls else "")
        echo(f"  {u.email:<24} {detail}")
    echo(f"Sign in at {SIGN_IN_URL} as {email('liaison')} / {password}")


def _summary(echo) -> None:
    from tracker.types import ExitReason

    girls = db.session.scalar(sa.select(sa.func.count()).select_from(Child).where(Child.sex == "female"))
    uasc = db.session.scalar(sa.select(sa.func.count(sa.distinct(UascPeriod.child_id)))
                             .where(UascPeriod.status != "accompanied"))
    n_children = _count(Child)
    exits = dict(db.session.execute(sa.select(Enrolment.exit_reason, sa.func.count())
                                    .group_by(Enrolment.exit_reason)).all())
    open_n = exits.pop(None, 0)
    echo("Loaded:")
    echo(f"  {_count(AcademicYear)} academic years with {_count(NonSchoolDay)} non-school days, "
         f"{_count(Centre)} centres, {_count(School)} schools, {_count(SchoolClass)} classes")
    echo(f"  {n_children} children ({girls} girls, {uasc} UASC), {_count(CentreStay)} centre stays, "
         f"{_count(Guardian)} guardians")
    parts = [f"{open_n} open"] + [f"{exits[r]} {r.value.replace('_', ' ')}" for r in ExitReason if exits.get(r)]
    echo(f"  {_count(Enrolment)} enrolments: {', '.join(parts)}")
    echo(f"  {_count(AttendanceRecord)} attendance records ({_count(AttendanceMonth)} monthly summaries)")


def build(children: int = 1500, seed: int = 2026, echo=click.echo, today: dt.date | None = None) -> Plan | None:
    """Load the demo into an empty database; if it is loaded already, say so and change nothing.

    ``today`` (default: the real today) is where the simulated lives stop and registers end.
    Returns the plan that was written, or None when the demo was there already.
    """
    if not sa.inspect(db.engine).has_table(School.__tablename__):
        raise click.ClickException("The database has no tables yet: run `tracker db upgrade` first.")
    if _demo_loaded():
        echo("The demo data is already loaded; nothing was changed.")
        _logins(echo)
        return None
    _refuse_other_data()
    today = today or dt.date.today()
    echo(f"Building the demo: {children} children, seed {seed}, lives up to {min(today, YEARS[-1].last_day)}.")
    plan = Planner(children, seed, today).plan()
    stats = _write(plan, echo)
    _summary(echo)
    echo(f"Done in {stats['seconds']:.1f} s.")
    _logins(echo)
    return plan
