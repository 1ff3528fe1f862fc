"""The healing-classroom observation: items, the Flask-WTF form and the scoring.

A teacher marks how often they saw each behaviour in class over the last two weeks, on a
4-point frequency scale: never (1), sometimes (2), often (3), almost always (4). There are three
items in each of five domains. One item per domain describes a worrying behaviour and is
*reversed* (marked ``reverse=True`` below, and listed in ``REVERSED``): its points are ``5 - x``,
so that in every domain a higher score is better.

The items were written for this project (CC BY 4.0, tracker contributors). They describe what a
teacher can see in class; none of them needs asking the child about what happened to them.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from tracker.assessments.types import AssessmentType, Score

# The domains, in the order they are shown and scored.
DOMAINS = [
    ("safe", _l("Feeling safe")),
    ("belonging", _l("Belonging and relationships")),
    ("emotions", _l("Managing emotions and behaviour")),
    ("engagement", _l("Engagement in learning")),
    ("hope", _l("Hope and confidence")),
]

# The answer scale: the submitted value is the number of points.
MIN_POINTS, MAX_POINTS = 1, 4
CHOICES = [
    SelectChoice("1", _l("Never")),
    SelectChoice("2", _l("Sometimes")),
    SelectChoice("3", _l("Often")),
    SelectChoice("4", _l("Almost always")),
]

# Band cut-offs on the mean of the five domain scores (see ``HealingClassroomObservation.score``).
DOING_WELL_FROM = 3.0  # "often" on average
KEEP_AN_EYE_FROM = 2.25  # a quarter point above "sometimes"; below this: needs support

DOING_WELL, KEEP_AN_EYE, NEEDS_SUPPORT = "doing_well", "keep_an_eye", "needs_support"


@dataclass(frozen=True)
class Item:
    key: str  # the form field name and answer key: stable, never reuse one for a different item
    domain: str
    label: object  # a lazy translatable string
    reverse: bool = False  # a worrying behaviour: scored 5 - x


ITEMS = [
    # Feeling safe
    Item("safe_1", "safe", _l("Settles calmly into the classroom at the start of the day")),
    Item("safe_2", "safe", _l("Copes with a change in routine (a new activity, a visitor, another room) "
                              "without becoming distressed")),
    Item("safe_3", "safe", _l("Seems tense or on guard, for example startles at sudden noises or keeps "
                              "watching the door"), reverse=True),
    # Belonging and relationships with peers and the teacher
    Item("belonging_1", "belonging", _l("Works or plays with classmates by choice")),
    Item("belonging_2", "belonging", _l("Comes to the teacher for help or to share something")),
    Item("belonging_3", "belonging", _l("Keeps apart from the others during group work or breaks"), reverse=True),
    # Managing emotions and behaviour
    Item("emotions_1", "emotions", _l("Calms down within a few minutes after being upset, alone or with a "
                                      "little help")),
    Item("emotions_2", "emotions", _l("Shows anger or upset in ways that do not hurt others (with words, "
                                      "gestures or by asking for a break)")),
    Item("emotions_3", "emotions", _l("Has outbursts (shouting, hitting, throwing things) that stop the "
                                      "activity"), reverse=True),
    # Engagement in learning
    Item("engagement_1", "engagement", _l("Starts a task once they know what to do")),
    Item("engagement_2", "engagement", _l("Stays with a task for most of the time given")),
    Item("engagement_3", "engagement", _l("Seems far away during lessons, staring into space or drifting off"),
         reverse=True),
    # Hope and confidence
    Item("hope_1", "hope", _l("Is willing to try a new or harder task")),
    Item("hope_2", "hope", _l("Shows pride or pleasure when they finish or get better at something")),
    Item("hope_3", "hope", _l("Says things like “I can't” or “I'm no good” about their own work"), reverse=True),
]

REVERSED = frozenset(item.key for item in ITEMS if item.reverse)
ITEM_KEYS = [item.key for item in ITEMS]


def _item_field(item: Item) -> RadioField:
    return RadioField(
        item.label,
        choices=CHOICES,
        validators=[InputRequired(message=_l("Choose how often you saw this in the last two weeks."))],
        invalid_choice_message=_l("Choose one of the four answers: never, sometimes, often or almost always."),
    )


class HealingClassroomForm(FlaskForm):
    """One radio field per item (named by the item's key), then an optional note.

    Every item is required to submit; the core saves drafts with answers still missing.
    """


# Added in item order so the fields render in that order (WTForms orders fields by creation).
for _item in ITEMS:
    setattr(HealingClassroomForm, _item.key, _item_field(_item))
del _item
HealingClassroomForm.note = TextAreaField(
    _l("Note (optional)"),
    validators=[Optional(), Length(max=1000)],
    description=_l("What you noticed in class. Do not write down what the child told you about their past or "
                   "their journey."),
)


def band_for(mean: Fraction | float) -> str:
    """The band of a mean of the domain scores (the cut-offs are explained in ``score``).

    With every item answered the mean is a multiple of 1/15, so it is never exactly 2.25: the
    lowest mean in ``keep_an_eye`` is 34/15 (about 2.27), the highest in ``needs_support`` 33/15 (2.2).
    """
    if mean >= DOING_WELL_FROM:
        return DOING_WELL
    if mean >= KEEP_AN_EYE_FROM:
        return KEEP_AN_EYE
    return NEEDS_SUPPORT


def _points(item: Item, raw) -> int:
    """An answer's points before reversing; ValueError for anything but 1-4."""
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise ValueError(f"healing_classrooms: answer to {item.key} (domain {item.domain!r}) is not 1-4: {raw!r}")
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"healing_classrooms: answer to {item.key} (domain {item.domain!r}) is not 1-4: "
                         f"{raw!r}") from None
    if not MIN_POINTS <= value <= MAX_POINTS:
        raise ValueError(f"healing_classrooms: answer to {item.key} (domain {item.domain!r}) is not 1-4: {raw!r}")
    return value


