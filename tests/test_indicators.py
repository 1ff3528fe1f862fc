"""Indicators on small populations whose answers are worked out by hand in each test.

Everything happens in two fixed past academic years, so no answer depends on today's date:

    2023/24: Fri 2023-09-01 .. Thu 2024-06-20; general days off Mon 1 and Tue 2 January 2024,
             Thu 15 and Fri 16 February 2024 (Statehood Day); PR001 also closed Mon 19 February 2024.
    2024/25: Mon 2024-09-02 .. Fri 2025-06-20.

February 2024 has 21 weekdays (Thu 1 .. Thu 29), so 21 - 2 = 19 school days at PR002 and SE001
and 19 - 1 = 18 at PR001. Schools PR001 and SE001 are in Beograd, PR002 in Subotica; centre KRN
is in Beograd, SUB in Subotica. Every test runs on SQLite and on PostgreSQL (the ``app`` fixture).
"""
from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from tracker.attendance.operations import upsert_records
from tracker.extensions import db
from tracker.indicators import INDICATORS, Params, compute
from tracker.indicators import sql as isql
from tracker.indicators.compute import COUNTS, RATES
from tracker.models import (AcademicYear, Centre, CentreStay, Child, Enrolment, NonSchoolDay, School, SchoolClass,
                            UascPeriod)
from tracker.types import CentreKind, ExitReason, LegalBasis, Level

D = dt.date
DAY = dt.timedelta(days=1)
FEB_P2 = [D(2024, 2, d) for d in (1, 2, 5, 6, 7, 8, 9, 12, 13, 14, 19, 20, 21, 22, 23, 26, 27, 28, 29)]  # 19 days
FEB_P1 = [d for d in FEB_P2 if d != D(2024, 2, 19)]  # 18 days
YEARS = {"2023/24": (D(2023, 9, 1), D(2024, 6, 20)), "2024/25": (D(2024, 9, 2), D(2025, 6, 20))}
GENERAL_OFF = {D(2024, 1, 1): "New Year", D(2024, 1, 2): "New Year", D(2024, 2, 15): "Statehood Day",
               D(2024, 2, 16): "Statehood Day"}
OWN_OFF = {"PR001": {D(2024, 2, 19)}}  # a school's own day off


def school_days(school_code: str, first: dt.date, last: dt.date) -> list[dt.date]:
    """The school days of a school from ``first`` to ``last``, by the definition (for the property tests)."""
    out, day = [], first
    while day <= last:
        if (day.weekday() < 5 and day not in GENERAL_OFF and day not in OWN_OFF.get(school_code, ())
                and any(a <= day <= b for a, b in YEARS.values())):
            out.append(day)
        day += DAY
    return out


def test_the_hand_made_day_lists_are_school_days():
    assert FEB_P2 == school_days("PR002", D(2024, 2, 1), D(2024, 2, 29))
    assert FEB_P1 == school_days("PR001", D(2024, 2, 1), D(2024, 2, 29))


class Pop:
    """A small population built directly with the models."""

    def __init__(self) -> None:
        self.y1 = AcademicYear(label="2023/24", first_day=YEARS["2023/24"][0], last_day=YEARS["2023/24"][1])
        self.y2 = AcademicYear(label="2024/25", first_day=YEARS["2024/25"][0], last_day=YEARS["2024/25"][1])
        self.p1 = School(code="PR001", name="OŠ Vuk Karadžić", municipality="Beograd", offers_primary=True)
        self.p2 = School(code="PR002", name="OŠ Sveti Sava", municipality="Subotica", offers_primary=True)
        self.s1 = School(code="SE001", name="Gimnazija", municipality="Beograd", offers_primary=True,
                         offers_secondary=True)
        self.krn = Centre(code="KRN", name="Krnjača", kind=CentreKind.asylum, municipality="Beograd")
        self.sub = Centre(code="SUB", name="Subotica RTC", kind=CentreKind.reception, municipality="Subotica")
        db.session.add_all([self.y1, self.y2, self.p1, self.p2, self.s1, self.krn, self.sub])
        for day, what in GENERAL_OFF.items():
            db.session.add(NonSchoolDay(year=self.y1, date=day, description=what))
        for day in OWN_OFF["PR001"]:
            db.session.add(NonSchoolDay(year=self.y1, date=day, description="School day", school=self.p1))
        self.schools = {s.code: s for s in (self.p1, self.p2, self.s1)}
        self.centres = {c.code: c for c in (self.krn, self.sub)}
        self.class_p1 = SchoolClass(school=self.p1, year=self.y1, level=Level.primary, grade=5, name="5-1")
        db.session.add(self.class_p1)
        db.session.flush()

    def child(self, code, sex, born, *, country="AFG", estimated=False, uasc=(), stays=()) -> Child:
        c = Child(code=code, given_name=code, family_name="Test", name_key=code.lower(), sex=sex, birth_date=born,
                  birth_date_estimated=estimated, country=country, first_language="prs",
                  legal_basis=LegalBasis.public_task)
        for status, start, end in uasc:
            c.uasc_periods.append(UascPeriod(status=status, start_date=start, end_date=end))
        for centre, start, end in stays:
            c.centre_stays.append(CentreStay(centre=centre, start_date=start, end_date=end))
        db.session.add(c)
        db.session.flush()
        return c

    def enrol(self, child, school, level, grade, start, end=None, reason=None) -> Enrolment:
        year = self.y1 if start < self.y2.first_day else self.y2
        e = Enrolment(child=child, school=school, year=year, level=level, grade=grade, start_date=start,
                      end_date=end, exit_reason=reason)
        db.session.add(e)
        db.session.flush()
        return e

    @staticmethod
    def attend(enrolment, days, status="present", **other):
        """Records on ``days`` with ``status``, except the days given in ``other`` as {status: [days]}."""
        special = {d: s for s, ds in other.items() for d in ds}
        upsert_records([{"enrolment_id": enrolment.id, "date": d, "status": special.get(d, status)} for d in days],
                       user=None)
        db.session.commit()


@pytest.fixture
def pop(app) -> Pop:
    p = Pop()
    db.session.commit()
    return p


def run(frm, to, as_of=None, by=(), school_ids=None) -> list[dict]:
    return compute(Params(frm=frm, to=to, as_of=as_of or to, by=list(by), school_ids=school_ids))


def of(rows, indicator) -> list[dict]:
    return [r for r in rows if r["indicator"] == indicator]


def one(rows, indicator, **dims) -> dict:
    found = [r for r in of(rows, indicator) if all(r.get(k) == v for k, v in dims.items())]
    assert len(found) == 1, (indicator, dims, of(rows, indicator))
    return found[0]


def nd(rows, indicator, **dims) -> tuple:
    r = one(rows, indicator, **dims)
    return r["numerator"], r["denominator"], r["value"]


def table(rows, indicator, by) -> dict:
    """{group: numerator} for a count indicator, {group: (numerator, denominator)} for a rate."""
    out = {}
    for r in of(rows, indicator):
        key = tuple(r[k] for k in by) if len(by) > 1 else r[by[0]]
        out[key] = r["numerator"] if r["denominator"] is None else (r["numerator"], r["denominator"])
    return out


# --- enrolled, new enrolments, exits ------------------------------------------------------------------------

