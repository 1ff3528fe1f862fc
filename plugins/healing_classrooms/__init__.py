"""Bundled plugin: a healing-classroom observation form on a child's wellbeing in class.

Teachers mark 15 observable classroom behaviours (three in each of five domains: feeling safe,
belonging, managing emotions, engagement in learning, hope) for the last two weeks; the form
scores each domain and gives a band. An observation aid, not a screening instrument: see
README.md in this folder.
"""
from __future__ import annotations

from tracker import hookimpl

from .form import HealingClassroomObservation


@hookimpl
def register_assessment_types():
    return [HealingClassroomObservation]
