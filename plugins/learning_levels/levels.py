"""The levels of the learning-levels form, the expected level per grade, the bands and progress.

Everything here is plain data and small functions: no database, no request. Level names and
descriptors are lazy translations, turned into text only when shown.

The expected levels are a practical yardstick for teachers of newly arrived children in Serbian
schools, written for this tool. They are not an official standard, a curriculum requirement or a
CEFR benchmark, and say nothing about what a child is able to learn.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from flask_babel import lazy_gettext as _l

SERBIAN_SKILLS = ("listening", "speaking", "reading", "writing")
DOMAIN_KEYS = (*SERBIAN_SKILLS, "literacy", "numeracy")

CEFR = ("A0", "A1", "A2", "B1", "B2")

# domain -> the level codes, lowest first; a level's score is its index (0..4).
LEVELS: dict[str, tuple[str, ...]] = {
    **{skill: CEFR for skill in SERBIAN_SKILLS},
    "literacy": ("beginner", "letter", "word", "paragraph", "story"),
    "numeracy": ("beginner", "numbers_1_9", "numbers_10_99", "addition_subtraction", "multiplication_division"),
}
TOP = len(CEFR) - 1  # the highest index, the same in every domain

DOMAIN_LABELS = {
    "listening": _l("Serbian: listening"),
    "speaking": _l("Serbian: speaking"),
    "reading": _l("Serbian: reading"),
    "writing": _l("Serbian: writing"),
    "literacy": _l("Literacy"),
    "numeracy": _l("Numeracy"),
}

# The short name of each level. CEFR codes are the same in every language.
LEVEL_NAMES: dict[str, dict[str, object]] = {
    **{skill: {code: code for code in CEFR} for skill in SERBIAN_SKILLS},
    "literacy": {
        "beginner": _l("Beginner"),
        "letter": _l("Letter"),
        "word": _l("Word"),
        "paragraph": _l("Paragraph"),
        "story": _l("Story"),
    },
    "numeracy": {
        "beginner": _l("Beginner"),
        "numbers_1_9": _l("Numbers 1–9"),
        "numbers_10_99": _l("Numbers 10–99"),
        "addition_subtraction": _l("Addition and subtraction"),
        "multiplication_division": _l("Multiplication and division"),
    },
}

# One line per level that a teacher can recognise in class.
DESCRIPTORS: dict[str, dict[str, object]] = {
    "listening": {
        "A0": _l("does not yet follow spoken Serbian"),
        "A1": _l("follows simple classroom instructions said slowly, with gestures"),
        "A2": _l("understands short everyday talk and the gist of a simple explanation"),
        "B1": _l("follows most of a lesson on a familiar topic when speech is clear"),
        "B2": _l("follows lessons and class discussion much as classmates do"),
    },
    "speaking": {
        "A0": _l("does not speak Serbian yet, or only single words"),
        "A1": _l("says simple phrases about self and class"),
        "A2": _l("asks and answers simple questions in short sentences"),
        "B1": _l("takes part in class talk, retells and explains in connected sentences"),
        "B2": _l("speaks fluently about school topics and gives reasons for an opinion"),
    },
    "reading": {
        "A0": _l("does not read in Serbian yet"),
        "A1": _l("reads letters, familiar words and very short sentences"),
        "A2": _l("reads and understands a short, simple text on a familiar topic"),
        "B1": _l("reads texts for the grade with some help and finds the main points"),
        "B2": _l("reads texts for the grade alone and understands the details"),
    },
    "writing": {
        "A0": _l("does not write in Serbian yet"),
        "A1": _l("writes own name, copies words and writes some simple words"),
        "A2": _l("writes short, simple sentences about self and daily life"),
        "B1": _l("writes a few connected sentences on a familiar topic, such as a short message"),
        "B2": _l("writes clear, organised texts for school tasks"),
    },
    "literacy": {
        "beginner": _l("does not recognise letters yet"),
        "letter": _l("recognises most letters but does not read words yet"),
        "word": _l("reads simple words but not yet sentences"),
        "paragraph": _l("reads a short paragraph of simple sentences"),
        "story": _l("reads a short story fluently"),
    },
    "numeracy": {
        "beginner": _l("does not recognise the numbers 1–9 yet"),
        "numbers_1_9": _l("recognises the numbers 1–9"),
        "numbers_10_99": _l("recognises the numbers 10–99"),
        "addition_subtraction": _l("adds and subtracts two-digit numbers"),
        "multiplication_division": _l("multiplies and divides simple numbers"),
    },
}

# The expected level index per domain, by school level and grade: (listening, speaking, reading,
# writing, literacy, numeracy). A practical yardstick (see the module docstring), never lower for a
# higher grade, and never lower in secondary than at the end of primary.
#
#   grade         listening speaking reading writing literacy   numeracy
#   primary 1     A1        A1       A1      A1      letter     numbers 1-9
#   primary 2     A1        A1       A1      A1      word       numbers 10-99
#   primary 3     A2        A2       A2      A1      paragraph  addition and subtraction
#   primary 4     A2        A2       A2      A2      story      multiplication and division
#   primary 5     A2        A2       A2      A2      story      multiplication and division
#   primary 6     B1        A2       A2      A2      story      multiplication and division
#   primary 7     B1        B1       B1      A2      story      multiplication and division
#   primary 8     B1        B1       B1      B1      story      multiplication and division
#   secondary 1-4 B1        B1       B1      B1      story      multiplication and division
_ROWS: dict[str, dict[int, tuple[int, int, int, int, int, int]]] = {
    "primary": {
        1: (1, 1, 1, 1, 1, 1),
        2: (1, 1, 1, 1, 2, 2),
        3: (2, 2, 2, 1, 3, 3),
        4: (2, 2, 2, 2, 4, 4),
        5: (2, 2, 2, 2, 4, 4),
        6: (3, 2, 2, 2, 4, 4),
        7: (3, 3, 3, 2, 4, 4),
        8: (3, 3, 3, 3, 4, 4),
    },
    "secondary": {grade: (3, 3, 3, 3, 4, 4) for grade in range(1, 5)},
}
EXPECTED: dict[str, dict[int, dict[str, int]]] = {
    level: {grade: dict(zip(DOMAIN_KEYS, row, strict=True)) for grade, row in rows.items()}
    for level, rows in _ROWS.items()
}

BAND_KEYS = ("on_track", "catching_up", "needs_support")  # best first


def expected_levels(level, grade) -> dict[str, int] | None:
    """The expected level index per domain for a school level ("primary"/"secondary") and grade.

    None when either is unknown. A grade above the table's last is read as the last.
    """
    level = getattr(level, "value", level)
    rows = EXPECTED.get(level) if isinstance(level, str) else None
    if rows is None or grade is None or isinstance(grade, bool):
        return None
    try:
        grade = int(grade)
    except (TypeError, ValueError):
        return None
    if grade < 1:
        return None
    return dict(rows[min(grade, max(rows))])


def level_index(domain: str, code) -> int | None:
    """The index (0..4) of a level code in a domain; None for no answer or an unknown code."""
    codes = LEVELS.get(domain)
    if codes is None or not isinstance(code, str):
        return None
    code = code.strip()
    if code in codes:
        return codes.index(code)
    if domain in SERBIAN_SKILLS and code.upper() in codes:  # "a1" as well as "A1"
        return codes.index(code.upper())
    return None


def indices(answers: Mapping) -> dict[str, int]:
    """The level index of each answered domain (unanswered and unknown answers left out)."""
    out = {}
    for domain in DOMAIN_KEYS:
        index = level_index(domain, answers.get(domain))
        if index is not None:
            out[domain] = index
    return out


def band(levels: Mapping[str, float], expected: Mapping[str, int] | None) -> str | None:
    """``on_track`` when every domain is at or above its expected level, ``catching_up`` when no
    domain is more than one step below, ``needs_support`` otherwise. None without an expected
    level (grade unknown) or without any domain to compare."""
    if not expected:
        return None
    shortfalls = [expected[d] - levels[d] for d in levels if d in expected]
    if not shortfalls:
        return None
    worst = max(shortfalls)
    if worst <= 0:
        return "on_track"
    if worst <= 1:
        return "catching_up"
    return "needs_support"


def _domain_scores(scores: Mapping | None) -> dict[str, float]:
    out = {}
    for domain, value in (scores or {}).items():
        if domain in DOMAIN_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[domain] = float(value)
    return out


def progress(earlier: dict, later: dict) -> str:
    """"up", "same" or "down" from two rounds' domain scores (as stored, ``_extra`` and all).

    Compares the mean level of the domains scored in both rounds, so a domain left out of one
    round does not count as a rise or a fall. With no domain in both there is nothing to compare:
    "same".
    """
    before, after = _domain_scores(earlier), _domain_scores(later)
    common = [d for d in DOMAIN_KEYS if d in before and d in after]
    if not common:
        return "same"
    mean_before = sum(before[d] for d in common) / len(common)
    mean_after = sum(after[d] for d in common) / len(common)
    if math.isclose(mean_before, mean_after, abs_tol=1e-9):
        return "same"
    return "up" if mean_after > mean_before else "down"


def _code(domain: str, index) -> str | None:
    codes = LEVELS.get(domain)
    if codes is None or index is None or isinstance(index, bool):
        return None
    try:
        number = float(index)
    except (TypeError, ValueError):
        return None
    if not number.is_integer() or not 0 <= number <= TOP:
        return None
    return codes[int(number)]


def level_label(domain: str, index) -> str:
    """The name of a domain's level from its index (an int, or a stored float score), for display:
    "A1", "Paragraph", "Numbers 10–99". Unknown domains or indices come back as they are."""
    code = _code(domain, index)
    if code is None:
        return "" if index is None else str(index)
    return str(LEVEL_NAMES[domain][code])


def level_descriptor(domain: str, index) -> str:
    """The one-line descriptor of a domain's level from its index; "" when unknown."""
    code = _code(domain, index)
    return "" if code is None else str(DESCRIPTORS[domain][code])


def nearest_level(value: float) -> int:
    """The level index nearest a mean of indices, halves going to the lower level (2.5 is A2, not B1):
    a class is not shown at a level half of it has not reached."""
    return min(max(math.ceil(round(float(value), 1) - 0.5), 0), TOP)


def format_level(domain: str, value) -> str:
    """A score as people read it: a whole index by its level's name ("A2"); a mean of levels (not a
    whole number once rounded to one decimal) as the nearest level and the mean itself, for staff:
    "A2 (2.4)", with the locale's decimal sign ("A2 (2,4)" in Serbian). "–" for no value."""
    from flask_babel import format_decimal

    if value is None or isinstance(value, bool):
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if domain not in LEVELS or not 0 <= number <= TOP:
        return format_decimal(number, "0.00")
    if math.isclose(round(number, 1), round(number)):
        return level_label(domain, round(number))
    return f"{level_label(domain, nearest_level(number))} ({format_decimal(round(number, 1), '0.0')})"
