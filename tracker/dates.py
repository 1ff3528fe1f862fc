"""Date helpers, and the one range of dates tracker accepts from the people and scripts that use it.

A date typed by a user (API parameters, the report form, command options, register URLs) must lie
between ``EARLIEST`` and ``YEARS_AHEAD`` years after today, and a period (from, to) may be at most
``MAX_PERIOD_YEARS`` long. Why these:

- ``EARLIEST``: the records start with the academic year 2015/16; 2000 leaves room for older
  imported history and still keeps every calculation (ages, horizons, "30 days in a centre")
  far from the calendar's edge, where year 1 and year 9999 made them overflow.
- ``YEARS_AHEAD``: officers set up next year's calendar and ask "as of" a day in it, and people
  look at planned periods that have no data yet; five years covers that with room to spare and
  still refuses a mistyped year (2062 for 2026) and the far end of the calendar.
- ``MAX_PERIOD_YEARS``: a report compares terms and years; a longer period is almost always a
  typo (2062 for 2026), and it bounds the work one request can ask of the server.
"""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import gettext as _
from flask_babel import ngettext

EARLIEST = dt.date(2000, 1, 1)
YEARS_AHEAD = 5
MAX_PERIOD_YEARS = 3
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class DateInputError(ValueError):
    """A date a user gave that tracker does not accept. ``param`` is "from", "to" or "as_of" (or the
    name given to the check); ``message`` says what is wrong, naming the parameter as the user knows it."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param
        self.message = message


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def years_after(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` later (28 February for 29 February)."""
    return years_before(day, -years)


def aged_between(birth_date_col, day: dt.date, youngest: int, oldest: int):
    """A condition: age on ``day`` is at least ``youngest`` and at most ``oldest`` whole years."""
    return birth_date_col.between(years_before(day, oldest + 1) + dt.timedelta(days=1), years_before(day, youngest))


def latest(today: dt.date | None = None) -> dt.date:
    """The last day a user may ask about."""
    return years_after(today or dt.date.today(), YEARS_AHEAD)


def in_range(day: dt.date, today: dt.date | None = None) -> bool:
    return EARLIEST <= day <= latest(today)


def parse_iso(value: str, name: str) -> dt.date:
    """A date written YYYY-MM-DD (ASCII digits), checked to be in range; else DateInputError naming ``name``."""
    value = (value or "").strip()
    day = None
    if ISO_DAY.fullmatch(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:  # 2025-02-30
            pass
    if day is not None:
        return check_day(day, name)
    raise DateInputError(name, _("%(name)s must be a date like 2026-06-30.", name=name))


def check_day(day: dt.date, name: str) -> dt.date:
    """``day`` if it is in range, else DateInputError naming ``name``."""
    if not in_range(day):
        raise DateInputError(name, _("%(name)s must be between %(first)s and %(last)s.", name=name,
                                     first=EARLIEST.isoformat(), last=latest().isoformat()))
    return day


def empty_date(name: str) -> DateInputError:
    """The error for a date parameter given with no value (``as_of=``)."""
    return DateInputError(name, _("%(name)s is empty: leave it out or give a date like 2026-06-30.", name=name))


def check_period(frm: dt.date, to: dt.date, as_of: dt.date | None = None,
                 names: tuple[str, str, str] = ("from", "to", "as_of")) -> None:
    """Each day in range, ``frm`` ≤ ``to``, and at most ``MAX_PERIOD_YEARS`` between them; else
    DateInputError, its ``param`` one of ``names`` and its message naming the parameters by them."""
    n_from, n_to, n_as_of = names
    check_day(frm, n_from)
    check_day(to, n_to)
    if as_of is not None:
        check_day(as_of, n_as_of)
    if to < frm:
        raise DateInputError(n_to, _("The end of the period (%(to)s) is before its start (%(from)s).",
                                     **{"to": n_to, "from": n_from}))
    if to > years_after(frm, MAX_PERIOD_YEARS):
        raise DateInputError(n_to, ngettext("%(to)s is more than %(num)d year after %(from)s.",
                                            "%(to)s is more than %(num)d years after %(from)s.",
                                            MAX_PERIOD_YEARS, **{"to": n_to, "from": n_from}))
