"""The fixed periods of partners' figures: whole school years, terms and months.

Partners (and staff preparing a report for sharing) cannot ask for any two dates: the difference
of two periods one day apart would show what happened on that day. They choose a period:

- a school year, ``2025/26`` (its first to its last day);
- a term, ``2025/26-1`` (the first day of the school year to 31 December) or ``2025/26-2``
  (1 January to the last day);
- a calendar month of a school year, ``2025-09``.

A period is counted up to the end of the last whole month before today, and as of that day: a
period still running is shown up to the end of last month, the same figures all month long.
A period with no whole month behind it yet is not offered.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _

from tracker.extensions import db
from tracker.schools.models import AcademicYear

YEAR = re.compile(r"^(\d{4})/(\d{2})$")
TERM = re.compile(r"^(\d{4})/(\d{2})-([12])$")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(ValueError):
    """Not a period partners can ask for; the message is shown as is."""


@dataclass(frozen=True)
class Period:
    token: str
    kind: str  # "year", "term" or "month"
    first: dt.date
    last: dt.date

    @property
    def label(self) -> str:
        if self.kind == "year":
            return _("School year %(year)s", year=self.token)
        if self.kind == "term":
            year, term = self.token.split("-")
            return _("Term %(n)s of %(year)s", n=term, year=year)
        return format_date(self.first, "LLLL y")


def last_whole_day(today: dt.date) -> dt.date:
    """The last day of the last whole month before ``today``."""
    return today.replace(day=1) - dt.timedelta(days=1)


def _years() -> list[AcademicYear]:
    return list(db.session.scalars(sa.select(AcademicYear).order_by(AcademicYear.first_day.desc())))


def _of_year(year: AcademicYear) -> list[Period]:
    out = [Period(year.label, "year", year.first_day, year.last_day)]
    new_year = dt.date(year.first_day.year + 1, 1, 1)
    if year.first_day < new_year <= year.last_day:
        out += [Period(f"{year.label}-1", "term", year.first_day, new_year - dt.timedelta(days=1)),
                Period(f"{year.label}-2", "term", new_year, year.last_day)]
    month = year.first_day.replace(day=1)
    months = []
    while month <= year.last_day:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        months.append(Period(month.strftime("%Y-%m"), "month", month, following - dt.timedelta(days=1)))
        month = following
    return out + months[::-1]


def available(today: dt.date) -> list[Period]:
    """Every period that has at least one whole month behind it, newest school year first."""
    until = last_whole_day(today)
    seen, out = set(), []
    for year in _years():
        for period in _of_year(year):
            if period.first <= until and period.token not in seen:
                seen.add(period.token)
                out.append(period)
    return out


def find(token: str, today: dt.date) -> Period:
    token = (token or "").strip()
    if not (YEAR.match(token) or TERM.match(token) or MONTH.match(token)):
        raise PeriodError(_("%(period)s is not a period. Choose a school year (2025/26), a term (2025/26-1 or "
                            "2025/26-2) or a month (2025-09).", period=token or '""'))
    for period in available(today):
        if period.token == token:
            return period
    raise PeriodError(_("There are no figures for %(period)s yet: a period is shown once a whole month of it has "
                        "ended, and only for the school years tracker knows.", period=token))


def default(today: dt.date, *, retention: bool = False) -> Period | None:
    """The period shown without a choice: the school year of the last whole month. With ``retention`` (the report
    page), the last school year before it while the current one has no retention cohort yet (nobody enrolled 90
    days before the end of last month), so that retention shows on first open."""
    until = last_whole_day(today)
    years = [p for p in available(today) if p.kind == "year"]
    current = [p for p in years if p.first <= until <= p.last]
    if retention and current and not _has_cohort(current[0], until):
        return next(p for p in years if p.last < current[0].first) if any(
            p.last < current[0].first for p in years) else current[0]
    return (current or years or [None])[0]


def _has_cohort(period: Period, until: dt.date) -> bool:
    """Anybody enrolled in the period at least 90 days (the first retention horizon) before ``until``."""
    from tracker.enrolment.models import Enrolment
    from tracker.indicators.compute import HORIZONS

    latest = until - dt.timedelta(days=min(HORIZONS))
    if latest < period.first:
        return False
    return db.session.scalar(sa.select(Enrolment.id).where(Enrolment.start_date.between(period.first, latest))
                             .limit(1)) is not None


def bounds(period: Period, today: dt.date) -> tuple[dt.date, dt.date]:
    """(first day, last day counted): the period, up to the end of the last whole month."""
    return period.first, min(period.last, last_whole_day(today))
