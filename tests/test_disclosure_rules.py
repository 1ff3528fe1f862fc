"""The rules of disclosure control (tracker.reports.disclosure), one by one: how far a published figure is from the
truth, what is withheld, how rates and day-based rates are made, the perturbation table, the settings tracker refuses
to start with, record keys that never leave tracker.reports, staff's exact figures left as they are, and the
breakdowns partners may ask for.

The pipeline tests run on the generated population of tests/test_disclosure_attacks.py (its ``population``
fixture), SQLite and PostgreSQL; true counts come from the exact path for the same period and place.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections import Counter

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tests.conftest import PASSWORD, base_config
from tests.test_disclosure_attacks import population  # noqa: F401  (a fixture)
from tests.test_disclosure_attacks import (COUNTRY, TERM_1, YEAR, admin, ask, build_population, count_fields, decisive,
                                           dims_of, draw_population, exact_tables, partner, partner_with_truth, place,
                                           town_sizes)
from tracker import create_app
from tracker.auth.models import User
from tracker.children.models import RECORD_KEY_MODULUS, Child
from tracker.extensions import db
from tracker.indicators.compute import COUNTS, Params, compute
from tracker.models import School
from tracker.reports import data, disclosure
from tracker.reports.disclosure import DisclosureConfigError, Rules
from tracker.types import Role

NUMBERS = ("numerator", "denominator", "value", "cohort", "retained", "moved_onward", "dropped_out", "children")
# (place, period, breakdowns): a spread of what partners ask for.
REQUESTS = [
    (COUNTRY, YEAR, [(), ("sex",), ("uasc", "age_band"), ("level", "municipality")]),
    (("municipality", "Beograd"), TERM_1, [(), ("sex", "level"), ("age_band",)]),
    (("school", "PR002"), "2024-03", [(), ("sex", "uasc"), ("level",)]),
    (("municipality", "Subotica"), "2024/25", [("uasc",), ("sex", "age_band")]),
]


def cells(rows, by) -> dict:
    return {(r["indicator"], dims_of(r, by)): r for r in rows if not r["indicator"].startswith("gpi_")}


# --- published figures against the truth ----------------------------------------------------------------------

def test_every_figure_follows_the_rules(population):
    """Every published count is a multiple of the rounding base, at least the threshold, rests on at least the
    threshold children and is within D + base//2 of the true count; a count is withheld only when its true count is
    at most threshold - 1 + D + base//2; a withheld row has no figure at all; a rate comes from the published counts
    (a withheld numerator as 0), capped at 1, rounded to DISCLOSURE_RATE_DECIMALS and only over a published
    denominator; a day-based rate has no days and is the exact rate rounded, over a published number of children;
    retention rows carry their four counts; the API's rows never list which counts are withheld (just None)."""
    r = disclosure.rules()
    bound, ceiling = r.error_bound, r.threshold - 1 + r.max_perturbation + r.rounding // 2
    assert bound == 4 and ceiling == 8  # the defaults: D = 2, base 5, threshold 5
    seen = Counter()
    for geo, period, breakdowns in REQUESTS:
        exact = exact_tables(geo, period, breakdowns)
        for by in breakdowns:
            shown = ask(partner(), geo, period, by)
            assert shown["suppressed"] is True and shown["min_cell"] == r.threshold
            truth = cells(exact[data.canonical(by)], by)
            for cell, row in cells(shown["rows"], by).items():
                name, true_row = cell[0], truth.get(cell, {})
                assert "withheld" not in row and "_keys" not in row
                if row["suppressed"]:
                    assert row["suppressed"] == "small"
                    assert all(row.get(k) is None for k in NUMBERS), row
                    t = true_row.get(decisive(name)) or 0
                    assert t <= ceiling, (cell, t)
                    seen["withheld row"] += 1
                    continue
                for field in count_fields(name):
                    value, t = row[field], true_row.get(field) or 0
                    if value is None:
                        assert t <= ceiling, (cell, field, t)
                        seen["withheld count"] += 1
                    else:
                        assert value % r.rounding == 0 and value >= r.threshold and t >= r.threshold, (cell, field)
                        assert abs(value - t) <= bound, (cell, field, value, t)
                        seen["published"] += 1
                if name in disclosure.DAY_RATES:
                    assert row["numerator"] is None and row["denominator"] is None, row
                    assert row["value"] == r.day_rate(true_row["value"]), (row, true_row)
                elif count_fields(name) != ("numerator",):
                    assert row["denominator"] is not None
                    expected = round(min(1.0, (row["numerator"] or 0) / row["denominator"]), r.rate_decimals)
                    assert row["value"] == expected and 0 <= row["value"] <= 1, row
                    seen["rate"] += 1
                else:
                    assert row["value"] == row["numerator"] and row["denominator"] is None
                if name.startswith("retention_"):
                    assert {"cohort", "retained", "moved_onward", "dropped_out"} <= set(row)
    assert min(seen["withheld row"], seen["withheld count"], seen["published"], seen["rate"]) > 10, seen


