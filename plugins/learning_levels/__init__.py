"""Bundled plugin: learning levels, a quick teacher judgement of a child's levels.

Adds the "Learning levels" assessment form: Serbian in four skills (listening, speaking, reading,
writing) on levels A0 to B2, literacy (beginner to story) and numeracy (beginner to multiplication
and division), each compared with an expected level for the child's grade. See README.md.
"""
from __future__ import annotations

from plugins.learning_levels.form import LearningLevels, LearningLevelsForm
from plugins.learning_levels.levels import EXPECTED, expected_levels, level_descriptor, level_label, progress
from tracker import hookimpl

__all__ = ["EXPECTED", "LearningLevels", "LearningLevelsForm", "expected_levels", "level_descriptor", "level_label",
           "progress"]


@hookimpl
def register_assessment_types():
    return [LearningLevels]
