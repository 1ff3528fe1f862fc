"""Attacks on the figures partners get (tracker.reports.disclosure): an attacker with a partner's account tries to
work out a count of 1 to 4 children that the disclosure control is there to hide.

Every attack runs against the real pipeline - tracker.reports.data.indicator_rows and build_report and
tracker.dashboard.queries.partner_overview for a partner - on a generated population of a few hundred children
in five schools of two municipalities (two of the schools too small to be shown alone), built in a real
database, SQLite and PostgreSQL. The true counts come from the exact path (staff, the same period and place).

The attacker knows the rules (``interval``: the true counts that tracker.reports.disclosure.Rules.publish can
show as a given figure, whatever the cell key): with the defaults (D = 2, base 5, threshold 5) a published P
means a true count from max(5, P - 4) to P + 4 and a withheld count 0 to 4 - tighter than the textbook
[P-2-D, P+2+D] and [0, k-1+D], so a stronger attacker. Counts are never negative. He also knows which cells add
up: the groups of a breakdown to the coarser cell (exactly where a child is in one group: always over sex, UASC
status and age band, and over level and place except for the per-child attendance figures, which only cover it),
a retention cohort to its retained, moved onward and dropped out children, a rate's numerator is at most its
denominator, a school's cell is part of its municipality's and a municipality's of the country's, a month's or a
term's new enrolments and exits are part of the school year's, the two terms make up the year, and two periods
ending on the same day have the same children enrolled. From what he is shown he propagates intervals until
nothing changes (``Attacker``). Every test asserts that the true counts stay inside the attacker's intervals (the
model is sound, so its conclusions are real ones), and that no count of 1 to 4 children - a cell, or the
difference of two cells (a school's municipality less the school) - ends with an interval of one value.

Switching the protection off makes the attacks succeed, so these tests can fail: with
DISCLOSURE_MAX_PERTURBATION=0 and DISCLOSURE_ROUNDING=1 the differencing, interval and pair tests fail; with only
the rounding off, the differencing and pair tests; with only the perturbation off (a fixed rounding), the
school and period differencing and most one-answer interval tests.
"""
from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import random
from collections import defaultdict
from unittest import mock

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import PASSWORD
from tests.test_dashboard_disclosure import Tables
from tests.test_indicator_properties import KINDS, new_app, pg  # noqa: F401  (fixtures)
from tests.test_indicators import D, Pop, school_days
from tracker.attendance.operations import upsert_records
from tracker.auth.models import User
from tracker.children.models import RECORD_KEY_MODULUS
from tracker.extensions import db
from tracker.indicators.compute import PER_CHILD
from tracker.indicators.dimensions import ENROLMENT_DIMENSIONS
from tracker.models import CentreStay, Child, Enrolment, School, UascPeriod
from tracker.reports import data, disclosure
from tracker.types import ExitReason, LegalBasis, Level, Role

# --- the population -------------------------------------------------------------------------------------------

# Pop (tests/test_indicators.py) gives the school years 2023/24 and 2024/25, PR001 and SE001 in Beograd, PR002 in
# Subotica and the centres KRN (Beograd) and SUB (Subotica); two small schools are added.
EXTRA_SCHOOLS = [("PR003", "OŠ Mala Reka", "Beograd"), ("PR004", "OŠ Mali Iđoš", "Subotica")]
SMALL_SCHOOLS = ("PR003", "PR004")
TOWN = {"PR001": "Beograd", "SE001": "Beograd", "PR003": "Beograd", "PR002": "Subotica", "PR004": "Subotica"}
WEIGHTS = {"PR001": 30, "SE001": 25, "PR002": 25, "PR003": 6, "PR004": 6}
SCHOOL_DAYS = school_days("", D(2023, 9, 1), D(2025, 6, 20))
YEAR_2_START = SCHOOL_DAYS.index(D(2024, 9, 2))
REGISTER_MONTHS = [(D(2023, 10, 1), D(2023, 10, 31)), (D(2024, 3, 1), D(2024, 3, 31)),
                   (D(2024, 11, 1), D(2024, 11, 30))]
REASONS = {"transferred": 3, "moved_onward": 3, "dropped_out": 2, "completed": 3, "returned_to_origin": 1, "other": 1}
STATUSES = {"present": 70, "late": 10, "absent_excused": 10, "absent_unexcused": 10}
SEED, SIZE = 20240917, 220  # the fixed population of the tests below the hypothesis one
YEAR, TERM_1, TERM_2 = "2023/24", "2023/24-1", "2023/24-2"


