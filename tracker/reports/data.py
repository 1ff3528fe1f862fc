"""The report's numbers: indicator rows for a user's scope, with small-cell suppression where it applies.

Who gets what:
- partners: aggregates only, always suppressed (cells below ``SUPPRESSION_K`` children shown as
  "<k", secondary suppression so they cannot be worked out), and only the breakdowns the
  deployment allows (``REPORT_PARTNER_DIMENSIONS``, at most ``REPORT_PARTNER_MAX_DIMENSIONS`` at once);
- admins and liaison officers: exact figures for their scope, unless they ask to prepare the
  report for sharing, which applies the same rule;
- teachers: no reports.

Suppression is decided per indicator over the whole lattice of breakdowns a request publishes
(the total, each dimension alone, and their combinations), top-down, so the same cell gets the
same treatment in every request: see tracker.reports.suppression.
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
from tracker.extensions import db
from tracker.indicators.dimensions import DIMENSIONS, DimensionError, parse
from tracker.schools.models import School
from tracker.types import Role

indicators = importlib.import_module("tracker.indicators.compute")  # the module, not the function

SMALL, SECONDARY = "small", "secondary"
RETENTION_COUNTS = ("cohort", "retained", "moved_onward", "dropped_out")
NUMBER_KEYS = ("numerator", "denominator", "value", *RETENTION_COUNTS, "children")
NONE = "\x00none"  # a real "no value" in a breakdown (e.g. level for out of school), not a total


class ReportError(ValueError):
    """A request the user may not make or that makes no sense; the message is shown as is (400)."""


class ReportForbidden(PermissionError):
    """This user has no reports (403)."""


# --- who may ask what ------------------------------------------------------------------------------

def may_report(user: User) -> bool:
    return user.role in (Role.admin, Role.liaison, Role.partner)


def suppressing(user: User, sharing: bool) -> bool:
    return user.role == Role.partner or bool(sharing)


def allowed_dimensions(user: User) -> list[str]:
    if user.role == Role.partner:
        return list(current_app.config["REPORT_PARTNER_DIMENSIONS"])
    return list(DIMENSIONS)


def check_dimensions(user: User, by: list[str] | str | None) -> list[str]:
    try:
        dims = parse(by)
    except DimensionError as exc:
        raise ReportError(str(exc)) from None
    allowed = allowed_dimensions(user)
    refused = [d for d in dims if d not in allowed]
    if refused:
        raise ReportError(_("Breaking down by %(dim)s is not available to partners; choose from: %(allowed)s.",
                            dim=refused[0], allowed=", ".join(allowed)))
    most = current_app.config["REPORT_PARTNER_MAX_DIMENSIONS"]
    if user.role == Role.partner and len(dims) > most:
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


# --- suppression over a lattice of breakdowns ----------------------------------------------------------

def counts_of(row: dict) -> list[int]:
    """The numbers of children a row's figures rest on (what must not be small)."""
    name = row["indicator"]
    if name.startswith("retention_"):
        return [int(row.get(k) or 0) for k in RETENTION_COUNTS]
    if name in ("attendance_rate", "register_completeness"):
        return [int(row.get("children") or 0)]
    if row.get("denominator") is None:
        return [int(row["numerator"] or 0)]
    return [int(row["numerator"] or 0), int(row["denominator"] or 0)]


def _key(row: dict, by: tuple[str, ...], order: list[str]) -> tuple:
    return tuple((NONE if row.get(d) is None else row.get(d)) if d in by else None for d in order)


