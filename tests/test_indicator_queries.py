"""The shapes of the indicator queries agree with one another (on SQLite and PostgreSQL, the ``app`` fixture).

retention() answers both levels in one query or one level at a time with the same rows, with and
without record keys; enrolled() by the child's own dimensions (each child once) agrees with the
query by enrolment dimensions summed over them.
"""
from __future__ import annotations

import datetime as dt
import importlib

from tests.test_indicators import enrolment_population, pop, retention_population  # noqa: F401 - fixture
from tracker.indicators import Params
from tracker.types import Level

c = importlib.import_module("tracker.indicators.compute")  # the module (the package exports the function compute)
D = dt.date


def _rows(rows):
    return sorted((name, tuple(getattr(d, "value", d) for d in dims), num, den, tuple(sorted((extra or {}).items())))
                  for name, dims, num, den, *rest in rows for extra in [rest[0] if rest else None])


def test_retention_of_both_levels_in_one_query_is_each_level_in_turn(pop):  # noqa: F811
    retention_population(pop)
    for keys in (False, True):
        for by in (["sex"], ["sex", "uasc", "age_band"], ["level", "school"]):
            p = Params(frm=D(2023, 9, 1), to=D(2023, 12, 31), as_of=D(2025, 6, 30), by=by, keys=keys)
            both = c.retention(p)
            assert both, by
            assert _rows(both) == _rows([*c.retention(p, Level.primary), *c.retention(p, Level.secondary)])


def test_enrolled_by_the_childs_own_dimensions_counts_each_child_once(pop):  # noqa: F811
    period = enrolment_population(pop)
    for keys in (False, True):
        p = Params(frm=period["frm"], to=period["to"], as_of=D(2024, 2, 15), by=["sex", "uasc", "country"], keys=keys)
        per_child = c.enrolled(p)
        with_school = c.enrolled(Params(frm=p.frm, to=p.to, as_of=p.as_of, by=["school", "sex", "uasc", "country"],
                                        keys=keys))
        summed: dict[tuple, list[int]] = {}
        for _name, dims, n, _den, *extra in with_school:
            key = tuple(getattr(d, "value", d) for d in dims[1:])  # without the school
            total = summed.setdefault(key, [0, 0])
            total[0] += n
            total[1] += int((extra[0] if extra else {}).get("key_numerator", 0))
        got = {tuple(getattr(d, "value", d) for d in dims): [n, int((extra[0] if extra else {}).get("key_numerator", 0))]
               for _name, dims, n, _den, *extra in per_child}
        # Nobody in this population is enrolled at two schools on the day, so the sums agree.
        assert got == summed
        assert sum(v[0] for v in got.values()) >= 3