def test_the_report_lists_the_withheld_counts_of_a_published_row(population):
    """Inside tracker.reports (the page, the PDF, the charts read it) a published row names its counts below the
    threshold in ``withheld``, each None; the files and the API drop the list (data.shareable) and keep the Nones.
    Parity indices are computed from the published rates of girls and boys."""
    report = data.build_report(partner(), period=YEAR)
    listed = 0
    for by, rows in report.tables.items():
        for row in rows:
            if row["indicator"].startswith("gpi_") or row["suppressed"]:
                continue
            none = [f for f in count_fields(row["indicator"]) if row[f] is None]
            assert sorted(row.get("withheld") or []) == sorted(none), row
            listed += len(none)
            assert "withheld" not in data.shareable(row, report.k)
    assert listed > 0
    by_sex = {r["indicator"]: r for r in report.table("sex") if r.get("sex") == "female"}, \
        {r["indicator"]: r for r in report.table("sex") if r.get("sex") == "male"}
    for row in report.table():
        if row["indicator"].startswith("gpi_"):
            girls, boys = (side.get(row["indicator"][4:]) for side in by_sex)
            rates = [None if x is None or x["suppressed"] else x["value"] for x in (girls, boys)]
            assert row["value"] == disclosure.gpi(*rates), (row, rates)


@pytest.fixture
def big_population(app):
    """A larger population: national counts in the hundreds."""
    build_population(draw_population(7, 700, registers=0.2))
    with app.test_request_context():
        yield app


def test_national_totals_are_close_to_the_truth(big_population):
    """For a true national count of at least 100 children the published count is within 4% of it (the error is
    at most D + base//2 = 4 children)."""
    checked = 0
    for period in ("2023/24", "2024/25", "2024/25-1"):
        breakdowns = [(), ("sex",), ("level",)]
        exact = exact_tables(COUNTRY, period, breakdowns)
        for by in breakdowns:
            truth = cells(exact[by], by)
            for cell, row in cells(ask(partner(), COUNTRY, period, by)["rows"], by).items():
                for field in count_fields(cell[0]):
                    t = (truth.get(cell) or {}).get(field) or 0
                    if t >= 100:
                        assert row[field] is not None and abs(row[field] - t) / t <= 0.04, (cell, field, row[field], t)
                        checked += 1
    assert checked >= 10


# --- the perturbation ----------------------------------------------------------------------------------------

def test_perturbation_is_fixed_bounded_and_never_makes_a_count_negative():
    """The same (count, cell key) always gives the same perturbation, within [-D, D]; a count of 0 is not
    changed and no count is made negative; the published value is None below the threshold, before or after."""
    r = Rules()
    rnd = random.Random(20240917)
    for _ in range(4000):
        count, key = rnd.randrange(0, 40), rnd.randrange(RECORD_KEY_MODULUS)
        e = r.perturbation(count, key)
        assert e == r.perturbation(count, key) and -r.max_perturbation <= e <= r.max_perturbation
        assert count + e >= 0 and (count > 0 or e == 0)
        shown = r.publish(count, key)
        assert shown == r.publish(count, key)
        if count < r.threshold or r.rounded(count + e) < r.threshold:
            assert shown is None
        else:
            assert shown == r.rounded(count + e) and shown % r.rounding == 0
    for d in (1, 3):
        wide = Rules(max_perturbation=d, probabilities=tuple([1 / (2 * d + 1)] * (2 * d + 1)))
        assert {wide.perturbation(c, rnd.randrange(RECORD_KEY_MODULUS)) + c >= 0 for c in range(5) for _ in range(50)} \
            == {True}


def frequencies(values) -> dict[int, float]:
    counts = Counter(values)
    return {e: n / len(values) for e, n in counts.items()}