def enrolment_population(p: Pop) -> dict:
    """Period 2024-01-01 .. 2024-03-31, as of Sun 2024-03-31."""
    krn_since = [(p.krn, D(2023, 8, 1), None)]
    a = p.child("C-A", "female", D(2012, 4, 10), stays=krn_since)  # 11 on 2024-03-31
    p.enrol(a, p.p1, Level.primary, 5, D(2023, 9, 1))
    b = p.child("C-B", "male", D(2014, 9, 15), country="SYR",  # 9 on 2024-03-31
                uasc=[("unaccompanied", D(2024, 1, 1), None)], stays=[(p.krn, D(2024, 1, 10), None)])
    p.enrol(b, p.p1, Level.primary, 3, D(2024, 2, 12))  # mid-period enrolment: new
    c = p.child("C-C", "female", D(2011, 2, 20), estimated=True,  # estimated birth date: 13 on 2024-03-31
                stays=[(p.sub, D(2023, 8, 1), None)])
    p.enrol(c, p.p1, Level.primary, 6, D(2023, 9, 1), D(2024, 1, 31), ExitReason.transferred)
    p.enrol(c, p.p2, Level.primary, 6, D(2024, 2, 1))  # continues the transfer of the day before: not new
    d = p.child("C-D", "male", D(2009, 6, 1), country="IRQ", stays=[(p.sub, D(2023, 8, 1), None)])  # 14
    p.enrol(d, p.p1, Level.primary, 7, D(2023, 9, 4), D(2023, 11, 15), ExitReason.moved_onward)
    p.enrol(d, p.p2, Level.primary, 7, D(2024, 3, 4))  # re-entry after onward movement: new
    e = p.child("C-E", "female", D(2013, 1, 5), stays=krn_since)
    p.enrol(e, p.p1, Level.primary, 4, D(2023, 10, 2), D(2024, 1, 19), ExitReason.dropped_out)
    f = p.child("C-F", "male", D(2007, 11, 30), country="SYR",  # 16 all through 2024
                uasc=[("separated", D(2023, 6, 1), D(2024, 2, 29))], stays=[(p.krn, D(2023, 12, 1), D(2024, 3, 15))])
    p.enrol(f, p.s1, Level.secondary, 1, D(2024, 1, 8), D(2024, 3, 15), ExitReason.moved_onward)
    db.session.commit()
    return dict(frm=D(2024, 1, 1), to=D(2024, 3, 31))


def test_enrolled_new_enrolments_and_exits(pop):
    period = enrolment_population(pop)
    rows = run(**period)
    # Enrolled on 2024-03-31: A (PR001), B (PR001, since 02-12), C (PR002 after the transfer), D (PR002, re-entry)
    # = 4. E dropped out on 01-19, F moved onward on 03-15.
    assert nd(rows, "enrolled") == (4, None, 4)
    # New in the period: B (02-12), D (03-04: its previous exit was moved_onward, so not a continuation),
    # F (01-08) = 3. C's PR002 enrolment starts the day after a transfer: a continuation, not new.
    assert nd(rows, "new_enrolments") == (3, None, 3), "a transfer's continuation is counted as a new enrolment"
    # Exits with an end date in the period: C transferred (01-31), E dropped out (01-19), F moved onward (03-15);
    # D's exit on 2023-11-15 is before the period.
    assert {r["indicator"]: r["numerator"] for r in rows if r["indicator"].startswith("exits_")} == {
        "exits_transferred": 1, "exits_dropped_out": 1, "exits_moved_onward": 1}
    # Counts carry no denominator; their value is the count itself.
    assert all(r["denominator"] is None and r["value"] == r["numerator"] for r in rows if r["indicator"] in COUNTS)


def test_count_breakdowns_by_one_dimension(pop):
    period = enrolment_population(pop)
    by = lambda dim: run(**period, by=[dim])  # noqa: E731
    rows = by("sex")
    # Enrolled: female A, C = 2; male B, D = 2. New: B, D, F, all male (no female row at all).
    assert table(rows, "enrolled", ["sex"]) == {"female": 2, "male": 2}
    assert table(rows, "new_enrolments", ["sex"]) == {"male": 3}
    rows = by("school")
    assert table(rows, "enrolled", ["school"]) == {"PR001": 2, "PR002": 2}  # A, B | C, D
    assert table(rows, "new_enrolments", ["school"]) == {"PR001": 1, "PR002": 1, "SE001": 1}  # B | D | F
    assert table(rows, "exits_transferred", ["school"]) == {"PR001": 1}  # the school left, C
    rows = by("municipality")
    assert table(rows, "enrolled", ["municipality"]) == {"Beograd": 2, "Subotica": 2}
    rows = by("level")
    assert table(rows, "new_enrolments", ["level"]) == {"primary": 2, "secondary": 1}  # B, D | F
    rows = by("country")
    assert table(rows, "enrolled", ["country"]) == {"AFG": 2, "SYR": 1, "IRQ": 1}  # A, C | B | D
    # Time-varying dimensions: stocks on the as-of date, flows on the event date.
    rows = by("uasc")
    # Enrolled on 03-31: B unaccompanied; A, C, D have no UASC period: accompanied.
    assert table(rows, "enrolled", ["uasc"]) == {"accompanied": 3, "unaccompanied": 1}
    # New enrolments on their start date: B 02-12 unaccompanied, D 03-04 accompanied, F 01-08 separated.
    assert table(rows, "new_enrolments", ["uasc"]) == {"accompanied": 1, "separated": 1, "unaccompanied": 1}
    # F's exit on 03-15 is after his separated period ended (02-29): accompanied.
    assert table(rows, "exits_moved_onward", ["uasc"]) == {"accompanied": 1}
    rows = by("age_band")
    # On 03-31: A 11, B 9, C 13 (estimated birth date, same arithmetic), D 14.
    assert table(rows, "enrolled", ["age_band"]) == {"6-10": 1, "11-14": 3}
    # B 9 on 02-12, D 14 on 03-04, F 16 on 01-08.
    assert table(rows, "new_enrolments", ["age_band"]) == {"6-10": 1, "11-14": 1, "15-17": 1}
    rows = by("centre")
    # On 03-31: A, B in KRN; C, D in SUB. New: B (KRN on 02-12), D (SUB), F (KRN on 01-08).
    assert table(rows, "enrolled", ["centre"]) == {"KRN": 2, "SUB": 2}
    assert table(rows, "new_enrolments", ["centre"]) == {"KRN": 2, "SUB": 1}
    # F left KRN on 03-15, the day of his exit: still in KRN on that day.
    assert table(rows, "exits_moved_onward", ["centre"]) == {"KRN": 1}


def test_count_breakdowns_by_several_dimensions(pop):
    period = enrolment_population(pop)
    rows = run(**period, by=["sex", "school", "age_band"])
    assert table(rows, "enrolled", ["sex", "school", "age_band"]) == {
        ("female", "PR001", "11-14"): 1,  # A, 11
        ("male", "PR001", "6-10"): 1,  # B, 9
        ("female", "PR002", "11-14"): 1,  # C, 13
        ("male", "PR002", "11-14"): 1,  # D, 14
    }
    # Every row carries exactly the requested keys, in order.
    assert all(list(r)[:4] == ["indicator", "sex", "school", "age_band"] for r in rows)
    assert all(list(r)[4:7] == ["numerator", "denominator", "value"] for r in rows if r["indicator"] in COUNTS)
    rows = run(**period, by=["level", "centre"])
    assert table(rows, "new_enrolments", ["level", "centre"]) == {
        ("primary", "KRN"): 1, ("primary", "SUB"): 1, ("secondary", "KRN"): 1}  # B | D | F