def apply_suppression(tables: dict[tuple[str, ...], list[dict]], k: int) -> None:
    """Mark every row of every table (breakdown -> rows) published, "small" or "secondary"; blank the withheld.

    ``tables`` must hold every sub-breakdown of each breakdown (the total included): partners can
    ask for those too, and totals are what a hidden cell would be worked out from.
    """
    from tracker.reports.suppression import suppress

    order = [d for d in DIMENSIONS if any(d in by for by in tables)]
    cells: dict[str, dict[tuple, list[int]]] = {}
    domain: dict[str, set] = {d: set() for d in order}
    for by, rows in tables.items():
        for row in rows:
            if not row["indicator"].startswith("gpi_"):
                key = _key(row, by, order)
                cells.setdefault(row["indicator"], {})[key] = counts_of(row)
                for d, v in zip(order, key):
                    if v is not None and v != NONE:
                        domain[d].add(v)
    # A group with no row is a zero, and zero is a small number: it is shown as "<k" and takes part
    # in the lines like any other small cell (else a cell equal to its total would give its
    # neighbour away). The groups are those of the request's breakdowns, as seen in any indicator.
    zeros: dict[tuple[str, tuple], list[tuple]] = {}
    for name, table in cells.items():
        for by in tables:
            for combo in itertools.product(*(sorted(_values(name, d, domain), key=repr) for d in by)):
                key = tuple(combo[by.index(d)] if d in by else None for d in order)
                if key not in table:
                    table[key] = [0]
                    zeros.setdefault((name, by), []).append(combo)
    status = {name: suppress(c, k) for name, c in cells.items()}
    for by, rows in tables.items():
        for row in rows:
            if not row["indicator"].startswith("gpi_"):
                row["suppressed"] = status[row["indicator"]][_key(row, by, order)]
        # A parity index is published only when both the girls' and the boys' rates are.
        for row in rows:
            if row["indicator"].startswith("gpi_"):
                base = row["indicator"][4:]
                key = _key(row, by, order)
                sex_at = order.index("sex") if "sex" in order else None
                ok = sex_at is not None and all(
                    status.get(base, {}).get(key[:sex_at] + (sex,) + key[sex_at + 1:]) is None
                    and key[:sex_at] + (sex,) + key[sex_at + 1:] in cells.get(base, {})
                    for sex in ("female", "male"))
                row["suppressed"] = None if ok else SECONDARY
        for row in rows:
            if row.get("suppressed"):
                for name in NUMBER_KEYS:
                    if name in row:
                        row[name] = None
    for (name, by), combos in zeros.items():
        extra = {k: None for k in RETENTION_COUNTS} if name.startswith("retention_") else (
            {"children": None} if name in ("attendance_rate", "register_completeness") else {})
        for combo in combos:
            dims = {d: (None if v == NONE else v) for d, v in zip(by, combo)}
            key = tuple(combo[by.index(d)] if d in by else None for d in order)
            tables[by].append({"indicator": name, **dims, "numerator": None, "denominator": None, "value": None,
                               **extra, "suppressed": status[name][key]})
    for by, rows in tables.items():
        rows.sort(key=lambda r: (r["indicator"].startswith("gpi_"),
                                 indicators.INDICATORS.index(r["indicator"].removeprefix("gpi_")),
                                 [str(r.get(d)) for d in by]))


def _values(name: str, dim: str, domain: dict[str, set]) -> set:
    """The groups an indicator can have along a dimension (a level only where it has one)."""
    if dim == "level":
        if name == "out_of_school":
            return {NONE}
        if name == "transition_primary_secondary":
            return {"primary"}
        if name.startswith("retention_"):
            return {name.split("_")[1]}
    return domain[dim]


def canonical(by) -> tuple[str, ...]:
    """A breakdown's dimensions in one order, so that ("level", "sex") and ("sex", "level") are one table."""
    return tuple(sorted(by, key=DIMENSIONS.index))


def sub_breakdowns(by: list[str]) -> list[tuple[str, ...]]:
    """Every sub-breakdown of ``by`` (the total and ``by`` itself included), keeping its order."""
    return [tuple(c) for n in range(len(by) + 1) for c in itertools.combinations(by, n)]


def with_margins(by: tuple[str, ...]) -> list[tuple[str, ...]]:
    """What suppressing ``by`` needs: its sub-breakdowns, and the same by sex (for the parity indices)."""
    out = [canonical(b) for b in sub_breakdowns(list(by))]
    if "sex" not in by:
        out += [canonical(b) for b in sub_breakdowns([*by, "sex"]) if canonical(b) not in out]
    return out


def tables_for(params: indicators.Params, breakdowns: list[tuple[str, ...]], k: int | None
               ) -> dict[tuple[str, ...], list[dict]]:
    """The rows of each breakdown; with k, suppressed over all their sub-breakdowns together."""
    wanted = {canonical(b) for b in breakdowns}
    if k is not None:
        for by in breakdowns:
            wanted.update(with_margins(by))
    results = indicators.compute_many(params, [list(b) for b in sorted(wanted, key=lambda b: (len(b), b))])
    tables = {tuple(by): rows for by, rows in results.items()}
    for rows in tables.values():
        for row in rows:
            row.setdefault("suppressed", None)
    if k is not None:
        apply_suppression(tables, k)
    return tables


def min_cell() -> int:
    return int(current_app.config["SUPPRESSION_K"])


# --- one door: a cell as an output may show it --------------------------------------------------------

def marker(status: str | None, k: int | None) -> str:
    """What a withheld cell shows instead of its figures: "<k" (small), "x" (secondary); "" when published."""
    if status == SMALL:
        return f"<{k}"
    if status:
        return "x"
    return ""