class HealingClassroomObservation(AssessmentType):
    """A teacher's observation of a child's wellbeing and social-emotional learning in class."""

    slug = "healing_classrooms"
    label = _l("Healing classroom observation")
    version = "1"
    licence = "CC BY 4.0 (tracker contributors)"
    validated = False
    description = _l("A classroom observation aid for teachers, not a validated screening instrument: it does not "
                     "diagnose anything. Think of what you saw in class over the last two weeks. If the result is "
                     "“needs support”, talk with the school psychologist or pedagogue and consider a referral to "
                     "psychosocial support.")
    domains = DOMAINS
    bands = [
        (DOING_WELL, _l("Doing well")),
        (KEEP_AN_EYE, _l("Keep an eye")),
        (NEEDS_SUPPORT, _l("Needs support")),
    ]
    needs_support_band = NEEDS_SUPPORT
    scale = (1.0, 4.0)
    sensitive = True
    form_class = HealingClassroomForm

    def score(self, answers: dict, context: dict) -> Score:
        """Domain scores and a band from a complete set of answers (``context`` is not used).

        Reversed items count ``5 - x``. A domain's score is the mean of its items' points (1.0 to
        4.0, not rounded). The band comes from the mean of the five domain scores:

        - ``doing_well``: 3.0 or more (``DOING_WELL_FROM``): on average the good signs are seen
          "often" or "almost always" and the worrying ones seldom;
        - ``keep_an_eye``: from 2.25 (``KEEP_AN_EYE_FROM``) up to, not including, 3.0;
        - ``needs_support``: below 2.25, i.e. on average not much above "sometimes".

        The cut-offs are practice-based starting points for a conversation in the school, not
        validated thresholds: this form has no norms and has not been tested against any
        diagnosis. Review them with the school's psychologist or pedagogue as experience grows.
        The means are computed exactly (as fractions), so a mean that is exactly on a cut-off
        gets the better band.

        Raises ValueError naming the domain(s) when an answer is missing, and naming the item
        when an answer is not 1-4.
        """
        missing: dict[str, list[str]] = {}
        points: dict[str, list[int]] = {key: [] for key, _label in DOMAINS}
        for item in ITEMS:
            raw = answers.get(item.key)
            if raw is None or raw == "":
                missing.setdefault(item.domain, []).append(item.key)
                continue
            value = _points(item, raw)
            points[item.domain].append(MIN_POINTS + MAX_POINTS - value if item.reverse else value)
        if missing:
            detail = "; ".join(f"domain {domain!r}: {', '.join(keys)}" for domain, keys in missing.items())
            raise ValueError(f"healing_classrooms: missing answers in {detail}")
        exact = {domain: Fraction(sum(values), len(values)) for domain, values in points.items()}
        overall = sum(exact.values()) / len(exact)
        return Score(domains={domain: float(value) for domain, value in exact.items()}, band=band_for(overall),
                     extra={"overall": float(overall)})