def test_scope_limits_every_indicator_to_the_schools_given(pop):
    period = enrolment_population(pop)
    beograd = sa.select(School.id).where(School.municipality == "Beograd")  # PR001 and SE001
    rows = run(**period, school_ids=beograd)
    assert nd(rows, "enrolled")[0] == 2  # A, B at PR001
    assert nd(rows, "new_enrolments")[0] == 2  # B (PR001), F (SE001)
    assert {r["indicator"] for r in rows if r["indicator"].startswith("exits_")} == {
        "exits_transferred", "exits_dropped_out", "exits_moved_onward"}  # C, E left PR001; F left SE001
    # Out of school in scope: children of the centres in the scope's municipalities (KRN, Beograd).
    # On 03-31: A (KRN since 2023-08-01, enrolled), B (KRN since 01-10 = 81 days, enrolled) and E (KRN,
    # 11, dropped out) -> 1 / 3. C and D live in SUB (Subotica), F left KRN on 03-15.
    assert nd(rows, "out_of_school")[:2] == (1, 3)
    subotica = sa.select(School.id).where(School.code == "PR002")
    rows = run(**period, school_ids=subotica)
    assert nd(rows, "enrolled")[0] == 2  # C, D
    # D's re-entry is new; C's PR002 enrolment continues a transfer from PR001, out of scope: still not new.
    assert nd(rows, "new_enrolments")[0] == 1, "a transfer's continuation is counted as a new enrolment"
    assert not [r for r in rows if r["indicator"].startswith("exits_")]
    # Out of school in SUB: C and D, both enrolled -> 0 / 2.
    assert nd(rows, "out_of_school")[:2] == (0, 2)
    nothing = sa.select(School.id).where(School.code == "NONE")
    rows = run(**period, school_ids=nothing)
    assert rows == []


def test_add_days_goes_backwards_too(app):
    """new_enrolments looks 120 days back with add_days(start, -120): both databases must agree."""
    day = isql.lit(D(2024, 5, 1))
    assert db.session.scalar(sa.select(isql.add_days(day, 30))) in (D(2024, 5, 31), "2024-05-31")
    # 2024-05-01 - 120 days = 2024-01-02 (30 + 31 + 29 + 31 = 121 days back is 2024-01-01).
    back = db.session.scalar(sa.select(isql.add_days(day, -120)))
    assert back in (D(2024, 1, 2), "2024-01-02"), f"add_days(2024-05-01, -120) gave {back!r}"


def test_new_enrolments_add_up_over_a_breakdown(pop):
    """A child who drops out and enrols again elsewhere in the period: two new enrolments, one per school."""
    z = pop.child("C-Z", "female", D(2012, 1, 1))
    pop.enrol(z, pop.p1, Level.primary, 5, D(2024, 1, 8), D(2024, 1, 26), ExitReason.dropped_out)
    pop.enrol(z, pop.p2, Level.primary, 5, D(2024, 3, 4))  # after a drop-out: new again
    db.session.commit()
    period = dict(frm=D(2024, 1, 1), to=D(2024, 3, 31))
    by_school = table(run(**period, by=["school"]), "new_enrolments", ["school"])
    assert by_school == {"PR001": 1, "PR002": 1}
    # A count indicator's breakdown sums to its total (the property): 1 + 1 = 2.
    assert nd(run(**period), "new_enrolments")[0] == sum(by_school.values()) == 2, \
        "new_enrolments counts distinct children, so the total is not the sum of the breakdown"


# --- attendance ----------------------------------------------------------------------------------------------

def attendance_population(p: Pop) -> dict:
    a = p.child("C-A", "female", D(2012, 4, 10))
    ea = p.enrol(a, p.p1, Level.primary, 5, D(2023, 9, 1))
    # Mon 15 .. Fri 19 January present; every PR001 school day of February, absent (unexcused) on 5, late on 7;
    # March: absent (excused) 11, present 12 and 13.
    p.attend(ea, [D(2024, 1, d) for d in (15, 16, 17, 18, 19)])
    p.attend(ea, FEB_P1, absent_unexcused=[D(2024, 2, 5)], late=[D(2024, 2, 7)])
    p.attend(ea, [D(2024, 3, 11), D(2024, 3, 12), D(2024, 3, 13)], absent_excused=[D(2024, 3, 11)])
    b = p.child("C-B", "male", D(2014, 9, 15))
    eb = p.enrol(b, p.p1, Level.primary, 3, D(2024, 2, 12))  # mid-period enrolment
    b_feb = [d for d in FEB_P1 if d >= D(2024, 2, 12)]  # 12, 13, 14, 20, 21, 22, 23, 26, 27, 28, 29 = 11 days
    assert len(b_feb) == 11
    p.attend(eb, b_feb, absent_unexcused=[D(2024, 2, 26), D(2024, 2, 27)])
    p.attend(eb, [D(2024, 3, 11), D(2024, 3, 12)])
    c = p.child("C-C", "female", D(2011, 2, 20))
    p.enrol(c, p.p2, Level.primary, 6, D(2023, 9, 1))  # no recorded day at all
    return {"a": ea, "b": eb}


def test_attendance_over_whole_months_comes_from_the_summary(pop):
    attendance_population(pop)
    rows = run(D(2024, 2, 1), D(2024, 2, 29), by=["sex"])
    # A: 18 recorded, attended 18 - 1 absent = 17 (late counts as attended). B: 11 recorded, 9 attended.
    # C has no recorded day: no part in the attendance rate.
    assert nd(rows, "attendance_rate", sex="female") == (17, 18, 17 / 18)
    assert nd(rows, "attendance_rate", sex="male") == (9, 11, 9 / 11)
    # Parity: F/M = (17/18) / (9/11) = 187/162 > 1, so the adjusted index is 2 - M/F.
    assert nd(rows, "gpi_attendance_rate") == (17 / 18, 9 / 11, 2 - (9 / 11) / (17 / 18))
    # Completeness: enrolled school days A 18 (PR001's own day off on 02-19 excluded), B 11 from 02-12,
    # C 19 at PR002 (no own day off). Recorded: 18, 11, 0.
    assert nd(rows, "register_completeness", sex="female") == (18, 37, 18 / 37)  # A + C: 18 / (18 + 19)
    assert nd(rows, "register_completeness", sex="male") == (11, 11, 1.0)
    assert nd(rows, "gpi_register_completeness") == (18 / 37, 1.0, 18 / 37)  # F/M <= 1: F/M itself
    # Chronic absence: A 1/18 = 5.6 % (no), B 2/11 = 18 % (yes); C has fewer than 10 recorded days.
    assert nd(rows, "chronic_absence_rate", sex="female") == (0, 1, 0.0)
    assert nd(rows, "chronic_absence_rate", sex="male") == (1, 1, 1.0)
    assert nd(rows, "gpi_chronic_absence_rate") == (0.0, 1.0, 0.0)
    total = run(D(2024, 2, 1), D(2024, 2, 29))
    assert nd(total, "attendance_rate") == (26, 29, 26 / 29)  # (17 + 9) / (18 + 11), never rounded
    assert nd(total, "register_completeness") == (29, 48, 29 / 48)  # (18 + 11 + 0) / (18 + 11 + 19)
    assert nd(total, "chronic_absence_rate") == (1, 2, 0.5)


