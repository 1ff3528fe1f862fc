"""The partner's report on random populations (hypothesis): every figure follows the disclosure rules, and the
report, the API and a report prepared for sharing agree cell for cell.

Populations are drawn as in tests/test_indicator_properties.py (children with UASC periods, centre stays,
enrolments one after the other, registers and later corrections), a little larger, and built in a fresh
database, SQLite and PostgreSQL; the period is any school year, term or month of the population's years. For
every table of the partner's report (tracker.reports.data.build_report) and every row, against the exact rows
the report protected (``Report.raw``, which are the staff's exact figures):
- a published count is a multiple of the rounding base, at least the threshold, rests on at least the threshold
  children, and is within D + base//2 of the true count; a withheld count is at most threshold - 1 + D + base//2;
- a withheld row has no figure; a rate comes from the published counts; a day-based rate shows no days;
- the monthly attendance rows go through the same rules;
- the API's answer for a breakdown of the report has exactly the report's cells, a report prepared for sharing by
  staff is the partner's report (computed again: the same cells get the same figures).
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_disclosure_attacks import count_fields, decisive, dims_of, period_tokens
from tests.test_indicator_properties import KINDS, SETTINGS, build, new_app, pg, populations  # noqa: F401
from tracker.auth.models import User
from tracker.reports import data, disclosure
from tracker.reports.default_sections import months_of
from tracker.types import Role

NUMBERS = ("numerator", "denominator", "value", "cohort", "retained", "moved_onward", "dropped_out", "children")


def partner() -> User:
    return User(email="partner@example.org", name="partner", role=Role.partner, password_hash="x")


def admin() -> User:
    return User(email="admin@example.org", name="admin", role=Role.admin, password_hash="x")


def check_row(row: dict, exact: dict | None, r: disclosure.Rules, where) -> None:
    """One protected row against its exact row (None: a group of nobody)."""
    name, exact = row["indicator"], exact or {}
    ceiling = r.threshold - 1 + r.max_perturbation + r.rounding // 2
    if row["suppressed"]:
        assert row["suppressed"] == disclosure.SMALL, where
        assert all(row.get(k) is None for k in NUMBERS), where
        assert (exact.get(decisive(name)) or 0) <= ceiling, where
        return
    for field in count_fields(name):
        value, true = row[field], exact.get(field) or 0
        if value is None:
            assert true <= ceiling and field in (row.get("withheld") or ()), (where, field, true)
        else:
            assert value % r.rounding == 0 and value >= r.threshold and true >= r.threshold, (where, field)
            assert abs(value - true) <= r.error_bound, (where, field, value, true)
    if name in disclosure.DAY_RATES:
        assert row["numerator"] is None and row["denominator"] is None, where
        assert row["value"] == r.day_rate(exact.get("value")), where
    elif count_fields(name) == ("numerator",):
        assert row["value"] == row["numerator"] and row["denominator"] is None, where
    else:
        assert row["value"] == r.rate(row["numerator"], row["denominator"]) and 0 <= row["value"] <= 1, where


@pytest.mark.parametrize("kind", KINDS)
@settings(SETTINGS, max_examples=10,
          suppress_health_check=[*SETTINGS.suppress_health_check, HealthCheck.data_too_large])
@given(spec=populations(min_children=3, max_children=12, max_edits=10), period=st.sampled_from(period_tokens()),
       dims=st.sampled_from([(), ("sex",), ("uasc",), ("level",), ("age_band",), ("level", "sex"), ("level", "uasc"),
                             ("sex", "uasc")]))
def test_the_partners_report_follows_the_rules_and_agrees_with_the_api(new_app, kind, spec, period, dims):
    with new_app() as app, app.test_request_context():
        build(spec)
        r = disclosure.rules()
        report = data.build_report(partner(), period=period)
        staff = data.build_report(admin(), period=period)
        shared = data.build_report(admin(), period=period, sharing=True)
        api = data.indicator_rows(partner(), period=period, by=list(dims))
        months = months_of(report)
        exact_months = {m["month"]: m for m in months_of(staff)}
        assert (report.frm, report.to, report.as_of) == (staff.frm, staff.to, staff.as_of)
        for by, rows in report.tables.items():
            raw = {(x["indicator"], dims_of(x, by)): x for x in report.raw[by]}
            exact = {(x["indicator"], dims_of(x, by)): x for x in staff.table(*by)}
            assert {c: {k: v for k, v in x.items() if k != "_keys"} for c, x in raw.items()} == exact, \
                ("the report protects the staff's exact figures", by)
            for row in rows:
                if not row["indicator"].startswith("gpi_"):
                    cell = (row["indicator"], dims_of(row, by))
                    check_row(row, exact.get(cell), r, (period, by, cell))
            assert rows == shared.tables[by], ("a report prepared for sharing is not the partner's", by)
        for m in months:
            check_row(m, exact_months.get(m["month"]), r, ("month", m["month"]))
        by = data.canonical(dims)
        if by in report.tables:
            assert {(x["indicator"], dims_of(x, by)): x for x in api["rows"]} == \
                {(x["indicator"], dims_of(x, by)): data.shareable(x, report.k) for x in report.tables[by]}, \
                ("the API and the report give different cells", by)
