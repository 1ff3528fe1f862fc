"""The report's numbers: indicator rows for a user's scope, through disclosure control where it applies.

Who gets what:
- partners: aggregates only, always through tracker.reports.disclosure (counts perturbed with the
  children's record keys and rounded, "<k" below the threshold ``SUPPRESSION_K``, rates from the
  published counts), for fixed periods (tracker.reports.periods) and fixed places (the country,
  one municipality, or one school large enough to be shown alone), and only the breakdowns the
  deployment allows (``REPORT_PARTNER_DIMENSIONS``, at most ``REPORT_PARTNER_MAX_DIMENSIONS`` at once);
- admins and liaison officers: exact figures for their scope, any dates, unless they ask to
  prepare the report for sharing, which gives them exactly the partner view;
- teachers: no reports.
"""
from __future__ import annotations

import datetime as dt
import importlib
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from tracker import scope
from tracker.auth.models import User
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.indicators.dimensions import DIMENSIONS, ENROLMENT_DIMENSIONS, DimensionError, parse
from tracker.schools.models import School
from tracker.types import Role

indicators = importlib.import_module("tracker.indicators.compute")  # the module, not the function

SMALL = "small"
RETENTION_COUNTS = ("cohort", "retained", "moved_onward", "dropped_out")
NUMBER_KEYS = ("numerator", "denominator", "value", *RETENTION_COUNTS, "children")
from tracker.reports.disclosure import NONE  # noqa: E402  a real "no value" in a breakdown, not a total


class ReportError(ValueError):
    """A request the user may not make or that makes no sense; the message is shown as is (400)."""


class ReportForbidden(PermissionError):
    """This user has no reports (403)."""


# --- who may ask what ------------------------------------------------------------------------------

def may_report(user: User) -> bool:
    return user.role in (Role.admin, Role.liaison, Role.partner)


def suppressing(user: User, sharing: bool) -> bool:
    return user.role == Role.partner or bool(sharing)


def allowed_dimensions(user: User, protected: bool | None = None) -> list[str]:
    """The breakdowns a request may use: the partners' list for partners and for anything prepared for sharing."""
    if user.role == Role.partner if protected is None else protected:
        return list(current_app.config["REPORT_PARTNER_DIMENSIONS"])
    return list(DIMENSIONS)


def check_dimensions(user: User, by: list[str] | str | None, protected: bool | None = None) -> list[str]:
    try:
        dims = parse(by)
    except DimensionError as exc:
        raise ReportError(str(exc)) from None
    protected = user.role == Role.partner if protected is None else protected
    allowed = allowed_dimensions(user, protected)
    refused = [d for d in dims if d not in allowed]
    if refused:
        raise ReportError(_("Breaking down by %(dim)s is not available to partners; choose from: %(allowed)s.",
                            dim=refused[0], allowed=", ".join(allowed)))
    most = current_app.config["REPORT_PARTNER_MAX_DIMENSIONS"]
    if protected and len(dims) > most:
        raise ReportError(_("Partners may combine at most %(n)d dimensions at once.", n=most))
    return dims


@dataclass
class Scope:
    school_ids: sa.Select | None  # None: every school
    label: str


