"""The learning-levels form and its assessment type."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from plugins.learning_levels.levels import (BAND_KEYS, DESCRIPTORS, DOMAIN_KEYS, DOMAIN_LABELS, LEVEL_NAMES, LEVELS,
                                            TOP, band, expected_levels, format_level, indices)
from tracker.assessments.types import AssessmentType, Score
from tracker.children.forms import NoControlCharacters, Strip
from tracker.labels import options

CHOOSE_LEVEL = _l("Choose the level that fits the child best.")
NOT_A_LEVEL = _l("That is not one of the levels listed: choose one from the list.")


def _option(domain: str, code: str) -> LazyString:
    """A level as offered in the form, e.g. "A1 — says simple phrases about self and class"."""
    return LazyString(lambda: f"{LEVEL_NAMES[domain][code]} — {DESCRIPTORS[domain][code]}")


def level_choices(domain: str) -> list:
    return options([("", _l("Choose…"))] + [(code, _option(domain, code)) for code in LEVELS[domain]])


def _level_field(domain: str, description) -> SelectField:
    return SelectField(DOMAIN_LABELS[domain], choices=level_choices(domain), default="", description=description,
                       validators=[InputRequired(message=CHOOSE_LEVEL)], invalid_choice_message=NOT_A_LEVEL)


class LearningLevelsForm(FlaskForm):
    """One level per domain, chosen from what the teacher has seen in class; a note if needed."""

    listening = _level_field("listening", _l("Understanding spoken Serbian in class."))
    speaking = _level_field("speaking", _l("Speaking Serbian with the teacher and classmates."))
    reading = _level_field("reading", _l("Reading in Serbian."))
    writing = _level_field("writing", _l("Writing in Serbian."))
    literacy = _level_field("literacy", _l("Reading in the language of instruction: the highest level the child "
                                           "manages without help."))
    numeracy = _level_field("numeracy", _l("The highest level the child manages without help."))
    note = TextAreaField(_l("Note (optional)"), filters=[Strip()],
                         validators=[Optional(), Length(max=1000), NoControlCharacters(multiline=True)])


class LearningLevels(AssessmentType):
    """Learning levels: Serbian in four skills, literacy and numeracy, against the child's grade."""

    slug = "learning_levels"
    label = _l("Learning levels")
    version = "1"
    licence = "CC BY 4.0 (tracker contributors)"
    validated = False
    description = _l("A quick judgement by the child's teacher of the levels the child has reached in Serbian, "
                     "reading and numbers, from what the teacher sees in class. It is not a test, and the expected "
                     "level for each grade is a practical yardstick, not an official standard.")
    domains = [(key, DOMAIN_LABELS[key]) for key in DOMAIN_KEYS]
    scale = (0.0, float(TOP))
    bands = list(zip(BAND_KEYS, (_l("On track for the grade"), _l("Catching up"), _l("Needs learning support")),
                     strict=True))
    # No early-warning flag from this form: a newly arrived child below the grade's level is the
    # normal starting point, not a sign of distress or of dropping out. Flagging every newcomer would
    # bury the flags that need action; "needs_support" is for planning lessons and support classes.
    needs_support_band = None
    sensitive = True  # the answers are about a named child
    form_class = LearningLevelsForm

    def format_score(self, domain: str, value) -> str:
        """A level by its name ("A2", "Paragraph"); a mean of levels as the nearest level and the mean
        for staff ("A2 (2.4)"); see README.md, "How levels are shown"."""
        return format_level(domain, value)

    def score(self, answers: dict, context: dict) -> Score:
        """Each answered domain scores its level index (0..4); the band compares them with the
        expected levels of the child's grade (none when the grade is unknown)."""
        levels = indices(answers or {})
        context = context or {}
        expected = expected_levels(context.get("level"), context.get("grade"))
        return Score(domains={d: float(i) for d, i in levels.items()}, band=band(levels, expected),
                     extra={"expected": expected or {}})