def test_perturbation_follows_the_table_over_random_keys():
    """Statistical check, fixed seed, generous tolerance: over random cell keys the perturbations of a count
    follow DISCLOSURE_PERTURBATION (for a count of 1, without -2 and the rest scaled up); one child more (its
    record key added) gives an unrelated perturbation - the pair's distribution is the product of the two."""
    r = Rules()
    rnd = random.Random(7)
    keys = [rnd.randrange(RECORD_KEY_MODULUS) for _ in range(40_000)]
    table = dict(zip(range(-2, 3), r.probabilities))
    for count in (5, 12, 37):
        got = frequencies([r.perturbation(count, k) for k in keys])
        assert all(abs(got.get(e, 0) - p) < 0.015 for e, p in table.items()), (count, got)
    got = frequencies([r.perturbation(1, k) for k in keys])
    scaled = {e: p / 0.95 for e, p in table.items() if e >= -1}
    assert -2 not in got and all(abs(got.get(e, 0) - p) < 0.015 for e, p in scaled.items()), got
    pairs = Counter((r.perturbation(10, k), r.perturbation(11, (k + rnd.randrange(RECORD_KEY_MODULUS))
                                                             % RECORD_KEY_MODULUS)) for k in keys)
    for (a, b), n in pairs.items():
        assert abs(n / len(keys) - table[a] * table[b]) < 0.015, (a, b, n / len(keys))
    # The published values of a count with random keys: every multiple of 5 within reach, none other.
    assert {r.publish(7, k) for k in keys[:2000]} == {5, 10}
    assert {r.publish(10, k) for k in keys[:2000]} == {10}


def test_rates_are_made_from_published_counts():
    r = Rules()
    assert r.rate(3, None) is None and r.rate(3, 4) is None
    assert r.rate(None, 10) == 0.0 and r.rate(15, 10) == 1.0 and r.rate(2, 3 * 5) == 0.13
    assert r.day_rate(None) is None and r.day_rate(0.987654) == 0.99 and r.day_rate(1.2) == 1.0
    assert r.error_bound == 4 and Rules(rounding=1, max_perturbation=0, probabilities=(1.0,)).error_bound == 0


# --- settings -------------------------------------------------------------------------------------------------

BAD_SETTINGS = [
    {"DISCLOSURE_PERTURBATION": (0.1, 0.2, 0.5, 0.2, 0.1)},  # adds up to 1.1
    {"DISCLOSURE_PERTURBATION": (0.2, 0.6, 0.2)},  # 3 chances for a maximum of 2
    {"DISCLOSURE_PERTURBATION": (0.5, 0.6, -0.2, 0.05, 0.05)},  # a negative chance
    {"DISCLOSURE_ROUNDING": 0},
    {"DISCLOSURE_ROUNDING": -5},
    {"DISCLOSURE_ROUNDING": 2.5},
    {"DISCLOSURE_MAX_PERTURBATION": -1, "DISCLOSURE_PERTURBATION": ()},
    {"DISCLOSURE_MAX_PERTURBATION": True, "DISCLOSURE_PERTURBATION": (0.25, 0.5, 0.25)},
    {"SUPPRESSION_K": 0},
    {"DISCLOSURE_MIN_SCHOOL_CHILDREN": 0},
    {"DISCLOSURE_RATE_DECIMALS": 7},
]


@pytest.mark.parametrize("bad", BAD_SETTINGS, ids=lambda b: ",".join(f"{k}={v}" for k, v in b.items()))
def test_unusable_settings_stop_the_app_from_starting(bad, tmp_path):
    """A perturbation table that does not add up to 1 or has the wrong length, a rounding base below 1, a
    negative maximum and the like raise DisclosureConfigError, and create_app refuses to start with them."""
    with pytest.raises(DisclosureConfigError):
        Rules.from_config(bad)
    with pytest.raises(DisclosureConfigError):
        create_app(base_config(f"sqlite:///{tmp_path / 'x.sqlite3'}", **bad))


def test_usable_settings_are_taken():
    rules = Rules.from_config({"DISCLOSURE_MAX_PERTURBATION": 1, "DISCLOSURE_PERTURBATION": [0.25, 0.5, 0.25],
                               "DISCLOSURE_ROUNDING": 3, "SUPPRESSION_K": 3})
    assert (rules.max_perturbation, rules.rounding, rules.threshold, rules.error_bound) == (1, 3, 3, 2)
    assert Rules.from_config({}) == Rules()