def draw_population(seed: int, size: int, registers: float = 0.5) -> dict:
    """A population as plain data, from a seeded generator: children with a sex, a birth date (under 6 to 19),
    a country, a record key, perhaps a UASC period and a centre stay, and up to three enrolments one after the
    other (transfers, completed grades followed by the next level, exits for every reason), half of them with
    registers for three months (``registers``: the share of children with registers)."""
    rnd = random.Random(seed)
    pick = lambda: rnd.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]  # noqa: E731
    kids = []
    for _ in range(size):
        sex = rnd.choice(["female", "male"])
        kid = {"sex": sex, "born": D(2005, 1, 1) + dt.timedelta(days=rnd.randrange(13 * 365)),
               "country": rnd.choice(["AFG", "SYR", "IRQ"]), "key": rnd.randrange(RECORD_KEY_MODULUS),
               "uasc": [], "stays": [], "episodes": [], "register": rnd.random() < registers}
        if rnd.random() < 0.35:
            start = D(2023, 1, 1) + dt.timedelta(days=rnd.randrange(700))
            end = None if rnd.random() < 0.5 else start + dt.timedelta(days=rnd.randrange(30, 400))
            kid["uasc"].append((rnd.choice(["separated", "unaccompanied"]), start, end))
        if rnd.random() < 0.7:
            start = D(2023, 6, 1) + dt.timedelta(days=rnd.randrange(500))
            end = None if rnd.random() < 0.6 else start + dt.timedelta(days=rnd.randrange(60, 400))
            kid["stays"].append((rnd.choice(["KRN", "SUB"]), start, end))
        start = rnd.random()  # many children start with a school year, the others at any time
        idx = rnd.randrange(10) if start < 0.3 else YEAR_2_START + rnd.randrange(10) if start < 0.45 else \
            rnd.randrange(len(SCHOOL_DAYS) - 1)
        school = pick()
        level = "secondary" if school == "SE001" and rnd.random() < 0.6 else "primary"
        grade = rnd.choice([1, 2, 3, 4]) if level == "secondary" else rnd.choice([1, 3, 5, 7, 8, 8])
        for _ in range(rnd.choice([0, 1, 1, 1, 2, 2, 3])):
            if idx >= len(SCHOOL_DAYS):
                break
            if rnd.random() < 0.3:  # still enrolled
                kid["episodes"].append((school, level, grade, SCHOOL_DAYS[idx], None, None))
                break
            end = min(idx + rnd.randrange(3, 250), len(SCHOOL_DAYS) - 1)
            reason = rnd.choices(list(REASONS), weights=list(REASONS.values()))[0]
            kid["episodes"].append((school, level, grade, SCHOOL_DAYS[idx], SCHOOL_DAYS[end], reason))
            idx = end + 1 + (0 if reason in ("transferred", "completed") else rnd.randrange(60))
            if reason == "completed":
                if level == "secondary" and grade == 4:
                    break
                level, grade = ("secondary", 1) if level == "primary" and grade == 8 else (level, grade + 1)
                school = "SE001" if level == "secondary" else school
            else:
                school = pick()
                level = "secondary" if school == "SE001" and level == "secondary" else "primary"
                grade = min(grade, 4) if level == "secondary" else grade
        kids.append(kid)
    return {"seed": seed, "children": kids}


def build_population(spec: dict) -> Pop:
    """The population in the database (committed), with its record keys as drawn."""
    pop = Pop()
    for code, name, town in EXTRA_SCHOOLS:
        school = School(code=code, name=name, municipality=town, offers_primary=True)
        db.session.add(school)
        pop.schools[code] = school
    db.session.flush()
    rnd = random.Random(spec["seed"] + 1)
    made = []
    for i, kid in enumerate(spec["children"]):
        child = Child(code=f"C-{i:04d}", given_name=f"G{i}", family_name="F", name_key=f"g{i} f", sex=kid["sex"],
                      birth_date=kid["born"], country=kid["country"], first_language="prs",
                      legal_basis=LegalBasis.public_task, record_key=kid["key"])
        for status, start, end in kid["uasc"]:
            child.uasc_periods.append(UascPeriod(status=status, start_date=start, end_date=end))
        for centre, start, end in kid["stays"]:
            child.centre_stays.append(CentreStay(centre=pop.centres[centre], start_date=start, end_date=end))
        db.session.add(child)
        for code, level, grade, start, end, reason in kid["episodes"]:
            e = Enrolment(child=child, school=pop.schools[code], year=pop.y1 if start < pop.y2.first_day else pop.y2,
                          level=Level(level), grade=grade, start_date=start, end_date=end,
                          exit_reason=reason and ExitReason(reason))
            db.session.add(e)
            made.append((e, kid["register"]))
    db.session.flush()
    records = []
    for e, register in made:
        for lo, hi in REGISTER_MONTHS if register else ():
            for day in school_days(e.school.code, max(lo, e.start_date), min(hi, e.end_date or hi)):
                records.append({"enrolment_id": e.id, "date": day,
                                "status": rnd.choices(list(STATUSES), weights=list(STATUSES.values()))[0]})
    if records:
        upsert_records(records, user=None)
    db.session.commit()
    return pop


@pytest.fixture
def population(app):
    """The fixed population in the test's database (SQLite or PostgreSQL: the ``app`` fixture)."""
    build_population(draw_population(SEED, SIZE))
    with app.test_request_context():
        yield app


# --- asking -----------------------------------------------------------------------------------------------------

PARTNER = dict(email="partner@example.org", name="partner", role=Role.partner, password_hash="x")
PARTNER_DIMS = ("sex", "uasc", "age_band", "level", "municipality")  # the default REPORT_PARTNER_DIMENSIONS
COUNTRY = ("country", None)


def partner() -> User:
    return User(**PARTNER)


def admin() -> User:
    return User(email="admin@example.org", name="admin", role=Role.admin, password_hash="x")


def place(geo) -> dict:
    kind, name = geo
    return {} if kind == "country" else {"municipality": name} if kind == "municipality" else {"school_codes": [name]}


