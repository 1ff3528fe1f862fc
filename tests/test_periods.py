"""The fixed periods partners choose from (tracker.reports.periods): which are offered, what they cover, and the
one a report page opens on."""
from __future__ import annotations

import datetime as dt

import pytest

from tracker.extensions import db
from tracker.reports import periods

D = dt.date


@pytest.fixture
def years(app):
    from tracker.models import AcademicYear

    db.session.add_all([AcademicYear(label="2024/25", first_day=D(2024, 9, 2), last_day=D(2025, 6, 20)),
                        AcademicYear(label="2025/26", first_day=D(2025, 9, 1), last_day=D(2026, 6, 19))])
    db.session.commit()


def enrol_on(world, day: dt.date) -> None:
    from tracker.enrolment import operations as enrol_ops

    enrol_ops.enrol(world.child_b, world.school_b, "primary", 3, day)
    db.session.commit()


def test_periods_are_years_terms_and_months_with_a_whole_month_behind_them(years):
    offered = [p.token for p in periods.available(D(2025, 10, 15))]
    # The current year has one whole month (September) behind 15 October: it, its first term and September.
    assert offered[:3] == ["2025/26", "2025/26-1", "2025-09"]
    assert "2025-10" not in offered and "2025/26-2" not in offered
    assert {"2024/25", "2024/25-1", "2024/25-2", "2024-09", "2025-06"} <= set(offered)
    term = periods.find("2024/25-2", D(2025, 10, 15))
    assert (term.first, term.last) == (D(2025, 1, 1), D(2025, 6, 20))
    # A period still running is counted up to the end of last month.
    assert periods.bounds(periods.find("2025/26", D(2025, 10, 15)), D(2025, 10, 15)) == (D(2025, 9, 1), D(2025, 9, 30))
    with pytest.raises(periods.PeriodError, match="not a period"):
        periods.find("2025-9", D(2025, 10, 15))
    with pytest.raises(periods.PeriodError, match="no figures"):
        periods.find("2025-10", D(2025, 10, 15))


def test_the_report_opens_on_a_year_with_retention_to_show(years, world):
    from tracker.enrolment.models import Enrolment

    db.session.query(Enrolment).delete()
    db.session.commit()
    today = D(2025, 10, 15)
    # Nobody enrolled 90 days before the end of September in the current year: the last year, which has a cohort.
    assert periods.default(today).token == "2025/26"
    assert periods.default(today, retention=True).token == "2024/25"
    enrol_on(world, D(2025, 9, 1))
    assert periods.default(D(2025, 12, 15), retention=True).token == "2025/26"  # 1 September + 90 days: 30 November