def test_attendance_over_partial_months_comes_from_the_records(pop):
    attendance_population(pop)
    rows = run(D(2024, 1, 17), D(2024, 3, 12))
    # January 17-19 and March 1-12 from the raw records, February from the summary.
    # A: Jan 17, 18, 19 present (15 and 16 are before the period) = 3; February 18 recorded, 17 attended;
    #    Mar 11 absent, 12 present (13 is after the period) -> recorded 3 + 18 + 2 = 23, attended 3 + 17 + 1 = 21.
    # B: February 11 recorded, 9 attended; Mar 11, 12 present -> 13 recorded, 11 attended.
    assert nd(rows, "attendance_rate") == (32, 36, 32 / 36)  # (21 + 11) / (23 + 13)
    # School days Jan 17-31: Wed 17 .. Wed 31 = 3 + 5 + 3 = 11; Mar 1-12: Fri 1, 4-8, 11, 12 = 8.
    # Enrolled school days: A 11 + 18 + 8 = 37; B (from 02-12) 11 + 8 = 19; C (PR002) 11 + 19 + 8 = 38.
    assert nd(rows, "register_completeness") == (36, 94, 36 / 94)  # (23 + 13 + 0) / (37 + 19 + 38)
    # Chronic: A 2 absent / 23 = 8.7 % (no); B 2 / 13 = 15 % (yes).
    assert nd(rows, "chronic_absence_rate") == (1, 2, 0.5)


def test_months_come_from_the_summary_less_the_records_of_days_outside_the_period(pop):
    """Tamper with February's summary row of A: every answer follows it, less the days outside the period."""
    from tracker.attendance.models import AttendanceMonth

    enr = attendance_population(pop)
    db.session.execute(sa.update(AttendanceMonth).where(AttendanceMonth.enrolment_id == enr["a"].id,
                                                        AttendanceMonth.month == D(2024, 2, 1))
                       .values(recorded=100, present=100, late=0, absent_excused=0, absent_unexcused=0))
    db.session.commit()
    # February 1-29: the summary says A attended 100 of 100; B 9 of 11 -> 109 / 111.
    assert nd(run(D(2024, 2, 1), D(2024, 2, 29)), "attendance_rate") == (109, 111, 109 / 111)
    # February 2-29: the summary less Thu 1 February's record (A present): A 99 of 99, B 9 of 11.
    assert nd(run(D(2024, 2, 2), D(2024, 2, 29)), "attendance_rate") == (108, 110, 108 / 110)
    # As of the 14th: less the records of 15-29 February (school days 20-23 and 26-29; the 15th and 16th
    # are a holiday and 02-19 PR001's own day off): A 100 - 8 = 92 of 92; B 12-14 present, 3 of 3.
    assert nd(run(D(2024, 2, 1), D(2024, 2, 29), as_of=D(2024, 2, 14)), "attendance_rate")[:2] == (92 + 3, 92 + 3)


def test_records_only_before_the_period_in_its_first_month_count_nothing(pop):
    attendance_population(pop)
    rows = run(D(2024, 3, 14), D(2024, 3, 31))
    # Every March record (11-13) is before the 14th: no attendance rate and no chronic absence to report,
    # but the enrolled school days (14-15, 18-22, 25-29 = 12 each for A, B and C) are still unrecorded.
    assert [r for r in rows if r["indicator"] in ("attendance_rate", "chronic_absence_rate")] == []
    assert nd(rows, "register_completeness") == (0, 36, 0.0)


def test_attendance_stops_at_the_as_of_date(pop):
    attendance_population(pop)
    rows = run(D(2024, 2, 1), D(2024, 2, 29), as_of=D(2024, 2, 14))
    # Counted up to min(to, as_of) = Wed 02-14: school days 1, 2, 5-9, 12-14 = 10.
    # A: 10 recorded, absent on 02-05 -> 9 attended. B (from 02-12): 12, 13, 14 present = 3.
    assert nd(rows, "attendance_rate") == (12, 13, 12 / 13)
    # Enrolled school days: A 10, B 3, C 10; recorded 10 + 3 + 0.
    assert nd(rows, "register_completeness") == (13, 23, 13 / 23)
    # A has 10 recorded days with 1 absent: exactly 10 %, chronic (>=). B has only 3 recorded days.
    assert nd(rows, "chronic_absence_rate") == (1, 1, 1.0)


def test_corrections_change_the_answers(pop):
    enr = attendance_population(pop)
    upsert_records([{"enrolment_id": enr["a"].id, "date": D(2024, 2, 6), "status": "absent_unexcused"},
                    {"enrolment_id": enr["b"].id, "date": D(2024, 2, 26), "status": "present"}], user=None)
    db.session.commit()
    rows = run(D(2024, 2, 1), D(2024, 2, 29))
    # A: 16 attended of 18 (absent 5 and 6); B: 10 of 11 (absent on 27 only).
    assert nd(rows, "attendance_rate") == (26, 29, 26 / 29)
    # A 2/18 = 11 % (chronic); B 1/11 = 9.1 % (no longer chronic).
    assert nd(rows, "chronic_absence_rate") == (1, 2, 0.5)
    rows = run(D(2024, 2, 1), D(2024, 2, 29), by=["sex"])
    assert nd(rows, "chronic_absence_rate", sex="female") == (1, 1, 1.0)
    assert nd(rows, "chronic_absence_rate", sex="male") == (0, 1, 0.0)
    # F rate 1, M rate 0: no parity index (division by zero), not a made-up number.
    assert nd(rows, "gpi_chronic_absence_rate") == (1.0, 0.0, None)


def test_chronic_absence_thresholds(pop):
    days = FEB_P2

    def kid(code, sex, n, absent=(), late=()):
        c = pop.child(code, sex, D(2012, 1, 1))
        e = pop.enrol(c, pop.p2, Level.primary, 5, D(2023, 9, 1))
        pop.attend(e, days[:n], absent_excused=list(absent), late=list(late))

    kid("C-G1", "male", 10, absent=[days[0]])  # 1 / 10 = exactly 10 %: chronic
    kid("C-G2", "female", 9, absent=days[:5])  # 9 recorded days: not counted at all
    kid("C-G3", "female", 19, absent=[days[3]])  # 1 / 19 = 5.3 %: not chronic
    kid("C-G4", "male", 19, absent=days[:2])  # 2 / 19 = 10.5 %: chronic
    kid("C-G5", "female", 19, late=days[:5])  # late is attended: 0 %
    rows = run(D(2024, 2, 1), D(2024, 2, 29), by=["sex"])
    assert nd(rows, "chronic_absence_rate", sex="male") == (2, 2, 1.0)  # G1, G4
    assert nd(rows, "chronic_absence_rate", sex="female") == (0, 2, 0.0)  # G3, G5 (G2 left out)
    assert nd(rows, "gpi_chronic_absence_rate")[2] == 0.0  # F/M = 0 / 1
    # Attendance: G1 9 + G2 4 + G3 18 + G4 17 + G5 19 = 67 of 10 + 9 + 19 + 19 + 19 = 76.
    assert nd(run(D(2024, 2, 1), D(2024, 2, 29)), "attendance_rate") == (67, 76, 67 / 76)