# --- record keys never leave ----------------------------------------------------------------------------------

def secrets(report_tables) -> set[int]:
    """Every record key, and the cell keys of the given exact rows (only numbers above any count here)."""
    found = set(db.session.scalars(sa.select(Child.record_key)))
    for rows in report_tables:
        for row in rows:
            found.update((row.get("_keys") or {}).values())
    return {k for k in found if k >= 10_000}


def numbers_in(value) -> list:
    """The integers in a JSON value, and the all-digit strings."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers_in(v)]
    if isinstance(value, list):
        return [n for v in value for n in numbers_in(v)]
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float)):
        return [value]
    return [int(value)] if isinstance(value, str) and value.strip().isdigit() else []


def test_record_keys_and_cell_keys_never_leave_tracker_reports(population, client, password_hash):
    """No output carries ``_keys``, a record key or a cell key: the API's JSON for a partner, the CSV and XLSX
    files for a partner, for staff (exact) and for staff preparing for sharing, and staff's exact rows."""
    from tracker.api import tokens

    users = {role: User(email=f"{role.value}@example.org", name=role.value, role=role, password_hash=password_hash)
             for role in (Role.partner, Role.admin)}
    db.session.add_all(users.values())
    db.session.commit()
    keys = secrets([])
    _answer, exact = partner_with_truth(COUNTRY, YEAR, ("sex", "uasc"))
    keys |= secrets([exact])
    keys |= secrets(data.build_report(partner(), period=YEAR).raw.values())
    assert len(keys) > 200
    token, _row = tokens.issue(users[Role.partner], "script", 30)
    db.session.commit()
    for by in ("sex,uasc", "level", "", "age_band,municipality"):
        r = client.get("/api/v1/indicators", headers={"Authorization": f"Bearer {token}"},
                       query_string={"period": YEAR, "by": by})
        assert r.status_code == 200, r.get_data(as_text=True)
        assert "_keys" not in r.get_data(as_text=True) and "record_key" not in r.get_data(as_text=True)
        assert not set(numbers_in(r.get_json())) & keys
    api_csv = client.get("/api/v1/report.csv", headers={"Authorization": f"Bearer {token}"},
                         query_string={"period": YEAR})
    assert api_csv.status_code == 200
    files = [api_csv.get_data(as_text=True)]
    for role, query in ((Role.partner, ""), (Role.admin, ""), (Role.admin, "&sharing=y")):
        client.post("/logout")
        client.post("/login", data={"email": users[role].email, "password": PASSWORD})
        for fmt in ("csv", "xlsx"):
            r = client.get(f"/reports/report.{fmt}?period={YEAR}{query}")
            assert r.status_code == 200, (role, fmt, r.status_code)
            if fmt == "csv":
                files.append(r.get_data(as_text=True))
            else:
                book = load_workbook(io.BytesIO(r.data))
                values = [c for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row]
                assert not any("_keys" in str(v) or "record_key" in str(v) for v in values)
                assert not set(numbers_in(values)) & keys
    for text in files:
        assert "_keys" not in text and "record_key" not in text
        grid = [c for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for c in row]
        assert not set(numbers_in(grid)) & keys
    staff = [ask(admin(), COUNTRY, YEAR, ("sex",))["rows"],
             *data.build_report(admin(), period=YEAR).tables.values()]
    assert not any("_keys" in row for rows in staff for row in rows)
    assert not set(numbers_in(staff)) & keys


# --- staff -----------------------------------------------------------------------------------------------------