def ask(user, geo, period, by) -> dict:
    """One request of the API's indicators (the whole answer: dates and rows)."""
    return data.indicator_rows(user, period=period, by=list(by), **place(geo))


def exact_tables(geo, period, breakdowns) -> dict[tuple[str, ...], list[dict]]:
    """The exact rows (what staff get from indicator_rows) of several breakdowns of the same place and period,
    from one set of queries: tracker.reports.data.tables_for without disclosure control, for the staff's shape."""
    from tracker.indicators.compute import Params

    shape = data.settle_period(False, period=period)
    scope = data.report_scope(admin(), **place(geo))
    params = Params(frm=shape.frm, to=shape.to, as_of=shape.as_of, by=[], school_ids=scope.school_ids)
    return data.tables_for(params, [data.canonical(b) for b in breakdowns], None)


def partner_with_truth(geo, period, by) -> tuple[dict, list[dict]]:
    """A partner's request, and the exact rows of its cells as that very request computed them before disclosure
    control (tracker.reports.data.exact_tables, watched): the truth at the price of one request."""
    captured: dict = {}
    real = data.exact_tables

    def watch(params, breakdowns):
        tables = real(params, breakdowns)
        captured.update({b: [dict(r) for r in rows] for b, rows in tables.items()})
        return tables

    with mock.patch.object(data, "exact_tables", watch):
        answer = ask(partner(), geo, period, by)
    assert data.canonical(by) in captured, "the request no longer goes through tracker.reports.data.exact_tables"
    return answer, captured[data.canonical(by)]


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    shape = data.settle_period(True, period=period)
    return shape.frm, shape.to


def sub_breakdowns(dims) -> list[tuple[str, ...]]:
    """What one partner can ask for about a pair of dimensions: the total, each alone, and the pair."""
    return [tuple(c) for n in range(len(dims) + 1) for c in itertools.combinations(dims, n)]


def _children_by(column, period: str) -> dict[str, int]:
    frm, to = period_bounds(period)
    q = (sa.select(column, sa.func.count(sa.distinct(Enrolment.child_id))).select_from(Enrolment)
         .join(School, School.id == Enrolment.school_id)
         .where(Enrolment.start_date <= to, sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= frm))
         .group_by(column))
    return {name: n for name, n in db.session.execute(q)}


def sizes(period: str) -> dict[str, int]:
    """Children enrolled at each school at some time in the period (what decides whether it can be shown alone)."""
    return _children_by(School.code, period)


def town_sizes(period: str) -> dict[str, int]:
    """Children enrolled at some school of each municipality in the period, each child once."""
    return _children_by(School.municipality, period)


def allowed_places(period: str) -> list[tuple]:
    """Where a partner may ask about the period: the country, a municipality or a school with enough children."""
    least = disclosure.rules().school_min_children
    schools, towns = sizes(period), town_sizes(period)
    return [COUNTRY, *[("municipality", t) for t in sorted(towns) if towns[t] >= least],
            *[("school", c) for c in sorted(schools) if schools[c] >= least]]


# --- cells and the attacker ---------------------------------------------------------------------------------------

RETENTION_FIELDS = ("numerator", "denominator", "cohort", "retained", "moved_onward", "dropped_out")
FLOWS = {"new_enrolments", "transition_primary_secondary", *[f"exits_{r.value}" for r in ExitReason]}
STOCKS = {"enrolled", "out_of_school"}  # counted on the as-of date


def count_fields(name: str) -> tuple[str, ...]:
    """The fields of an indicator row that count children."""
    if name in disclosure.DAY_RATES:
        return ("children",)
    if name.startswith("retention_"):
        return RETENTION_FIELDS
    if name in ("enrolled", "new_enrolments") or name.startswith("exits_"):
        return ("numerator",)
    return ("numerator", "denominator")


def decisive(name: str) -> str:
    """The count that decides whether the row is published."""
    fields = count_fields(name)
    return fields[0] if len(fields) == 1 else "denominator"


def dims_of(row: dict, by) -> tuple:
    return tuple((d, row.get(d)) for d in sorted(by))