def test_chronic_absence_of_a_transferred_child(pop):
    """Per child over all their enrolments; in a breakdown by school, per child within each school."""
    h = pop.child("C-H", "female", D(2012, 1, 1))
    e1 = pop.enrol(h, pop.p1, Level.primary, 5, D(2023, 9, 1), D(2024, 2, 9), ExitReason.transferred)
    e2 = pop.enrol(h, pop.p2, Level.primary, 5, D(2024, 2, 12))
    pop.attend(e1, FEB_P1[:7], absent_unexcused=[D(2024, 2, 5)])  # Feb 1, 2, 5-9: 7 days, 1 absent
    pop.attend(e2, [D(2024, 2, 12), D(2024, 2, 13), D(2024, 2, 14)], absent_unexcused=[D(2024, 2, 13)])
    rows = run(D(2024, 2, 1), D(2024, 2, 29))
    # 7 + 3 = 10 recorded days, 1 + 1 = 2 absent: 20 %, chronic. Attendance 8 / 10.
    assert nd(rows, "chronic_absence_rate") == (1, 1, 1.0)
    assert nd(rows, "attendance_rate") == (8, 10, 0.8)
    # Enrolled school days: PR001 Feb 1, 2, 5-9 = 7; PR002 from 02-12: 12, 13, 14, 19 (a school day at PR002),
    # 20-23, 26-29 = 3 + 1 + 4 + 4 = 12. Recorded 7 + 3 = 10 -> 10 / 19.
    assert nd(rows, "register_completeness") == (10, 19, 10 / 19)
    rows = run(D(2024, 2, 1), D(2024, 2, 29), by=["school"])
    assert table(rows, "attendance_rate", ["school"]) == {"PR001": (6, 7), "PR002": (2, 3)}
    # By school the child has 7 and 3 recorded days: fewer than 10 in each, so counted in neither.
    assert table(rows, "chronic_absence_rate", ["school"]) == {"PR001": (0, 0), "PR002": (0, 0)}
    assert one(rows, "chronic_absence_rate", school="PR001")["value"] is None


def test_register_completeness_counts_enrolled_school_days_only(pop):
    """Weekends, general days off and a school's own day off are not enrolled school days."""
    k = pop.child("C-K", "male", D(2012, 1, 1))
    e = pop.enrol(k, pop.p1, Level.primary, 5, D(2024, 2, 14), D(2024, 2, 21), ExitReason.dropped_out)
    pop.attend(e, [D(2024, 2, 14), D(2024, 2, 20)])
    rows = run(D(2024, 2, 1), D(2024, 2, 29))
    # 14 Wed (school day), 15 Thu and 16 Fri Statehood Day, 17-18 weekend, 19 Mon PR001's own day off,
    # 20 Tue, 21 Wed: 3 enrolled school days; 2 recorded.
    assert nd(rows, "register_completeness") == (2, 3, 2 / 3)
    # The same child at PR002 would have 4 (the 19th is a school day there).
    e.school_id = pop.p2.id
    db.session.commit()
    assert nd(run(D(2024, 2, 1), D(2024, 2, 29)), "register_completeness") == (2, 4, 0.5)


def test_attendance_counts_only_days_while_enrolled(pop):
    """An exit recorded after registers were taken: the days after the end date are not days while enrolled."""
    from tracker.enrolment.operations import exit_enrolment

    k = pop.child("C-K", "female", D(2012, 1, 1))
    e = pop.enrol(k, pop.p2, Level.primary, 5, D(2023, 9, 1))
    pop.attend(e, FEB_P2[:10], absent_unexcused=FEB_P2[5:10])  # Feb 1-14: present 5 days, then absent 5 days
    exit_enrolment(k, D(2024, 2, 7), "dropped_out")  # the child's last day was Wed 7 February
    rows = run(D(2024, 2, 1), D(2024, 2, 29))
    # While enrolled (Feb 1-7): 5 school days, 5 recorded, all present.
    assert nd(rows, "register_completeness") == (5, 5, 1.0), "records after the end date are counted"
    assert nd(rows, "attendance_rate") == (5, 5, 1.0), "records after the end date are counted"


def test_records_on_days_that_are_not_school_days_do_not_count(pop):
    """A register saved on a day later declared closed: not a recorded school day."""
    k = pop.child("C-K", "male", D(2012, 1, 1))
    e = pop.enrol(k, pop.p2, Level.primary, 5, D(2023, 9, 1))
    pop.attend(e, FEB_P2)  # 19 days
    from tracker.schools.operations import add_non_school_day

    add_non_school_day(pop.y1, D(2024, 2, 29), "Closed (snow)", school=pop.p2)  # refreshes the summary
    rows = run(D(2024, 2, 1), D(2024, 2, 29))
    # 18 school days at PR002 now, all recorded: 18 / 18.
    assert nd(rows, "register_completeness") == (18, 18, 1.0), "a record on a non-school day is counted"
    assert nd(rows, "attendance_rate") == (18, 18, 1.0), "a record on a non-school day is counted"


# --- retention -----------------------------------------------------------------------------------------------

def retention_population(p: Pop) -> None:
    """Primary and secondary cohorts entering in 2023-09-01 .. 2023-12-31."""
    prim, sec = Level.primary, Level.secondary
    # R1 (F): completes the year (end 2024-06-20) and does not come back.
    #   T90 = 09-01 + 90 = 2023-11-30, T180 = 2024-02-28: enrolled. T365 = 2024-08-31 (summer) is moved back to
    #   2024-06-20, the last day of 2023/24: enrolled (the end date is inclusive) -> retained at every horizon.
    r1 = p.child("C-R1", "female", D(2014, 1, 1))
    p.enrol(r1, p.p1, prim, 3, D(2023, 9, 1), D(2024, 6, 20), ExitReason.completed)
    # R2 (M): transfer PR001 -> PR002, then grade 5 next year: retained at 90 (Sun 12-10), 180 (03-09),
    #   365 (2024-09-10), at another school.
    r2 = p.child("C-R2", "male", D(2013, 5, 5))
    p.enrol(r2, p.p1, prim, 4, D(2023, 9, 11), D(2023, 10, 31), ExitReason.transferred)
    p.enrol(r2, p.p2, prim, 4, D(2023, 11, 1), D(2024, 6, 20), ExitReason.completed)
    p.enrol(r2, p.p2, prim, 5, D(2024, 9, 2))
    # R3 (F): moved onward on 2023-12-15 and never came back: moved onward at every horizon
    #   (T90 = 12-31, T180 = 2024-03-30, T365 = 2024-10-01).
    r3 = p.child("C-R3", "female", D(2012, 2, 2))
    p.enrol(r3, p.p1, prim, 5, D(2023, 10, 2), D(2023, 12, 15), ExitReason.moved_onward)
    # R4 (M): moved onward 2023-10-20, came back 2024-02-05 (a re-entry), completed, not seen in 2024/25.
    #   T90 = 12-03: not enrolled, moved onward. T180 = 03-02: enrolled again, retained.
    #   T365 = 2024-09-03: not enrolled, and he re-entered after the onward move: dropped out.
    r4 = p.child("C-R4", "male", D(2011, 7, 7))
    p.enrol(r4, p.p1, prim, 6, D(2023, 9, 4), D(2023, 10, 20), ExitReason.moved_onward)
    p.enrol(r4, p.p2, prim, 6, D(2024, 2, 5), D(2024, 6, 20), ExitReason.completed)
    # R5 (F): dropped out 2024-01-19: dropped out at 90 (02-04), 180 (05-04), 365 (11-05).
    r5 = p.child("C-R5", "female", D(2013, 3, 3))
    p.enrol(r5, p.p1, prim, 4, D(2023, 11, 6), D(2024, 1, 19), ExitReason.dropped_out)
    # R6 (M): primary grade 8 from 2023-12-04, completed, secondary from 2024-09-02: retained at 90 (03-03),
    #   180 (06-01) and 365 (2024-12-03, in secondary: "that level or higher").
    r6 = p.child("C-R6", "male", D(2009, 1, 1))
    p.enrol(r6, p.s1, prim, 8, D(2023, 12, 4), D(2024, 6, 20), ExitReason.completed)
    p.enrol(r6, p.s1, sec, 1, D(2024, 9, 2))
    # R7 (F): her first primary enrolment started 2023-06-01, before the period, so her enrolment of
    #   2023-09-18 (in the period) is not a first enrolment at the level: in no cohort.
    r7 = p.child("C-R7", "female", D(2012, 12, 12))
    p.enrol(r7, p.p1, prim, 5, D(2023, 6, 1), D(2023, 6, 15), ExitReason.dropped_out)
    p.enrol(r7, p.p1, prim, 5, D(2023, 9, 18), D(2023, 10, 6), ExitReason.dropped_out)
    # Secondary: S1 (F) grade 1 from 2023-09-01, completed, grade 2 from 2024-09-02: retained at all three
    #   (T365 = 2024-08-31 moved back to 2024-06-20). S2 (M) from 2023-10-16, dropped out 2024-02-09:
    #   retained at 90 (Sun 2024-01-14), dropped out at 180 (04-13) and 365 (2024-10-15).
    s1 = p.child("C-S1", "female", D(2008, 8, 8))
    p.enrol(s1, p.s1, sec, 1, D(2023, 9, 1), D(2024, 6, 20), ExitReason.completed)
    p.enrol(s1, p.s1, sec, 2, D(2024, 9, 2))
    s2 = p.child("C-S2", "male", D(2008, 4, 4))
    p.enrol(s2, p.s1, sec, 1, D(2023, 10, 16), D(2024, 2, 9), ExitReason.dropped_out)
    db.session.commit()


