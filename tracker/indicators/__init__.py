"""Indicators: enrolment, attendance, retention, transition and out-of-school, as SQL aggregations."""
from tracker.indicators.compute import INDICATORS, Params, compute  # noqa: F401