def test_staff_get_the_exact_indicators_unchanged(population):
    """Staff's figures (no sharing) are tracker.indicators.compute.compute for the same Params, row for row, with
    no cell keys; a staff member preparing for sharing gets exactly the partner's answer."""
    def ids(geo):
        kind, name = geo
        return None if kind == "country" else sa.select(School.id).where(
            School.municipality == name if kind == "municipality" else School.code == name)

    cases = [(COUNTRY, {"period": YEAR}, ("sex", "uasc")), (("municipality", "Beograd"), {"period": "2024-03"}, ()),
             (("school", "PR003"), {"period": TERM_1}, ("level",)),  # a small school: staff see it
             (COUNTRY, {"frm": dt.date(2023, 10, 3), "to": dt.date(2024, 2, 11),
                        "as_of": dt.date(2024, 3, 1)}, ("age_band", "country", "centre"))]
    for geo, when, by in cases:
        got = data.indicator_rows(admin(), by=list(by), **when, **place(geo))
        frm, to, as_of = (dt.date.fromisoformat(got[k]) for k in ("from", "to", "as_of"))
        expected = compute(Params(frm=frm, to=to, as_of=as_of, by=list(by), school_ids=ids(geo)))
        assert got["suppressed"] is False and got["min_cell"] is None
        assert [{k: v for k, v in row.items() if k != "suppressed"} for row in got["rows"]] == expected
        assert all(row["suppressed"] is None for row in got["rows"])
    report = data.build_report(admin(), period=YEAR)
    for by, rows in report.tables.items():
        expected = compute(Params(frm=report.frm, to=report.to, as_of=report.as_of, by=list(by)))
        assert [{k: v for k, v in row.items() if k != "suppressed"} for row in rows] == expected, by
    for geo, period, by in ((COUNTRY, YEAR, ("sex", "uasc")), (("school", "PR001"), "2023-11", ("level",))):
        assert data.indicator_rows(admin(), period=period, by=list(by), sharing=True, **place(geo)) == \
            ask(partner(), geo, period, by)


# --- what partners may ask for --------------------------------------------------------------------------------

def test_partners_break_down_only_by_the_allowed_dimensions(population):
    """Country, centre and school are not breakdowns for partners (nor for staff preparing for sharing), nor are
    more than two dimensions at once; a deployment's narrower list is obeyed. Staff break down by anything."""
    for user, sharing in ((partner(), False), (admin(), True)):
        for by in (["country"], ["centre"], ["school"], ["sex", "country"], ["sex", "uasc", "level"], ["nonsense"],
                   ["sex", "sex"]):
            with pytest.raises(data.ReportError):
                data.indicator_rows(user, period=YEAR, by=by, sharing=sharing)
    assert data.indicator_rows(admin(), period=YEAR, by=["country", "centre", "school"])["suppressed"] is False
    population.config["REPORT_PARTNER_DIMENSIONS"] = ["sex", "level"]
    with pytest.raises(data.ReportError, match="sex, level"):
        data.indicator_rows(partner(), period=YEAR, by=["uasc"])
    assert data.indicator_rows(partner(), period=YEAR, by=["sex", "level"])["rows"]


# --- groups of nobody, and municipalities too small to be shown alone ------------------------------------------

DOMAIN = {"sex": {"female", "male"}, "uasc": {"accompanied", "separated", "unaccompanied"},
          "age_band": {"under_6", "6-10", "11-14", "15-17", "18+"}}


def test_a_group_of_nobody_is_shown_like_a_group_of_a_few(population):
    """Attack: a withheld "<5" may hold 0 children or a few, and docs/reports.md promises that a partner cannot tell
    which. Ask for the months of a small municipality and look at which rows the answer has: every count
    indicator (enrolled, new enrolments, exits by reason) must have a row for every group of sex, UASC status and
    age band, whatever the counts."""
    missing = []
    for period in ("2023-10", "2024-01", "2024-03"):
        for by in ((), ("uasc",), ("age_band",)):
            rows = ask(partner(), ("municipality", "Subotica"), period, by)["rows"]
            have = {(r["indicator"], tuple(r.get(d) for d in by)) for r in rows}
            groups = [()] if not by else [(v,) for v in sorted(DOMAIN[by[0]])]
            missing += [(period, name, g) for name in COUNTS for g in groups if (name, g) not in have]
    assert not missing, (len(missing), missing[:6])


def test_a_municipality_too_small_to_be_shown_alone_is_not_shown_as_a_group(population):
    """Attack: the municipality a partner may not ask for (too few children in the month) is one group of the
    country broken down by municipality; its cells there are the cells the refusal withholds (the same children,
    the same cell keys, the same published values). None of them should be published."""
    population.config["DISCLOSURE_MIN_SCHOOL_CHILDREN"] = 25
    month, town = next((m, t) for m in ("2023-09", "2023-10", "2024-06") for t in ("Subotica", "Beograd")
                       if 20 <= town_sizes(m)[t] < 25)
    with pytest.raises(data.ReportError, match="too few"):
        ask(partner(), ("municipality", town), month, ("sex",))
    rows = ask(partner(), COUNTRY, month, ("municipality", "sex"))["rows"]
    published = [r for r in rows if r.get("municipality") == town and not r["suppressed"]]
    assert not published, published[:3]