def report_scope(user: User | None, school_codes: list[str] | None = None, municipality: str | None = None) -> Scope:
    """The schools a report covers: the user's scope (None: the command line, every school), narrowed to the
    chosen schools or municipality."""
    if user is not None and not may_report(user):
        raise ReportForbidden(_("Reports are for admins, liaison officers and partners."))
    everything = user is None or user.role in (Role.admin, Role.partner)
    mine = None if everything else scope.school_ids(user)
    visible = sa.select(School.code, School.id, School.name, School.municipality)
    if mine is not None:
        visible = visible.where(School.id.in_(mine))
    codes = [c.strip() for c in (school_codes or []) if c and c.strip()]
    municipality = (municipality or "").strip() or None
    if codes and municipality:
        raise ReportError(_("Choose schools or a municipality, not both."))
    if codes:
        found = {r.code: r for r in db.session.execute(visible.where(School.code.in_(codes)))}
        missing = [c for c in codes if c not in found]
        if missing:
            raise ReportError(_("No school with the code %(code)s in your scope.", code=missing[0]))
        names = sorted(found[c].name for c in codes)
        return Scope(sa.select(School.id).where(School.code.in_(codes)), ", ".join(names))
    if municipality:
        hit = db.session.execute(visible.where(School.municipality == municipality).limit(1)).first()
        if hit is None:
            raise ReportError(_("No school in the municipality %(name)s in your scope.", name=municipality))
        ids = sa.select(School.id).where(School.municipality == municipality)
        if mine is not None:
            ids = ids.where(School.id.in_(mine))
        return Scope(ids, _("Municipality of %(name)s", name=municipality))
    if everything:
        return Scope(None, _("All schools"))
    names = [r.name for r in db.session.execute(visible.order_by(School.name))]
    if not names:
        raise ReportError(_("You have no schools assigned yet, so there is nothing to report."))
    return Scope(mine, ", ".join(names))


def check_period(frm: dt.date, to: dt.date, as_of: dt.date | None) -> dt.date:
    if to < frm:
        raise ReportError(_("The end of the period is before its start."))
    if (to - frm).days > 3 * 366:
        raise ReportError(_("A period is at most three years long."))
    return as_of or to


@dataclass
class Shape:
    """What a request covers once its period is settled: the dates, and the fixed period when there is one."""
    frm: dt.date
    to: dt.date
    as_of: dt.date
    period: Any = None  # tracker.reports.periods.Period


def settle_period(protected: bool, *, period: str | None = None, frm: dt.date | None = None,
                  to: dt.date | None = None, as_of: dt.date | None = None, today: dt.date | None = None) -> Shape:
    """The request's dates. Protected figures (partners, sharing) cover a fixed period only: a school year, a
    term or a month, counted up to the end of the last whole month and as of then (tracker.reports.periods);
    exact figures take any dates, or a period's."""
    from tracker.reports import periods

    today = today or dt.date.today()
    chosen = None
    if period:
        if frm is not None or to is not None:
            raise ReportError(_("Choose a period or dates, not both."))
        try:
            chosen = periods.find(period, today)
        except periods.PeriodError as exc:
            raise ReportError(str(exc)) from None
    if protected:
        if frm is not None or to is not None or as_of is not None:
            raise ReportError(_("Figures for partners (and reports prepared for sharing) cover a whole school year, "
                                "term or month: choose a period instead of dates."))
        chosen = chosen or periods.default(today)
        if chosen is None:
            raise ReportError(_("There are no figures to share yet: a period is shown once a whole month of a "
                                "school year has ended."))
        first, last = periods.bounds(chosen, today)
        return Shape(first, last, last, chosen)
    if chosen is not None:
        first, last = chosen.first, min(chosen.last, today) if chosen.first <= today else chosen.last
        return Shape(first, last, check_period(first, last, as_of), chosen)
    if frm is None or to is None:
        raise ReportError(_("Choose a period, or the first and the last day."))
    return Shape(frm, to, check_period(frm, to, as_of))


def children_per(place, frm: dt.date, to: dt.date, school_ids=None) -> dict:
    """Children enrolled at some time from frm to to, each once per place: per school (``place`` School.id) or per
    municipality (School.municipality), of the schools given (ids or a select; None: every school). What decides
    whether a school or a municipality can be shown alone."""
    q = (sa.select(place, sa.func.count(sa.distinct(Enrolment.child_id))).select_from(Enrolment)
         .join(School, School.id == Enrolment.school_id)
         .where(Enrolment.start_date <= to, sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= frm))
         .group_by(place))
    if school_ids is not None:
        q = q.where(School.id.in_(school_ids))
    return {key: n for key, n in db.session.execute(q)}


def schools_shown_alone(frm: dt.date, to: dt.date) -> set[int]:
    from tracker.reports import disclosure

    least = disclosure.rules().school_min_children
    return {sid for sid, n in children_per(School.id, frm, to).items() if n >= least}


