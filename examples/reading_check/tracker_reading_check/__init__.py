"""Reading check: an example assessment plugin for tracker.

One question for the child's teacher: how far has the child got with reading? The answer
scores 0 (cannot read yet) to 4 (reads short texts) in one domain, ``reading``, and gives a band.

The plugin is a separate distribution. Its ``setup.cfg`` declares this module in the ``tracker``
entry-point group, so tracker loads it once the distribution is installed.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice
from wtforms.validators import InputRequired

from tracker import hookimpl
from tracker.assessments.types import AssessmentType, Score

# The stored answers are these keys, best last; the score of a level is its position (0..4).
# Never reuse a key for another level: submitted forms keep the key they were saved with.
LEVELS = [
    ("not_yet", _l("Cannot read yet")),
    ("letters", _l("Reads letters")),
    ("words", _l("Reads words")),
    ("sentences", _l("Reads sentences")),
    ("texts", _l("Reads short texts")),
]
SCORES = {key: float(i) for i, (key, _label) in enumerate(LEVELS)}
CHOICES = [SelectChoice(key, label) for key, label in LEVELS]


class ReadingCheckForm(FlaskForm):
    """The form's field names are the answer keys: this form stores ``{"level": "<key>"}``."""

    level = RadioField(_l("Reading level"), choices=CHOICES,
                       description=_l("The most the child reads without help, in the language of instruction."),
                       validators=[InputRequired(message=_l("Choose the level that fits the child best."))])


class ReadingCheck(AssessmentType):
    """A teacher's quick judgement of a child's reading."""

    slug = "reading_check"  # stored with every form: never change it
    label = _l("Reading check")
    version = "1"  # raise it when a question or the scoring changes
    licence = "CC0"
    validated = False  # an aid for planning lessons, not a validated reading test
    description = _l("One question: how far the child has got with reading.")
    domains = [("reading", _l("Reading"))]
    scale = (0.0, 4.0)
    bands = [  # best first
        ("reads", _l("Reads sentences or texts")),
        ("decoding", _l("Reads letters or words")),
        ("not_yet", _l("Not reading yet")),
    ]
    # No early-warning flag: a newly arrived child who cannot read yet is a starting point for
    # lessons, not a sign of dropping out.
    needs_support_band = None
    form_class = ReadingCheckForm

    def score(self, answers: dict, context: dict) -> Score:
        """``answers`` is what the submitted form stored, e.g. ``{"level": "words"}``; the form's
        ``InputRequired`` makes sure a submitted form has a level. ``context`` (the child's grade and
        level of schooling) is not needed here."""
        value = SCORES[answers["level"]]
        band = "reads" if value >= 3 else "decoding" if value >= 1 else "not_yet"
        return Score(domains={"reading": value}, band=band)


@hookimpl
def register_assessment_types():
    return [ReadingCheck]