def retention_row(rows, name, **dims):
    r = one(rows, name, **dims)
    return {k: r[k] for k in ("numerator", "denominator", "value", "cohort", "retained", "moved_onward",
                              "dropped_out")}


def test_retention(pop):
    retention_population(pop)
    rows = run(D(2023, 9, 1), D(2023, 12, 31), as_of=D(2025, 6, 30))
    # Primary cohort: R1..R6 = 6 (R7's first primary enrolment is before the period).
    # 90 days: retained R1, R2, R6; moved onward R3, R4; dropped out R5 -> 3 / (6 - 2).
    assert retention_row(rows, "retention_primary_90d") == dict(
        numerator=3, denominator=4, value=0.75, cohort=6, retained=3, moved_onward=2, dropped_out=1)
    # 180 days: retained R1, R2, R4 (back in school), R6; moved onward R3; dropped out R5 -> 4 / 5.
    assert retention_row(rows, "retention_primary_180d") == dict(
        numerator=4, denominator=5, value=0.8, cohort=6, retained=4, moved_onward=1, dropped_out=1)
    # 365 days: retained R1 (T moved back to 2024-06-20), R2, R6; moved onward R3; dropped out R4, R5 -> 3 / 5.
    assert retention_row(rows, "retention_primary_365d") == dict(
        numerator=3, denominator=5, value=0.6, cohort=6, retained=3, moved_onward=1, dropped_out=2)
    # Secondary cohort S1, S2: 2/2, 1/2, 1/2.
    assert retention_row(rows, "retention_secondary_90d") == dict(
        numerator=2, denominator=2, value=1.0, cohort=2, retained=2, moved_onward=0, dropped_out=0)
    assert retention_row(rows, "retention_secondary_180d") == dict(
        numerator=1, denominator=2, value=0.5, cohort=2, retained=1, moved_onward=0, dropped_out=1)
    assert retention_row(rows, "retention_secondary_365d") == dict(
        numerator=1, denominator=2, value=0.5, cohort=2, retained=1, moved_onward=0, dropped_out=1)


def test_moved_onward_does_not_depend_on_other_childrens_enrolments(pop):
    """R3 moved onward on 2023-12-15: at 90 days (T = 2023-12-31) she is moved onward, whoever else enrols."""
    r3 = pop.child("C-R3", "female", D(2012, 2, 2))
    pop.enrol(r3, pop.p1, Level.primary, 5, D(2023, 10, 2), D(2023, 12, 15), ExitReason.moved_onward)
    db.session.commit()
    period = dict(frm=D(2023, 9, 1), to=D(2023, 12, 31), as_of=D(2025, 6, 30))
    expected = dict(numerator=0, denominator=0, value=None, cohort=1, retained=0, moved_onward=1, dropped_out=0)
    assert retention_row(run(**period), "retention_primary_90d") == expected
    # Another child enrols on 2024-01-08, after R3's exit: nothing changes for R3.
    other = pop.child("C-OT", "male", D(2012, 2, 2))
    pop.enrol(other, pop.p2, Level.primary, 5, D(2024, 1, 8))
    db.session.commit()
    assert retention_row(run(**period), "retention_primary_90d") == expected, \
        "moved onward: the NOT EXISTS (later enrolment) subquery is not correlated to the cohort enrolment"


def test_summer_horizon_moves_back_whoever_else_is_enrolled(pop):
    """R1: 2023-09-01 + 365 = 2024-08-31 (summer) -> T = 2024-06-20, when her completed enrolment still covers."""
    r1 = pop.child("C-R1", "female", D(2014, 1, 1))
    pop.enrol(r1, pop.p1, Level.primary, 3, D(2023, 9, 1), D(2024, 6, 20), ExitReason.completed)
    db.session.commit()
    period = dict(frm=D(2023, 9, 1), to=D(2023, 12, 31), as_of=D(2025, 6, 30))
    assert nd(run(**period), "retention_primary_365d") == (1, 1, 1.0)
    # Another child's enrolment from 2023-10-02 (+ 365 = 2024-10-01, inside 2024/25) must not change R1's T.
    other = pop.child("C-OT", "male", D(2012, 2, 2))
    pop.enrol(other, pop.p2, Level.primary, 5, D(2023, 10, 2))  # open: retained at 365 too
    db.session.commit()
    assert nd(run(**period), "retention_primary_365d") == (2, 2, 1.0), \
        "T is not moved back: in_school_year_or_before's subqueries are not correlated inside EXISTS"


def test_retention_by_sex_and_its_parity_index(pop):
    retention_population(pop)
    rows = run(D(2023, 9, 1), D(2023, 12, 31), as_of=D(2025, 6, 30), by=["sex"])
    # 90 days. Girls R1 (retained), R3 (moved), R5 (dropped): 1 / (3 - 1). Boys R2, R6 retained, R4 moved: 2 / 2.
    assert retention_row(rows, "retention_primary_90d", sex="female") == dict(
        numerator=1, denominator=2, value=0.5, cohort=3, retained=1, moved_onward=1, dropped_out=1)
    assert retention_row(rows, "retention_primary_90d", sex="male") == dict(
        numerator=2, denominator=2, value=1.0, cohort=3, retained=2, moved_onward=1, dropped_out=0)
    # GPI = F/M = 0.5 / 1.0 = 0.5; the GPI row has sex None and numerator/denominator the two rates.
    assert one(rows, "gpi_retention_primary_90d") == {"indicator": "gpi_retention_primary_90d", "sex": None,
                                                      "numerator": 0.5, "denominator": 1.0, "value": 0.5}
    # 365 days. Girls R1 retained, R3 moved, R5 dropped: 1/2; boys R2, R6 retained, R4 dropped: 2/3.
    assert nd(rows, "gpi_retention_primary_365d") == (0.5, 2 / 3, 0.5 / (2 / 3))
    # Secondary 180: girl S1 retained 1/1, boy S2 dropped 0/1: male rate 0, no index.
    assert nd(rows, "gpi_retention_secondary_180d") == (1.0, 0.0, None)