_KEYS = [j * RECORD_KEY_MODULUS // 1000 for j in range(1000)]  # cell keys spread evenly: every perturbation occurs


@functools.lru_cache(maxsize=None)
def _shown_as(r: disclosure.Rules, count: int) -> frozenset:
    """Every way the rules can show a count (over cell keys: the attacker does not know the cell key)."""
    return frozenset(r.publish(count, key) for key in _KEYS)


@functools.lru_cache(maxsize=None)
def interval(r: disclosure.Rules, shown: int | None) -> tuple[int, int]:
    """The true counts that the rules (tracker.reports.disclosure.Rules.publish) can show as ``shown`` (None:
    withheld): what an attacker who knows the rules concludes from one figure. With the defaults a withheld count is
    0 to 4 and a published P is max(5, P - 4) to P + 4."""
    reach = r.rounding + 2 * r.max_perturbation + r.threshold + 2
    first = 0 if shown is None else max(0, shown - reach)
    counts = [c for c in range(first, (shown or 0) + reach) if shown in _shown_as(r, c)]
    assert counts, ("the rules never show this value", shown)
    assert counts[-1] < (shown or 0) + reach - 1, "the search range is too short"
    return counts[0], counts[-1]


class Attacker:
    """What a partner can conclude from the answers he has: an interval for every count of children, narrowed by
    every relation he knows until nothing changes. ``truth`` holds the exact counts (from the staff path) to judge
    him by; he never reads it."""

    def __init__(self, rules: disclosure.Rules):
        self.r = rules
        self.lo: dict = {}
        self.hi: dict = {}
        self.truth: dict = {}
        self.shown: dict = {}  # what the partner was shown for the count (None: withheld)
        self.equal: list = []  # (whole, parts): whole == sum(parts)
        self.at_most: list = []  # (a, b): a <= b
        self.covered: list = []  # (whole, parts): whole <= sum(parts)
        self.tables: dict = defaultdict(dict)  # ctx -> by -> {(indicator, dims): row}
        self.dates: dict = {}  # ctx -> (from, to, as_of)

    # -- what he is shown ----------------------------------------------------------------------------------------

    def variable(self, key, lo, hi, truth, shown=None):
        if key in self.lo:
            self.lo[key], self.hi[key] = max(self.lo[key], lo), min(self.hi[key], hi)
        else:
            self.lo[key], self.hi[key] = lo, hi
        self.truth[key] = truth
        self.shown[key] = shown

    def learn(self, ctx, by, rows: list[dict], exact: list[dict], dates=None) -> None:
        """The partner's rows of one breakdown (from any request or the report) and the exact rows of the same
        cells. The same cell seen in two answers must have been shown the same way both times."""
        by = data.canonical(by)
        if dates:
            self.dates[ctx] = dates
        truth = {(r["indicator"], dims_of(r, by)): r for r in exact if not r["indicator"].startswith("gpi_")}
        table = self.tables[ctx].setdefault(by, {})
        for row in rows:
            name = row["indicator"]
            if name.startswith("gpi_"):
                continue
            cell = (name, dims_of(row, by))
            if cell in table:
                fields = count_fields(name)
                assert {f: table[cell].get(f) for f in fields} == {f: row.get(f) for f in fields}, \
                    ("the same cell is answered differently in two requests", ctx, cell)
            table[cell] = row
            whole_row_withheld = bool(row.get("suppressed"))
            for field in count_fields(name):
                value = row.get(field)
                if value is not None or not whole_row_withheld or field == decisive(name):
                    lo, hi = interval(self.r, value)
                    if whole_row_withheld and row.get("municipality") is not None:
                        # A municipality too small to be shown alone is withheld whole in a by-municipality
                        # table, whatever its counts: all he knows is that it has fewer children than that.
                        hi = max(hi, self.r.school_min_children - 1)
                else:
                    lo, hi = 0, math.inf  # not shown at all
                true = (truth.get(cell) or {}).get(field) or 0
                self.variable((ctx, cell, field), lo, hi, true, value)
            key = lambda f: (ctx, cell, f)  # noqa: E731
            if name.startswith("retention_"):
                self.equal += [(key("cohort"), [key("retained"), key("moved_onward"), key("dropped_out")]),
                               (key("denominator"), [key("retained"), key("dropped_out")]),
                               (key("numerator"), [key("retained")])]
            elif count_fields(name) == ("numerator", "denominator"):
                self.at_most.append((key("numerator"), key("denominator")))
        missing = [c for c in truth if c not in table]
        assert not missing, ("a cell with children has no row in the partner's answer", ctx, by, missing[:3])

    def learn_answer(self, ctx, by, answer: dict, exact: dict) -> None:
        self.learn(ctx, by, answer["rows"], exact["rows"], (answer["from"], answer["to"], answer["as_of"]))

    # -- what he knows adds up ------------------------------------------------------------------------------------

    def margins(self) -> None:
        """Every breakdown against each breakdown with one dimension fewer, in the same answer's place and period."""
        for ctx, tables in self.tables.items():
            for by, fine in tables.items():
                for d in by:
                    coarse = tuple(x for x in by if x != d)
                    if coarse not in tables:
                        continue
                    groups = defaultdict(list)
                    for name, dims in fine:
                        groups[(name, tuple(p for p in dims if p[0] != d))].append((name, dims))
                    for (name, rest), cells in groups.items():
                        assert (name, rest) in tables[coarse], ("a group without its total", ctx, by, name, rest)
                        for field in count_fields(name):
                            whole, parts = (ctx, (name, rest), field), [(ctx, c, field) for c in cells]
                            self._parts(name, field, d in ENROLMENT_DIMENSIONS, whole, parts)

    def _parts(self, name, field, over_enrolments: bool, whole, parts) -> None:
        if name not in PER_CHILD or not over_enrolments:
            self.equal.append((whole, parts))
        elif field == "children":  # a child recorded at two levels counts in each: at least one, at most all
            self.covered.append((whole, parts))
            self.at_most += [(p, whole) for p in parts]
        elif name == "chronic_absence_rate" and field == "denominator":
            self.at_most += [(p, whole) for p in parts]

    def inside(self, small, big, *, relation: str) -> None:
        """``small`` (a school, or a shorter period) is part of ``big`` (its municipality or the country, or a longer
        period): every cell of small is part of the same cell of big. The rest (big less small) is a count of its
        own, and a difference the attacker would like to pin down."""
        for by, cells in self.tables[small].items():
            for cell in cells:
                if cell not in self.tables[big].get(by, {}):
                    continue
                name = cell[0]
                for field in count_fields(name):
                    a, b = (small, cell, field), (big, cell, field)
                    if relation == "place" and name not in PER_CHILD or relation == "period" and name in FLOWS:
                        rest = ("rest", small, big, cell, field)
                        self.variable(rest, 0, math.inf, self.truth[b] - self.truth[a])
                        self.equal.append((b, [a, rest]))
                    elif relation == "place" and (field == "children" or name == "chronic_absence_rate"
                                                  and field == "denominator"):
                        self.at_most.append((a, b))
                    elif relation == "period" and name in STOCKS and self.dates[small][2] == self.dates[big][2]:
                        self.equal.append((b, [a]))  # the same children on the same day

    def split(self, whole, parts) -> None:
        """The periods ``parts`` make up the period ``whole`` (the two terms of a year): flows add up."""
        for by, cells in self.tables[whole].items():
            for cell in cells:
                if cell[0] in FLOWS and all(cell in self.tables[p].get(by, {}) for p in parts):
                    for field in count_fields(cell[0]):
                        self.equal.append(((whole, cell, field), [(p, cell, field) for p in parts]))

    # -- reasoning ---------------------------------------------------------------------------------------------

    def propagate(self, rounds: int = 500) -> None:
        """Narrow every interval by every relation, until nothing changes (or an interval is empty: the soundness
        check then names it)."""
        lo, hi = self.lo, self.hi
        for _ in range(rounds):
            changed = False

            def narrow(k, a, b):
                nonlocal changed
                if a > lo[k]:
                    lo[k], changed = a, True
                if b < hi[k]:
                    hi[k], changed = b, True

            for whole, parts in self.equal:
                narrow(whole, sum(lo[p] for p in parts), sum(hi[p] for p in parts))
                for i, p in enumerate(parts):
                    others = parts[:i] + parts[i + 1:]
                    narrow(p, lo[whole] - sum(hi[q] for q in others), hi[whole] - sum(lo[q] for q in others))
            for a, b in self.at_most:
                narrow(a, lo[a], hi[b])
                narrow(b, lo[a], hi[b])
            for whole, parts in self.covered:
                narrow(whole, lo[whole], sum(hi[p] for p in parts))
                for i, p in enumerate(parts):
                    narrow(p, lo[whole] - sum(hi[q] for q in parts[:i] + parts[i + 1:]), hi[p])
            if not changed or any(lo[k] > hi[k] for k in lo):
                return
        raise AssertionError("the intervals did not settle")

    def conclude(self) -> None:
        """Propagate, then assert the attack failed: every true count is inside its interval, and no count of 1 to
        k-1 children (a cell or a difference) is pinned to one value."""
        self.margins()
        self.propagate()
        unsound = [(k, self.lo[k], t, self.hi[k]) for k, t in self.truth.items() if not self.lo[k] <= t <= self.hi[k]]
        assert not unsound, ("a true count outside what the rules allow: the model or the disclosure control is "
                             "wrong", unsound[:5])
        pinned = [(k, t) for k, t in self.truth.items() if 1 <= t < self.r.threshold and self.lo[k] == self.hi[k]]
        assert not pinned, ("the attacker works out a count of a few children exactly", len(pinned), pinned[:5])

    def small_cells(self) -> int:
        """How many counts of 1 to k-1 children he was after (so a test knows it had something to attack)."""
        return sum(1 for t in self.truth.values() if 1 <= t < self.r.threshold)

    def differences(self, a, b) -> tuple[int, list]:
        """Cells of two answers whose true counts differ by 1 to k-1: how many, and those where the difference of
        what was shown (a withheld count read as 0) is the true difference."""
        found, bad = 0, []
        for by, cells in self.tables[a].items():
            for cell in cells:
                if cell not in self.tables[b].get(by, {}):
                    continue
                for field in count_fields(cell[0]):
                    ka, kb = (a, cell, field), (b, cell, field)
                    true = self.truth[ka] - self.truth[kb]
                    if not 1 <= abs(true) < self.r.threshold:
                        continue
                    found += 1
                    pa, pb = self.shown[ka], self.shown[kb]
                    if pa is not None and pb is not None and pa - pb == true:
                        bad.append((cell, field, "published", pa, pb, true))
                    elif (pa or 0) - (pb or 0) == true:
                        bad.append((cell, field, "withheld read as 0", pa, pb, true))
        return found, bad


def attacker() -> Attacker:
    return Attacker(disclosure.rules())


def gather(geo, period, breakdowns) -> list[tuple]:
    """Ask as a partner every breakdown in the place and period (one request each), with the truth from the exact
    path: [(by, the partner's answer, the exact rows)]."""
    exact = exact_tables(geo, period, breakdowns)
    return [(by, ask(partner(), geo, period, by), exact[data.canonical(by)]) for by in breakdowns]


def learn_gathered(att: Attacker, geo, period, gathered) -> None:
    for by, answer, exact in gathered:
        att.learn((geo, period), by, answer["rows"], exact, (answer["from"], answer["to"], answer["as_of"]))


def learn_requests(att: Attacker, geo, period, breakdowns) -> None:
    learn_gathered(att, geo, period, gather(geo, period, breakdowns))


BREAKDOWNS = [(), ("sex",), ("uasc",), ("level",), ("sex", "uasc")]


# --- 1. schools -------------------------------------------------------------------------------------------------

def test_partners_cannot_ask_for_a_set_of_schools_or_a_school_too_small_to_be_shown_alone(population):
    """Attack: ask for several schools at once (so that the difference of two requests for overlapping sets
    isolates one school), or for a school of a few children. Both are refused, as partners and as staff preparing
    for sharing; a small school's refusal names its municipality. A school with enough children is answered. The
    least size is the deployment's (DISCLOSURE_MIN_SCHOOL_CHILDREN) and counts the children of the period: a large
    school or a municipality is refused for a month in which it has too few."""
    n = sizes(YEAR)
    assert all(n.get(code, 0) < 20 for code in SMALL_SCHOOLS), n
    assert all(n[code] >= 20 for code in ("PR001", "SE001", "PR002")), n
    for user, sharing in ((partner(), False), (admin(), True)):
        for codes in (["PR001", "SE001"], ["PR001", "PR003"], ["PR003", "PR004"]):
            with pytest.raises(data.ReportError, match="one school or one municipality"):
                data.indicator_rows(user, period=YEAR, school_codes=codes, sharing=sharing)
            with pytest.raises(data.ReportError, match="one school or one municipality"):
                data.build_report(user, period=YEAR, school_codes=codes, sharing=sharing)
        for code in SMALL_SCHOOLS:
            for call in (data.indicator_rows, data.build_report):
                with pytest.raises(data.ReportError) as refused:
                    call(user, period=YEAR, school_codes=[code], sharing=sharing)
                assert TOWN[code] in str(refused.value) and "too few" in str(refused.value)
        with pytest.raises(data.ReportError):
            data.indicator_rows(user, period=YEAR, school_codes=["PR001"], municipality="Beograd", sharing=sharing)
        assert data.indicator_rows(user, period=YEAR, school_codes=["PR001"], sharing=sharing)["suppressed"] is True
    # The least size comes from the configuration: at 25, a large school or a municipality is refused for a month
    # in which fewer than 25 of its children were enrolled, and answered again at 20.
    population.config["DISCLOSURE_MIN_SCHOOL_CHILDREN"] = 25
    months = ("2023-09", "2023-10", "2024-06", "2024-09")
    month, code = next((m, c) for m in months for c in ("PR001", "SE001", "PR002") if 20 <= sizes(m).get(c, 0) < 25)
    with pytest.raises(data.ReportError, match=TOWN[code]):
        data.indicator_rows(partner(), period=month, school_codes=[code])
    month_t, town = next((m, t) for m in months for t in ("Subotica", "Beograd") if 20 <= town_sizes(m)[t] < 25)
    with pytest.raises(data.ReportError, match=f"{town} has fewer than 25 children"):
        data.indicator_rows(partner(), period=month_t, municipality=town)
    population.config["DISCLOSURE_MIN_SCHOOL_CHILDREN"] = 20
    assert data.indicator_rows(partner(), period=month, school_codes=[code])["suppressed"] is True
    assert data.indicator_rows(partner(), period=month_t, municipality=town)["suppressed"] is True
    # Staff get the small schools' exact figures.
    assert data.indicator_rows(admin(), period=YEAR, school_codes=list(SMALL_SCHOOLS))["suppressed"] is False


def allowed_pairs(period: str) -> list[tuple]:
    """(part, whole) for every school that may be shown alone, in its municipality, and every municipality that
    may be shown, in the country."""
    places = allowed_places(period)
    schools = [(geo, ("municipality", TOWN[geo[1]])) for geo in places if geo[0] == "school"]
    return schools + [(geo, COUNTRY) for geo in places if geo[0] == "municipality"]


def test_differencing_a_school_against_its_municipality_and_a_municipality_against_the_country(population):
    """Attack: ask for a municipality and for one of its schools (or the country and a municipality), with the
    same breakdowns, and subtract. Where the true counts differ by 1 to 4 children the published difference is
    never that difference; and propagating intervals over both answers (their margins, the school inside the
    municipality) pins down neither a withheld cell nor the count of children in the rest of the municipality."""
    pairs = allowed_pairs(YEAR)
    assert len(pairs) == 5, pairs  # PR001 and SE001 in Beograd, PR002 in Subotica; both municipalities
    asked = {geo: gather(geo, YEAR, BREAKDOWNS) for geo in {g for pair in pairs for g in pair}}
    found = 0
    for part, whole in pairs:
        att = attacker()
        for geo in (part, whole):
            learn_gathered(att, geo, YEAR, asked[geo])
        att.inside((part, YEAR), (whole, YEAR), relation="place")
        n, bad = att.differences((whole, YEAR), (part, YEAR))
        assert not bad, (part, whole, bad[:5])
        found += n
        att.conclude()
        found += att.small_cells()
    assert found > 20  # there were small differences and small cells to attack


# --- 2. periods ---------------------------------------------------------------------------------------------

def test_partners_cannot_ask_for_dates_only_for_whole_periods(population):
    """Attack: two periods one day apart (or an as-of date moved by one day) would show what happened on that day.
    Free dates are refused for partners and for staff preparing for sharing; so are periods tracker does not
    offer. Staff without sharing still choose any dates."""
    days = {"frm": D(2023, 9, 1), "to": D(2024, 3, 14)}
    for user, sharing in ((partner(), False), (admin(), True)):
        for call in (data.indicator_rows, data.build_report):
            for dates in (days, {**days, "as_of": D(2024, 3, 15)}, {"period": YEAR, "as_of": D(2024, 3, 15)},
                          {"period": YEAR, "frm": D(2023, 9, 1)}, {"period": YEAR, "to": D(2024, 3, 14)}):
                with pytest.raises(data.ReportError):
                    call(user, sharing=sharing, **dates)
            for token in ("2022/23", "2023-07", "2023-08", "2025/26", "2023/24-3", "2023/2024", "2024-13", "last week"):
                with pytest.raises(data.ReportError):
                    call(user, period=token, sharing=sharing)
    assert data.indicator_rows(admin(), **days)["suppressed"] is False


PERIOD_PAIRS = [(TERM_1, YEAR), (TERM_2, YEAR), ("2023-10", YEAR), ("2024-03", YEAR), ("2023-12", TERM_1),
                ("2023-10", TERM_1), ("2024-03", TERM_2), ("2024-06", TERM_2), ("2024-06", YEAR), (TERM_1, TERM_2),
                ("2023-10", "2023-12")]


@pytest.mark.parametrize("geo", [COUNTRY, ("municipality", "Beograd")])
def test_differencing_a_year_its_terms_and_its_months(population, geo):
    """Attack: ask for the school year, a term and a month, and subtract: the new enrolments and exits of the rest
    of the year, the children enrolled on two days. Where the true counts of two periods differ by 1 to 4 the
    published difference is never that difference; propagating intervals over all the answers at once (each
    period's margins, a month's and a term's flows inside the year's, the two terms making up the year, the same
    day's stocks) pins down no small count. Asking again gives the same answer."""
    breakdowns = [(), ("sex",), ("sex", "uasc")]
    att = attacker()
    tokens = sorted({p for pair in PERIOD_PAIRS for p in pair})
    for token in tokens:
        learn_requests(att, geo, token, breakdowns)
    found = 0
    for small, big in PERIOD_PAIRS:
        n, bad = att.differences((geo, big), (geo, small))
        assert not bad, (small, big, bad[:5])
        found += n
        a, b = (dt.date.fromisoformat(x) for x in att.dates[(geo, small)][:2])
        c, d = (dt.date.fromisoformat(x) for x in att.dates[(geo, big)][:2])
        if c <= a and b <= d:
            att.inside((geo, small), (geo, big), relation="period")
    att.split((geo, YEAR), [(geo, TERM_1), (geo, TERM_2)])
    att.conclude()
    assert found + att.small_cells() > 20
    # Term 1 and December end on the same day: the same children enrolled, the same published count.
    for by in breakdowns:
        term = {c: r["numerator"] for c, r in att.tables[(geo, TERM_1)][by].items() if c[0] == "enrolled"}
        december = {c: r["numerator"] for c, r in att.tables[(geo, "2023-12")][by].items() if c[0] == "enrolled"}
        assert term == december
    again = [ask(partner(), geo, YEAR, ("sex", "uasc")) for _ in range(3)]
    assert again[0] == again[1] == again[2]


# --- 3. the home page against the report ------------------------------------------------------------------------

def shown(rows, by) -> dict:
    """{(indicator, dims): (withheld, count)} of the rows (the count None when withheld)."""
    return {(r["indicator"], dims_of(r, by)): (bool(r.get("suppressed")), r.get("numerator")) for r in rows}


# The home page on a day, and the periods whose answers end on the same day (the same children enrolled).
SAME_DAY = {D(2024, 1, 10): ["2023/24-1", "2023-12"], D(2024, 7, 15): ["2023/24"], D(2025, 3, 3): ["2025-02"]}


def test_the_home_page_shows_exactly_the_reports_cells(population):
    """Attack: compare the partner's home page (tracker.dashboard.queries.partner_overview on a given day) with the
    report for the same period, and with the API for the periods that end on the same day, and ask again and again
    to average the answers out. The home page's tables are the report's cells (the same values, the same withheld
    cells) and the API's cells of the same children; asking again gives the same answers."""
    from tracker.dashboard import queries

    user = partner()
    for today in sorted(SAME_DAY):
        overview = queries.partner_overview(user, today)
        assert overview["error"] is None and overview["tables"]
        token = overview["report"].period.token
        assert overview["report"].to < today.replace(day=1)
        report = data.build_report(user, period=token, today=today)
        assert (report.frm, report.to, report.as_of) == (overview["report"].frm, overview["report"].to,
                                                       overview["report"].as_of)
        rounding = disclosure.rules().rounding
        for table in overview["tables"]:
            by = table["by"]
            assert 0 < len(by) <= 2 and set(by) <= set(PARTNER_DIMS)
            page = shown(table["rows"], by)
            assert page == shown([r for r in report.table(*by) if r["indicator"] == "enrolled"], by)
            assert all(n is None if withheld else n >= report.k and n % rounding == 0 for withheld, n in page.values())
            for period in SAME_DAY[today]:
                api = ask(user, COUNTRY, period, by)
                assert api["as_of"] == report.as_of.isoformat()
                assert page == shown([r for r in api["rows"] if r["indicator"] == "enrolled"], by), (period, by)
        for _ in range(2):
            again = queries.partner_overview(user, today)
            assert [shown(t["rows"], t["by"]) for t in again["tables"]] == \
                   [shown(t["rows"], t["by"]) for t in overview["tables"]]


def test_the_home_page_matches_the_api_and_repeats_itself(population, client, password_hash):
    """Attack: read the home page twice and the API for the same period: the page prints the report's figures
    (each published count, "<5" for a withheld one), identical on every visit, and the API's rows for the same
    period and breakdown are the same cells."""
    from tracker.dashboard import queries

    user = User(**{**PARTNER, "password_hash": password_hash})
    db.session.add(user)
    db.session.commit()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    overview = queries.partner_overview(user, dt.date.today())
    assert overview["error"] is None
    pages = [Tables(client.get("/").get_data(as_text=True)).tables for _ in range(2)]
    assert pages[0] == pages[1] and pages[0]
    printed = [[row[-1] for row in t[1:]] for t in pages[0]]
    k = overview["report"].k
    expected = [[f"<{k}" if r.get("suppressed") else str(r["numerator"]) for r in t["rows"]]
                for t in overview["tables"] if t["rows"]]
    assert printed == expected
    token = overview["report"].period.token
    for table in overview["tables"]:
        api = ask(user, COUNTRY, token, table["by"])
        assert shown(table["rows"], table["by"]) == shown([r for r in api["rows"] if r["indicator"] == "enrolled"],
                                                          table["by"])


# --- 4. one answer alone ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("geo", [COUNTRY, ("municipality", "Beograd"), ("school", "PR002")])
def test_one_answer_alone_pins_down_no_small_count(population, geo):
    """Attack: from one answer alone - every breakdown a partner may ask for about the place and the school year
    (the total, each allowed dimension alone and every allowed pair) - propagate intervals over the margins (groups
    add up to the coarser cell exactly over sex, UASC status and age band, and over level and municipality for
    all but the per-child attendance figures) until nothing changes. No cell whose true count is 1 to 4 ends with
    a single value."""
    att = attacker()
    learn_requests(att, geo, YEAR, [b for b in sub_breakdowns(PARTNER_DIMS) if len(b) <= 2])
    att.conclude()
    assert att.small_cells() > 30


@pytest.mark.parametrize("geo", [COUNTRY, ("municipality", "Subotica")])
def test_the_report_alone_pins_down_no_small_count(population, geo):
    """Attack: the same interval propagation over the partner's whole report for the school year (its tables by
    level, sex and UASC status, their margins, by age band), checked against the report's own exact rows."""
    report = data.build_report(partner(), period=YEAR, **place(geo))
    exact = data.build_report(None, period=YEAR, **place(geo))
    att = attacker()
    for by, rows in report.tables.items():
        att.learn((geo, YEAR), by, rows, exact.table(*by))
    att.conclude()
    assert att.small_cells() > 30


# --- 5. any two requests (hypothesis) ---------------------------------------------------------------------------

PAIR_SETTINGS = settings(max_examples=20, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                HealthCheck.large_base_example, HealthCheck.data_too_large])