@dataclass(frozen=True)
class Cell:
    """A cell as every output shows it: published (its figures) or withheld (the marker, and no figure at all).

    Templates, charts and files read figures through ``number``, so the count, rate or days of a withheld cell
    cannot reach them even if a row still carried one.
    """

    marker: str
    small: bool
    _row: dict | None

    @property
    def withheld(self) -> bool:
        return bool(self.marker)

    @property
    def missing(self) -> bool:
        return self._row is None

    def number(self, key: str = "value"):
        if self.withheld or self._row is None:
            return None
        return self._row.get(key)


def cell(row: dict | None, k: int | None) -> Cell:
    """The one function outputs use to format a cell: a published row keeps its figures, a withheld one
    (``suppressed`` small or secondary) keeps only its marker."""
    status = (row or {}).get("suppressed")
    return Cell(marker=marker(status, k) if status else "", small=status == SMALL, _row=row)


def shareable(row: dict, k: int | None) -> dict:
    """A tidy row as the files and the API give it: a withheld row's figures are all None."""
    if not row.get("suppressed"):
        return row
    return {key: (None if key in NUMBER_KEYS else value) for key, value in row.items()}


def small_numbers_note(k: int) -> str:
    return _("Groups of fewer than %(k)d children are shown as \"<%(k)d\"; cells marked \"x\" are withheld so "
             "that they cannot be worked out from the totals.", k=k)


# --- the API's tidy rows -------------------------------------------------------------------------------

def indicator_rows(user: User, *, frm: dt.date, to: dt.date, as_of: dt.date | None = None,
                   by: list[str] | str | None = None, school_codes: list[str] | None = None,
                   municipality: str | None = None, sharing: bool = False) -> dict:
    """Every indicator for the period and breakdown, as the API and `tracker indicators` print them."""
    as_of = check_period(frm, to, as_of)
    where = report_scope(user, school_codes, municipality)
    dims = check_dimensions(user, by)
    k = min_cell() if suppressing(user, sharing) else None
    params = indicators.Params(frm=frm, to=to, as_of=as_of, by=dims, school_ids=where.school_ids)
    key = canonical(dims)
    rows = tables_for(params, [key], k)[key]
    # No "note" key: the API's document (tracker/api/openapi.json) allows none; min_cell and suppressed say it.
    return {"from": frm.isoformat(), "to": to.isoformat(), "as_of": as_of.isoformat(), "by": dims,
            "min_cell": k, "suppressed": k is not None, "rows": [shareable(r, k) for r in rows]}


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
    raw: dict[tuple[str, ...], list[dict]] = field(default_factory=dict)  # the exact rows, before suppression
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
        fresh = tables_for(self.params, sorted(missing, key=lambda b: (len(b), b)), None)
        for by, rows in fresh.items():
            self.raw[by] = [dict(r) for r in rows]
            self.tables[by] = rows
        if self.k is not None:
            # Suppression is decided over every table at once, from the exact figures: withheld cells
            # must never be read back as zeros.
            for by, rows in self.tables.items():
                rows[:] = [{**r, "suppressed": None} for r in self.raw[by]]
            apply_suppression(self.tables, self.k)

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


def build_report(user: User | None, *, frm: dt.date, to: dt.date, as_of: dt.date | None = None,
                 school_codes: list[str] | None = None, municipality: str | None = None,
                 sharing: bool = False, progress: Callable[[str], None] | None = None) -> Report:
    """The retention and attendance report for a user (None: the command line, every school, exact)."""
    from tracker.reports.sections import collect_sections

    as_of = check_period(frm, to, as_of)
    where = report_scope(user, school_codes, municipality)
    if user is None:
        k, by_whom = (min_cell() if sharing else None), _("command line")
    else:
        k, by_whom = (min_cell() if suppressing(user, sharing) else None), user.name or user.email
    params = indicators.Params(frm=frm, to=to, as_of=as_of, by=[], school_ids=where.school_ids)
    report = Report(frm=frm, to=to, as_of=as_of, scope_label=where.label, generated_by=by_whom,
                    generated_at=dt.datetime.now(dt.timezone.utc), k=k, params=params)
    report.sections = collect_sections()
    if progress:
        progress("indicators")
    report.load([(), *(tuple(b) for section in report.sections for b in section.breakdowns)])
    for section in report.sections:
        if progress:
            progress(section.slug)
        report.contexts[section.slug] = section.context(report) if section.context else {}
    return report