def small_municipalities(frm: dt.date, to: dt.date, school_ids=None) -> set[str]:
    """The municipalities (of these schools) with too few children in the period to be shown alone."""
    from tracker.reports import disclosure

    least = disclosure.rules().school_min_children
    places = set(db.session.scalars(sa.select(School.municipality).where(
        sa.true() if school_ids is None else School.id.in_(school_ids)).distinct()))
    sizes = children_per(School.municipality, frm, to, school_ids)
    return {place for place in places if sizes.get(place, 0) < least}


def check_geography(user: User | None, shape: Shape, school_codes: list[str] | None, municipality: str | None) -> None:
    """Protected figures: the whole country, one municipality, or one school large enough to be shown alone."""
    from tracker.reports import disclosure

    codes = [c.strip() for c in (school_codes or []) if c and c.strip()]
    municipality = (municipality or "").strip() or None
    if len(codes) > 1:
        raise ReportError(_("Figures for partners cover one school or one municipality at a time, not a set of "
                            "schools: choose one school, or its municipality."))
    least = disclosure.rules().school_min_children
    mine = None if user is None or user.role in (Role.admin, Role.partner) else set(
        db.session.scalars(scope.school_ids(user)))
    if municipality and not codes:
        ids = list(db.session.scalars(sa.select(School.id).where(School.municipality == municipality)))
        if mine is not None and not set(ids) <= mine:
            # Part of a municipality is a set of schools of one's choosing: not a shape partners get.
            raise ReportError(_("Only some schools of %(name)s are yours: to prepare for sharing, choose one of "
                                "your schools.", name=municipality))
        if municipality in small_municipalities(shape.frm, shape.to, ids):
            raise ReportError(_("%(name)s has fewer than %(n)d children in this period, too few to be shown alone: "
                                "choose all schools.", name=municipality, n=least))
        return
    if not codes:
        if mine is not None:  # a liaison officer's schools are a set of their own
            raise ReportError(_("To prepare for sharing, choose one school or one municipality."))
        return
    school = db.session.scalar(sa.select(School).where(School.code == codes[0]))
    if school is None:
        return  # report_scope names it
    if children_per(School.id, shape.frm, shape.to, [school.id]).get(school.id, 0) < least:
        raise ReportError(_("%(school)s has fewer than %(n)d children in this period, too few to be shown alone: "
                            "choose its municipality, %(municipality)s.", school=school.name, n=least,
                            municipality=school.municipality))


# --- disclosure control over a lattice of breakdowns ------------------------------------------------

AGE_BANDS = ("under_6", "6-10", "11-14", "15-17", "18+")  # tracker.indicators.sql.age_band


def protect(tables: dict[tuple[str, ...], list[dict]], k: int | None, params: indicators.Params | None = None) -> None:
    """The rows as their reader may see them: exact (k None, staff) or through tracker.reports.disclosure.

    Either way the rows lose their cell keys, which never leave this package. Protected tables show every
    group a breakdown can have, withheld where nobody is in it (so a group of nobody looks like a group of a
    few), and a municipality too small to be shown alone (DISCLOSURE_MIN_SCHOOL_CHILDREN) is withheld as a
    group of a by-municipality table too, as it is refused as a place.
    """
    from tracker.reports import disclosure

    if k is None:
        disclosure.strip_keys(tables)
        return
    by_place = params is not None and any("municipality" in by for by in tables)
    domain = _domain(params.school_ids if by_place else None, by_place)
    disclosure.protect_tables(tables, disclosure.rules(), DIMENSIONS,
                              lambda name, dim, seen: _values(name, dim, domain.get(dim, seen)),
                              names=list(indicators.INDICATORS), rates=list(indicators.RATES))
    small = small_municipalities(params.frm, params.to, params.school_ids) if by_place else set()
    if small:
        for by, rows in tables.items():
            if "municipality" in by:
                rows[:] = [disclosure.withhold(r) if r.get("municipality") in small else r for r in rows]


