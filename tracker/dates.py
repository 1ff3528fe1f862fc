"""Date helpers."""
import datetime as dt


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def aged_between(birth_date_col, day: dt.date, youngest: int, oldest: int):
    """A condition: age on ``day`` is at least ``youngest`` and at most ``oldest`` whole years."""
    return birth_date_col.between(years_before(day, oldest + 1) + dt.timedelta(days=1), years_before(day, youngest))
