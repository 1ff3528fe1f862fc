"""The demo's two academic years and their Serbian non-school days.

Public holidays follow the Serbian law on state holidays: when a holiday falls on a Sunday,
the next working day is free (a Saturday holiday is not moved). Orthodox Easter is computed.
Only weekdays are stored: weekends are never school days anyway.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class DemoYear:
    label: str
    first_day: dt.date
    last_day: dt.date


YEARS = (
    DemoYear("2025/26", dt.date(2025, 9, 1), dt.date(2026, 6, 19)),
    DemoYear("2026/27", dt.date(2026, 9, 1), dt.date(2027, 6, 18)),
)

# Muslim holidays (first day of each Bajram, estimated) on which schools in Tutin hold no classes.
BAJRAM = {
    "2025/26": [(dt.date(2026, 3, 20), "Ramazanski bajram (Eid al-Fitr)"),
                (dt.date(2026, 5, 27), "Kurban bajram (Eid al-Adha)")],
    "2026/27": [(dt.date(2027, 3, 10), "Ramazanski bajram (Eid al-Fitr)"),
                (dt.date(2027, 5, 17), "Kurban bajram (Eid al-Adha)")],
}


def orthodox_easter(year: int) -> dt.date:
    """Orthodox Easter Sunday (Meeus' Julian algorithm, in the Gregorian calendar; 1900-2099)."""
    a, b, c = year % 4, year % 7, year % 19
    d = (19 * c + 15) % 30
    e = (2 * a + 4 * b - d + 34) % 7
    month, day = divmod(d + e + 114, 31)
    return dt.date(year, month, day + 1) + dt.timedelta(days=13)


def _friday_on_or_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(4 - day.weekday()) % 7)


def non_school_days(year: DemoYear) -> dict[dt.date, str]:
    """{weekday: description} of the days without classes in every school in ``year``."""
    first, last = year.first_day, year.last_day
    autumn, spring = first.year, last.year
    days: dict[dt.date, str] = {}

    def holiday(dates: list[dt.date], description: str) -> None:
        """A state holiday: each Sunday date moves to the next free weekday."""
        taken = set(dates)
        for d in dates:
            if d.weekday() == 6:
                d += DAY
                while d.weekday() >= 5 or d in taken or d in days:
                    d += DAY
                taken.add(d)
            if first <= d <= last and d.weekday() < 5:
                days.setdefault(d, description)

    def span(start: dt.date, end: dt.date, description: str) -> None:
        d = start
        while d <= end:
            if first <= d <= last and d.weekday() < 5:
                days.setdefault(d, description)
            d += DAY

    easter = orthodox_easter(spring)
    holiday([dt.date(autumn, 11, 11)], "Dan primirja u Prvom svetskom ratu (Armistice Day)")
    holiday([dt.date(spring, 1, 1), dt.date(spring, 1, 2)], "Nova godina (New Year)")
    holiday([dt.date(spring, 1, 7)], "Božić (Orthodox Christmas)")
    span(dt.date(spring, 1, 27), dt.date(spring, 1, 27), "Savindan (Saint Sava Day)")
    holiday([dt.date(spring, 2, 15), dt.date(spring, 2, 16)], "Sretenje – Dan državnosti (Statehood Day)")
    span(easter - 2 * DAY, easter - 2 * DAY, "Veliki petak (Orthodox Good Friday)")
    span(easter + DAY, easter + DAY, "Vaskršnji ponedeljak (Orthodox Easter Monday)")
    holiday([dt.date(spring, 5, 1), dt.date(spring, 5, 2)], "Praznik rada (Labour Day)")
    # Breaks fill the days the holidays left.
    span(dt.date(autumn, 12, 31), _friday_on_or_after(dt.date(spring, 1, 14)), "Zimski raspust (winter break)")
    span(easter - 2 * DAY, easter + 5 * DAY, "Prolećni raspust (spring break)")
    return dict(sorted(days.items()))


def school_specific_days(year: DemoYear, schools: list[tuple[str, str]]) -> list[tuple[str, dt.date, str]]:
    """(school code, weekday, description): Bajram in Tutin's schools, and a few schools' own day.

    ``schools`` is [(code, municipality)] in a fixed order; the choice depends on nothing else.
    """
    closed = non_school_days(year)
    out = []
    for code, municipality in schools:
        if municipality == "Tutin":
            out += [(code, d, why) for d, why in BAJRAM[year.label] if d.weekday() < 5 and d not in closed]
    # "Dan škole": every fifth school celebrates its own day, on a fixed weekday in spring.
    for i, (code, _municipality) in enumerate(schools):
        if i % 5 == 2:
            d = dt.date(year.last_day.year, 3 + i % 3, 10 + i % 15)
            while d.weekday() >= 5 or d in closed:
                d += DAY
            if all(not (c == code and x == d) for c, x, _w in out):
                out.append((code, d, "Dan škole (school day)"))
    return out