def _domain(school_ids, municipalities: bool) -> dict[str, set]:
    """Every group of the partners' dimensions, whether or not anybody is in it (municipalities: of these schools)."""
    from tracker.types import Level, Sex, UascStatus

    domain: dict[str, set] = {"sex": {s.value for s in Sex}, "uasc": {u.value for u in UascStatus},
                              "level": {lv.value for lv in Level}, "age_band": set(AGE_BANDS)}
    if municipalities:
        domain["municipality"] = set(db.session.scalars(sa.select(School.municipality).where(
            sa.true() if school_ids is None else School.id.in_(school_ids)).distinct()))
    return domain


def _values(name: str, dim: str, seen: set) -> set:
    """The groups an indicator can have along a dimension (a level only where it has one)."""
    if name == "out_of_school" and dim in ENROLMENT_DIMENSIONS:  # counted on the child, not on an enrolment
        return {NONE}
    if dim == "level":
        if name == "transition_primary_secondary":
            return {"primary"}
        if name.startswith("retention_"):
            return {name.split("_")[1]}
    return seen


def canonical(by) -> tuple[str, ...]:
    """A breakdown's dimensions in one order, so that ("level", "sex") and ("sex", "level") are one table."""
    return tuple(sorted(by, key=DIMENSIONS.index))


def sub_breakdowns(by: list[str]) -> list[tuple[str, ...]]:
    """Every sub-breakdown of ``by`` (the total and ``by`` itself included), keeping its order."""
    return [tuple(c) for n in range(len(by) + 1) for c in itertools.combinations(by, n)]


def with_margins(by: tuple[str, ...]) -> list[tuple[str, ...]]:
    """What protecting ``by`` needs besides itself: the same by sex (for the parity indices)."""
    out = [canonical(by)]
    if "sex" not in by:
        out.append(canonical([*by, "sex"]))
    return out


def tables_for(params: indicators.Params, breakdowns: list[tuple[str, ...]], k: int | None
               ) -> dict[tuple[str, ...], list[dict]]:
    """The rows of each breakdown: exact, or with k as partners see them (tracker.reports.disclosure)."""
    wanted = {canonical(b) for b in breakdowns}
    if k is not None:
        for by in breakdowns:
            wanted.update(with_margins(by))
    tables = exact_tables(params, list(wanted))
    protect(tables, k, params)
    return tables


def exact_tables(params: indicators.Params, breakdowns: list[tuple[str, ...]]) -> dict[tuple[str, ...], list[dict]]:
    """The exact rows of each breakdown, with their cell keys: for this package only (see ``protect``)."""
    results = indicators.compute_many(params, [list(b) for b in sorted(breakdowns, key=lambda b: (len(b), b))])
    tables = {tuple(by): rows for by, rows in results.items()}
    for rows in tables.values():
        for row in rows:
            row.setdefault("suppressed", None)
    return tables


def min_cell() -> int:
    return int(current_app.config["SUPPRESSION_K"])


# --- one door: a cell as an output may show it --------------------------------------------------------

def marker(status: str | None, k: int | None) -> str:
    """What a withheld cell shows instead of its figures: "<k"; "" when published."""
    return f"<{k}" if status else ""


@dataclass(frozen=True)
class Cell:
    """A cell as every output shows it: published (its figures) or withheld (the marker, and no figure at all).

    Templates, charts and files read figures through ``number``, so the count, rate or days of a withheld cell
    cannot reach them even if a row still carried one. A published row's count that is below the threshold
    (say the children who dropped out, of a cohort that is published) is ``below`` and has no number either.
    """

    marker: str
    small: bool
    _row: dict | None
    k: int | None = None

    @property
    def withheld(self) -> bool:
        return bool(self.marker)

    @property
    def missing(self) -> bool:
        return self._row is None

    def below(self, key: str) -> bool:
        return bool(self._row) and not self.withheld and key in (self._row.get("withheld") or ())

    def number(self, key: str = "value"):
        if self.withheld or self._row is None or self.below(key):
            return None
        return self._row.get(key)

    def text(self, key: str) -> str:
        """The marker a count below the threshold shows in a published row ("" otherwise)."""
        return f"<{self.k}" if self.below(key) else ""