def test_retention_cohort_needs_the_horizon_before_the_as_of_date(pop):
    retention_population(pop)
    rows = run(D(2023, 9, 1), D(2023, 12, 31), as_of=D(2024, 3, 1))
    # start + 90 <= 2024-03-01: R1 (11-30), R2 (12-10), R3 (12-31), R4 (12-03), R5 (2024-02-04); R6's is 03-03.
    assert retention_row(rows, "retention_primary_90d") == dict(
        numerator=2, denominator=3, value=2 / 3, cohort=5, retained=2, moved_onward=2, dropped_out=1)
    # start + 180 <= 2024-03-01: only R1 (2024-02-28); R4's is 03-02. R1 is retained.
    assert retention_row(rows, "retention_primary_180d") == dict(
        numerator=1, denominator=1, value=1.0, cohort=1, retained=1, moved_onward=0, dropped_out=0)
    assert not of(rows, "retention_primary_365d")
    # Secondary: S1 (2023-11-30) and S2 (2024-01-14) at 90 days, both enrolled then.
    assert nd(rows, "retention_secondary_90d") == (2, 2, 1.0)


def test_retention_breakdown_by_school_and_scope(pop):
    retention_population(pop)
    rows = run(D(2023, 9, 1), D(2023, 12, 31), as_of=D(2025, 6, 30), by=["school", "level"])
    # Cohorts by the school of the first enrolment: PR001 R1, R2, R3, R4, R5; SE001 R6 (primary), S1, S2.
    # 90 days at PR001: retained R1, R2 (at PR002 by then); moved R3, R4; dropped R5 -> 2 / 3.
    assert retention_row(rows, "retention_primary_90d", school="PR001", level="primary") == dict(
        numerator=2, denominator=3, value=2 / 3, cohort=5, retained=2, moved_onward=2, dropped_out=1)
    assert nd(rows, "retention_primary_90d", school="SE001", level="primary") == (1, 1, 1.0)
    assert nd(rows, "retention_secondary_180d", school="SE001", level="secondary") == (1, 2, 0.5)
    scoped = run(D(2023, 9, 1), D(2023, 12, 31), as_of=D(2025, 6, 30),
                 school_ids=sa.select(School.id).where(School.code == "SE001"))
    assert retention_row(scoped, "retention_primary_365d") == dict(
        numerator=1, denominator=1, value=1.0, cohort=1, retained=1, moved_onward=0, dropped_out=0)


# --- transition ----------------------------------------------------------------------------------------------

def transition_population(p: Pop) -> None:
    prim, sec = Level.primary, Level.secondary
    year_end = D(2024, 6, 20)
    # G (F): grade 8 completed 2024-06-20, secondary from 2024-09-02 (74 days later): transitioned.
    g = p.child("C-G", "female", D(2009, 3, 3))
    p.enrol(g, p.p1, prim, 8, D(2023, 9, 1), year_end, ExitReason.completed)
    p.enrol(g, p.s1, sec, 1, D(2024, 9, 2))
    # H (M): secondary from 2025-01-13, 207 days after: too late (06-20 + 180 = 2024-12-17).
    h = p.child("C-H", "male", D(2009, 4, 4))
    p.enrol(h, p.p2, prim, 8, D(2023, 9, 1), year_end, ExitReason.completed)
    p.enrol(h, p.s1, sec, 1, D(2025, 1, 13))
    # L (M): secondary from 2024-12-17, exactly 180 days after: in time.
    l_ = p.child("C-L", "male", D(2009, 5, 5))
    p.enrol(l_, p.p1, prim, 8, D(2023, 9, 1), year_end, ExitReason.completed)
    p.enrol(l_, p.s1, sec, 1, D(2024, 12, 17))
    # K (F): grade 8 completed, no secondary.
    k = p.child("C-K", "female", D(2009, 6, 6))
    p.enrol(k, p.p2, prim, 8, D(2023, 9, 1), year_end, ExitReason.completed)
    # I (F): completed grade 7 (not 8), grade 8 next year: not in the transition cohort.
    i = p.child("C-I", "female", D(2010, 7, 7))
    p.enrol(i, p.p1, prim, 7, D(2023, 9, 1), year_end, ExitReason.completed)
    p.enrol(i, p.p1, prim, 8, D(2024, 9, 2))
    # J (M): left grade 8 as a drop-out: not completed, not in the cohort.
    j = p.child("C-J", "male", D(2009, 8, 8))
    p.enrol(j, p.p2, prim, 8, D(2023, 9, 1), D(2024, 6, 10), ExitReason.dropped_out)
    db.session.commit()


def test_transition_primary_to_secondary(pop):
    transition_population(pop)
    rows = run(D(2024, 6, 1), D(2024, 6, 30), as_of=D(2025, 6, 30), by=["sex"])
    # Completed grade 8 in June 2024: G, H, L, K. Secondary within 180 days: G, L.
    assert nd(rows, "transition_primary_secondary", sex="female") == (1, 2, 0.5)  # G of G, K
    assert nd(rows, "transition_primary_secondary", sex="male") == (1, 2, 0.5)  # L of H, L
    assert nd(rows, "gpi_transition_primary_secondary") == (0.5, 0.5, 1.0)
    total = run(D(2024, 6, 1), D(2024, 6, 30), as_of=D(2025, 6, 30))
    assert nd(total, "transition_primary_secondary") == (2, 4, 0.5)
    # Exits in June 2024: completed G, H, L, K, I (5) and J dropped out.
    assert nd(total, "exits_completed")[0] == 5 and nd(total, "exits_dropped_out")[0] == 1
    # By the primary school: PR001 G, L (2/2); PR002 H, K (0/2).
    rows = run(D(2024, 6, 1), D(2024, 6, 30), as_of=D(2025, 6, 30), by=["school"])
    assert table(rows, "transition_primary_secondary", ["school"]) == {"PR001": (2, 2), "PR002": (0, 2)}


def test_continuing_after_a_completed_grade_is_not_a_new_enrolment(pop):
    transition_population(pop)
    rows = run(D(2024, 9, 1), D(2024, 12, 31))
    # Starting in the period: G secondary 09-02 and I grade 8 09-02, each 74 days after a completed grade
    # (<= 120): continuations. L secondary 12-17, 180 days after completing (> 120): new. H starts in 2025.
    assert nd(rows, "new_enrolments")[0] == 1, "a continuation of a completed grade is counted as new"


# --- out of school -------------------------------------------------------------------------------------------

def out_of_school_population(p: Pop) -> None:
    """As of Fri 2024-03-01; 30 days before is 2024-01-31."""
    krn, sub = p.krn, p.sub
    # O1 (F) 11, estimated birth date, in KRN since 2024-01-15 (46 days), never enrolled: out of school.
    p.child("C-O1", "female", D(2012, 5, 10), estimated=True, stays=[(krn, D(2024, 1, 15), None)])
    # O2 (M) 14 exactly on 03-01, in KRN since 2023-10-01, enrolled: in school.
    o2 = p.child("C-O2", "male", D(2010, 3, 1), stays=[(krn, D(2023, 10, 1), None)])
    p.enrol(o2, p.p1, Level.primary, 7, D(2023, 9, 1))
    # O3 (M) 6 on 03-01 (7 tomorrow): too young.
    p.child("C-O3", "male", D(2017, 3, 2), stays=[(krn, D(2023, 10, 1), None)])
    # O4 (F) 17 on 03-01 (18 tomorrow), in SUB since 2024-01-31 (exactly 30 days): out of school.
    p.child("C-O4", "female", D(2006, 3, 2), stays=[(sub, D(2024, 1, 31), None)])
    # O5 (M) 12, in SUB since 2024-02-01 (29 days): not yet counted.
    p.child("C-O5", "male", D(2012, 1, 1), estimated=True, stays=[(sub, D(2024, 2, 1), None)])
    # O6 (F) 10, in KRN, dropped out 2024-02-16: out of school.
    o6 = p.child("C-O6", "female", D(2013, 6, 1), stays=[(krn, D(2023, 9, 1), None)])
    p.enrol(o6, p.p1, Level.primary, 4, D(2023, 9, 1), D(2024, 2, 16), ExitReason.dropped_out)
    # O7 (M) 15, left KRN on 2024-02-20: not living in a centre on 03-01.
    p.child("C-O7", "male", D(2009, 1, 1), stays=[(krn, D(2023, 9, 1), D(2024, 2, 20))])
    # O8 (M) 9, in KRN, enrolment ends on 03-01 itself: still enrolled on that day.
    o8 = p.child("C-O8", "male", D(2015, 1, 1), stays=[(krn, D(2023, 9, 1), None)])
    p.enrol(o8, p.p1, Level.primary, 3, D(2023, 9, 1), D(2024, 3, 1), ExitReason.moved_onward)
    db.session.commit()