def period_tokens() -> list[str]:
    years = ["2023/24", "2024/25"]
    months = [f"{y}-{m:02d}" for y, ms in ((2023, range(9, 13)), (2024, range(1, 7)), (2024, range(9, 13)),
                                           (2025, range(1, 7))) for m in ms]
    return years + [f"{y}-{t}" for y in years for t in (1, 2)] + months


ALLOWED_BREAKDOWNS = [b for b in sub_breakdowns(PARTNER_DIMS) if len(b) <= 2]


@pytest.mark.parametrize("kind", KINDS)
@PAIR_SETTINGS
@given(seed=st.integers(0, 2 ** 32), size=st.integers(30, 160), registers=st.sampled_from([0.0, 0.1, 0.3]),
       draws=st.data())
def test_no_two_requests_give_a_small_difference_away(new_app, kind, seed, size, registers, draws):
    """Attack (hypothesis): any two requests a partner may make - a period of the population's years, terms and
    months; the country, a municipality or a school large enough for that period; any allowed breakdown - on a
    random population. For every cell present and published in both whose true counts differ by 1 to 4, the
    published difference is not the true difference (nor is it when a withheld count is read as 0); and every
    true count is inside what the rules allow for what was shown. Three requests per population: three pairs."""
    with new_app() as app, app.test_request_context():
        build_population(draw_population(seed, size, registers))
        att = Attacker(disclosure.rules())
        requests = []
        for _ in range(3):
            period = draws.draw(st.sampled_from(period_tokens()), label="period")
            geo = draws.draw(st.sampled_from(allowed_places(period)), label="place")
            by = draws.draw(st.sampled_from(ALLOWED_BREAKDOWNS), label="by")
            answer, exact = partner_with_truth(geo, period, by)
            att.learn((geo, period), by, answer["rows"], exact)
            requests.append((geo, period, by))
    for (geo_a, period_a, _), (geo_b, period_b, _) in itertools.combinations(requests, 2):
        if (geo_a, period_a) != (geo_b, period_b):
            _n, bad = att.differences((geo_a, period_a), (geo_b, period_b))
            assert not bad, (requests, bad[:5])
    unsound = [(k, att.lo[k], t, att.hi[k]) for k, t in att.truth.items() if not att.lo[k] <= t <= att.hi[k]]
    assert not unsound, unsound[:5]