def cell(row: dict | None, k: int | None) -> Cell:
    """The one function outputs use to format a cell: a published row keeps its figures, a withheld one
    (``suppressed``) keeps only its marker."""
    status = (row or {}).get("suppressed")
    return Cell(marker=marker(status, k) if status else "", small=bool(status), _row=row, k=k)


def shareable(row: dict, k: int | None) -> dict:
    """A tidy row as the files and the API give it: a withheld figure is None, and no cell key ever."""
    below = set(row.get("withheld") or ())
    withheld = bool(row.get("suppressed"))
    return {key: (None if key in NUMBER_KEYS and (withheld or key in below) else value)
            for key, value in row.items() if key not in ("_keys", "withheld")}


def small_numbers_note(k: int) -> str:
    from tracker.reports import disclosure

    r = disclosure.rules()
    if r.rounding > 1:
        return _("To protect the children, every count is changed by a small, fixed amount (at most %(d)d) and "
                 "rounded to a multiple of %(b)d, so it can differ from the true count by up to %(e)d; rates of "
                 "children are computed from these counts, attendance rates are rounded to whole percent. Counts "
                 "below %(k)d are shown as \"<%(k)d\", and rates only where at least %(k)d children are counted.",
                 d=r.max_perturbation, b=r.rounding, e=r.error_bound, k=k)
    return _("To protect the children, every count is changed by a small, fixed amount (at most %(d)d); rates of "
             "children are computed from these counts, attendance rates are rounded. Counts below %(k)d are shown "
             "as \"<%(k)d\", and rates only where at least %(k)d children are counted.", d=r.max_perturbation, k=k)


# --- the API's tidy rows -------------------------------------------------------------------------------

def indicator_rows(user: User, *, frm: dt.date | None = None, to: dt.date | None = None,
                   as_of: dt.date | None = None, period: str | None = None,
                   by: list[str] | str | None = None, school_codes: list[str] | None = None,
                   municipality: str | None = None, sharing: bool = False) -> dict:
    """Every indicator for the period and breakdown, as the API and `tracker indicators` print them."""
    where = report_scope(user, school_codes, municipality)
    k = min_cell() if suppressing(user, sharing) else None
    dims = check_dimensions(user, by, protected=k is not None)
    shape = settle_period(k is not None, period=period, frm=frm, to=to, as_of=as_of)
    if k is not None:
        check_geography(user, shape, school_codes, municipality)
    params = indicators.Params(frm=shape.frm, to=shape.to, as_of=shape.as_of, by=dims, school_ids=where.school_ids,
                               keys=k is not None)
    key = canonical(dims)
    rows = tables_for(params, [key], k)[key]
    return {"from": shape.frm.isoformat(), "to": shape.to.isoformat(), "as_of": shape.as_of.isoformat(),
            "period": shape.period.token if shape.period else None, "by": dims,
            "min_cell": k, "suppressed": k is not None, "note": small_numbers_note(k) if k is not None else None,
            "rows": [shareable(r, k) for r in rows]}


# --- the report ----------------------------------------------------------------------------------------

@dataclass
class Section:
    """A part of the report (see the ``report_sections`` hook).

    ``context(report)`` returns the variables its template needs; ``rows(report)`` the tidy rows it
    contributes to the CSV and XLSX files (each with the keys of a tidy indicator row).
    """

    slug: str
    title: str
    order: int
    template: str
    context: Callable[["Report"], dict] | None = None
    rows: Callable[["Report"], list[dict]] | None = None
    breakdowns: tuple[tuple[str, ...], ...] = ()  # the tables it reads, loaded up front with the others
    plugin: str = ""