def test_out_of_school(pop):
    out_of_school_population(pop)
    as_of = dict(frm=D(2024, 2, 1), to=D(2024, 3, 1))
    # Aged 7-17 and in a centre for 30 days or more: O1, O2, O4, O6, O8 = 5; not enrolled: O1, O4, O6 = 3.
    assert nd(run(**as_of), "out_of_school") == (3, 5, 3 / 5)
    rows = run(**as_of, by=["sex"])
    assert nd(rows, "out_of_school", sex="female") == (3, 3, 1.0)  # O1, O4, O6
    assert nd(rows, "out_of_school", sex="male") == (0, 2, 0.0)  # O2, O8
    assert nd(rows, "gpi_out_of_school") == (1.0, 0.0, None)
    rows = run(**as_of, by=["centre"])
    assert table(rows, "out_of_school", ["centre"]) == {"KRN": (2, 4), "SUB": (1, 1)}  # O1, O6 of O1, O2, O6, O8
    rows = run(**as_of, by=["age_band"])
    # O6 10, O8 9 -> 6-10: 1/2; O1 11 (estimated), O2 14 -> 11-14: 1/2; O4 17 -> 15-17: 1/1.
    assert table(rows, "out_of_school", ["age_band"]) == {"6-10": (1, 2), "11-14": (1, 2), "15-17": (1, 1)}
    # School dimensions mean nothing for a child out of school: None.
    rows = run(**as_of, by=["school", "municipality"])
    assert table(rows, "out_of_school", ["school", "municipality"]) == {(None, None): (3, 5)}


def test_out_of_school_in_scope_counts_the_centres_of_the_scoped_municipalities(pop):
    out_of_school_population(pop)
    rows = run(D(2024, 2, 1), D(2024, 3, 1), school_ids=sa.select(School.id).where(School.code == "PR001"))
    assert nd(rows, "out_of_school") == (2, 4, 0.5)  # Beograd -> KRN: O1, O6 of O1, O2, O6, O8


# --- every indicator, the CLI -----------------------------------------------------------------------------------

def everything(p: Pop) -> None:
    """The enrolment, retention and transition populations together (their child codes are distinct), two
    children with a February register at PR002 and one exit for each remaining reason."""
    enrolment_population(p)
    retention_population(p)
    transition_population(p)
    for code, sex, n_abs in (("C-AT1", "female", 1), ("C-AT2", "male", 3)):
        c = p.child(code, sex, D(2012, 1, 1), stays=[(p.krn, D(2023, 9, 1), None)])
        e = p.enrol(c, p.p2, Level.primary, 5, D(2023, 9, 1))
        p.attend(e, FEB_P2, absent_unexcused=FEB_P2[:n_abs])
    for code, reason in (("C-X1", ExitReason.returned_to_origin), ("C-X2", ExitReason.other)):
        c = p.child(code, "female", D(2012, 1, 1))
        p.enrol(c, p.p1, Level.primary, 5, D(2024, 1, 8), D(2024, 4, 12), reason)
    db.session.commit()


def test_every_indicator_is_computed(pop):
    everything(pop)
    rows = run(D(2023, 9, 1), D(2024, 6, 30), as_of=D(2025, 6, 30))
    names = {r["indicator"] for r in rows}
    assert set(INDICATORS) <= names
    assert {f"gpi_{n}" for n in RATES} <= names
    for r in rows:
        assert set(r) >= {"indicator", "numerator", "denominator", "value"}
        if r["indicator"] in RATES and r["denominator"]:
            assert r["value"] == r["numerator"] / r["denominator"]
            assert 0 <= r["numerator"] <= r["denominator"]


def test_cli_json_matches_compute(pop, runner):
    everything(pop)
    args = ["indicators", "--from", "2023-09-01", "--to", "2024-06-30", "--as-of", "2025-06-30", "--by", "sex,school"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert {k: doc[k] for k in ("from", "to", "as_of", "by")} == {
        "from": "2023-09-01", "to": "2024-06-30", "as_of": "2025-06-30", "by": ["sex", "school"]}
    expected = run(D(2023, 9, 1), D(2024, 6, 30), as_of=D(2025, 6, 30), by=["sex", "school"])
    assert doc["rows"] == json.loads(json.dumps(expected))
    # The tidy shape: indicator, one key per dimension, numerator, denominator, value (+ retention counts).
    for row in doc["rows"]:
        assert list(row)[:6] == ["indicator", "sex", "school", "numerator", "denominator", "value"]
    # Attendance at PR002 in the year (only AT1 and AT2 have registers): AT1 (F) 19 - 1 = 18 of 19;
    # AT2 (M) 19 - 3 = 16 of 19.
    assert one(doc["rows"], "attendance_rate", sex="female", school="PR002")["value"] == 18 / 19
    assert one(doc["rows"], "attendance_rate", sex="male", school="PR002")["value"] == 16 / 19
    # Secondary retention at 90 days at SE001, boys: S2 (retained on 2024-01-14) and F (entered 2024-01-08,
    # moved onward 03-15, before T = 04-07) -> 1 / (2 - 1).
    r = one(doc["rows"], "retention_secondary_90d", sex="male", school="SE001")
    assert (r["numerator"], r["denominator"], r["cohort"], r["retained"], r["moved_onward"], r["dropped_out"]) == (
        1, 1, 2, 1, 1, 0)


def test_cli_csv_and_defaults(pop, runner):
    out_of_school_population(pop)
    result = runner.invoke(args=["indicators", "--from", "2024-02-01", "--to", "2024-03-01", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "indicator,numerator,denominator,value,cohort,retained,moved_onward,dropped_out"
    # --as-of defaults to --to (2024-03-01): the out-of-school answer of test_out_of_school.
    assert "out_of_school,3,5,0.6,,,," in lines


@pytest.mark.parametrize("args, message", [
    (["--from", "2024-03-01", "--to", "2024-02-01"], "The end of the period (--to) is before its start (--from)."),
    (["--from", "2024-02-01", "--to", "2024-03-01", "--by", "sex,shoe_size"], "unknown dimension 'shoe_size'"),
    (["--from", "2024-02-01", "--to", "2024-03-01", "--by", "sex,sex"], "repeated"),
    (["--from", "1.2.2024", "--to", "2024-03-01"], "--from must be a date like 2026-06-30."),
])
def test_cli_refuses_bad_input(pop, runner, args, message):
    result = runner.invoke(args=["indicators", *args])
    assert result.exit_code == 2 and message in result.output


def test_cli_as_of_before_the_period_does_not_crash(pop, runner):
    attendance_population(pop)
    result = runner.invoke(args=["indicators", "--from", "2024-02-01", "--to", "2024-02-29", "--as-of", "2024-01-15"])
    # Either a clear usage error or an answer; never a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)

