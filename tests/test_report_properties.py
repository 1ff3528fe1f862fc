"""Disclosure control through the real pipeline (hypothesis): random populations, the rows a partner gets.

Populations and periods are drawn as in tests/test_indicator_properties.py and built in a fresh
database; the partner's rows for a two-way breakdown and for each of its sub-breakdowns (what a
partner can ask for separately) are then checked:
- every published cell rests on at least k children;
- no hidden cell can be worked out by subtraction: in every line (the cells of a breakdown that
  add up to a published total, or to a published cell of a coarser breakdown) the number of hidden
  entries is never exactly one, counting a group with no row as a known zero;
- the same cell gets the same answer in every request.
"""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_indicator_properties import SETTINGS, build, new_app, params, pg, populations  # noqa: F401
from tracker.auth.models import User
from tracker.extensions import db
from tracker.reports import data
from tracker.types import Role

PAIRS = [("sex", "uasc"), ("sex", "age_band"), ("uasc", "level"), ("sex", "level")]
ADDITIVE_OVER = {"sex", "uasc", "age_band"}  # a child has one value of each on the reference date


def partner_rows(by, frm, to, as_of) -> list[dict]:
    partner = User(email="p@example.org", name="p", role=Role.partner, password_hash="x")
    return data.indicator_rows(partner, frm=frm, to=to, as_of=as_of, by=list(by))["rows"]


def cells_of(rows, by):
    out = {}
    for r in rows:
        if not r["indicator"].startswith("gpi_"):
            out[(r["indicator"], tuple(r.get(d) for d in by))] = r
    return out


@pytest.mark.parametrize("kind", ["sqlite"])
@SETTINGS
@given(spec=populations(), p=params(), pair=st.sampled_from(PAIRS))
def test_partner_rows_never_give_a_small_group_away(new_app, kind, spec, p, pair):
    frm, to, as_of, _by, _scope = p
    with new_app() as app, app.test_request_context():
        build(spec)
        k = app.config["SUPPRESSION_K"]
        answers = {sub: partner_rows(sub, frm, to, as_of)
                   for n in range(3) for sub in itertools.combinations(pair, n)}
        again = partner_rows(pair[:1], frm, to, as_of)
    assert again == answers[pair[:1]], "the same request gives the same answer"
    tables = {sub: cells_of(rows, sub) for sub, rows in answers.items()}
    for sub, cells in tables.items():
        for (name, _key), r in cells.items():
            if r["suppressed"] is None:
                assert min(data.counts_of(r)) >= k, (sub, r)
            else:
                assert all(r.get(f) is None for f in ("numerator", "denominator", "value")), (sub, r)
    # Lines: each cell of a breakdown against the published cell of the breakdown without one dimension.
    values = {d: {key[sub.index(d)] for sub, cells in tables.items() if d in sub for (_n, key) in cells}
              for d in pair}
    names = {name for cells in tables.values() for (name, _key) in cells}
    for sub in tables:
        for dropped in sub:
            if dropped not in ADDITIVE_OVER and "level" in sub and dropped != "level":
                continue
            coarse = tuple(d for d in sub if d != dropped)
            for name in names:
                for coarse_key in itertools.product(*(sorted(values[d], key=repr) for d in coarse)):
                    total = tables[coarse].get((name, coarse_key))
                    if total is None:
                        continue  # a zero total: nothing to subtract from
                    line = []
                    for v in sorted(values[dropped], key=repr):
                        key = tuple(v if d == dropped else coarse_key[coarse.index(d)] for d in sub)
                        cell = tables[sub].get((name, key))
                        line.append(cell is not None and cell["suppressed"] is not None)
                    hidden = sum(line) + (total["suppressed"] is not None)
                    # A group with no row is a known zero; only hidden rows and a hidden total are unknown.
                    assert hidden != 1, (name, sub, dropped, coarse_key, line, total["suppressed"])