@dataclass
class Report:
    frm: dt.date
    to: dt.date
    as_of: dt.date
    scope_label: str
    generated_by: str
    generated_at: dt.datetime
    k: int | None  # the suppression threshold, or None for exact figures
    params: Any = None
    tables: dict[tuple[str, ...], list[dict]] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    contexts: dict[str, dict] = field(default_factory=dict)  # section slug -> its template variables
    raw: dict[tuple[str, ...], list[dict]] = field(default_factory=dict)  # the exact rows, before protection
    period: Any = None  # the fixed period (tracker.reports.periods.Period), when the report covers one
    _cache: dict = field(default_factory=dict)

    @property
    def suppressed(self) -> bool:
        return self.k is not None

    def table(self, *by: str) -> list[dict]:
        """The rows of a breakdown (computed on first use, suppressed with everything else)."""
        by = canonical(by)
        if by not in self.tables:
            self.load([by])
        return self.tables[by]

    def load(self, breakdowns: list[tuple[str, ...]]) -> None:
        missing = {canonical(b) for b in breakdowns if canonical(b) not in self.tables}
        if not missing:
            return
        if self.k is not None:
            missing |= {sub for b in list(missing) for sub in with_margins(b) if sub not in self.tables}
        fresh = exact_tables(self.params, list(missing))
        for by, rows in fresh.items():
            self.raw[by] = [dict(r) for r in rows]
            self.tables[by] = rows
        if self.k is not None:
            # Decided over every table at once, from the exact figures (the groups of nobody that a table
            # shows withheld are those met in any table).
            for by, rows in self.tables.items():
                rows[:] = [{**r, "suppressed": None} for r in self.raw[by]]
        protect(self.tables, self.k, self.params)
        if self.k is not None:
            # A section's fixed table by a dimension this deployment keeps from partners: every cell withheld.
            from tracker.reports.disclosure import withhold

            allowed = set(current_app.config["REPORT_PARTNER_DIMENSIONS"])
            for by, rows in self.tables.items():
                if not set(by) <= allowed:
                    rows[:] = [withhold(r) for r in rows]

    def row(self, indicator: str, **dims) -> dict | None:
        """The row of an indicator in the breakdown given by the dims' names, or None when there is none."""
        by = tuple(d for d in DIMENSIONS if d in dims)
        for row in self.table(*by):
            if row["indicator"] == indicator and all(row.get(d) == v for d, v in dims.items()):
                return row
        return None

    def cell(self, row: dict | None) -> Cell:
        """The row as the outputs show it (see ``cell``)."""
        return cell(row, self.k)

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]


def build_report(user: User | None, *, frm: dt.date | None = None, to: dt.date | None = None,
                 as_of: dt.date | None = None, period: str | None = None,
                 school_codes: list[str] | None = None, municipality: str | None = None,
                 sharing: bool = False, progress: Callable[[str], None] | None = None,
                 today: dt.date | None = None) -> Report:
    """The retention and attendance report for a user (None: the command line, every school, exact)."""
    from tracker.reports.sections import collect_sections

    where = report_scope(user, school_codes, municipality)
    if user is None:
        k, by_whom = (min_cell() if sharing else None), _("command line")
    else:
        k, by_whom = (min_cell() if suppressing(user, sharing) else None), user.name or user.email
    shape = settle_period(k is not None, period=period, frm=frm, to=to, as_of=as_of, today=today)
    if k is not None:
        check_geography(user, shape, school_codes, municipality)
    params = indicators.Params(frm=shape.frm, to=shape.to, as_of=shape.as_of, by=[], school_ids=where.school_ids,
                               keys=k is not None)
    report = Report(frm=shape.frm, to=shape.to, as_of=shape.as_of, scope_label=where.label, generated_by=by_whom,
                    generated_at=dt.datetime.now(dt.timezone.utc), k=k, params=params, period=shape.period)
    report.sections = collect_sections()
    if progress:
        progress("indicators")
    report.load([(), *(tuple(b) for section in report.sections for b in section.breakdowns)])
    for section in report.sections:
        if progress:
            progress(section.slug)
        report.contexts[section.slug] = section.context(report) if section.context else {}
    return report
