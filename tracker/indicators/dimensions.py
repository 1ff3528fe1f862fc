"""The dimensions an indicator can be broken down by, as SQL expressions.

Child attributes that change over time (UASC status, age band, centre) are taken on the
indicator's reference date: the as-of date for stocks (enrolled, out of school, rates over a
period), the event date for flows (an enrolment's start, an exit's end date).
"""
from __future__ import annotations

import sqlalchemy as sa

from tracker.children.models import Child
from tracker.enrolment.models import Enrolment
from tracker.indicators import sql
from tracker.schools.models import School

DIMENSIONS = ("sex", "uasc", "age_band", "level", "country", "school", "municipality", "centre")
ENROLMENT_DIMENSIONS = {"level", "school", "municipality"}


class DimensionError(ValueError):
    pass


def parse(by: str | list[str] | None) -> list[str]:
    if not by:
        return []
    names = [b.strip() for b in (by.split(",") if isinstance(by, str) else by) if b.strip()]
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        raise DimensionError(f"unknown dimension {unknown[0]!r}; choose from {', '.join(DIMENSIONS)}")
    if len(set(names)) != len(names):
        raise DimensionError("a dimension is repeated")
    return names


def expression(name: str, ref, *, with_enrolment: bool = True):
    """The SQL expression of one dimension, labelled with its name (Child, Enrolment and School joined)."""
    if name in ENROLMENT_DIMENSIONS and not with_enrolment:
        return sa.literal(None, sa.String).label(name)
    expr = {
        "sex": lambda: Child.sex,
        "uasc": lambda: sql.uasc_on(ref),
        "age_band": lambda: sql.age_band(ref),
        "level": lambda: Enrolment.level,
        "country": lambda: Child.country,
        "school": lambda: School.code,
        "municipality": lambda: School.municipality,
        "centre": lambda: sql.centre_on(ref),
    }[name]()
    return expr.label(name)
