"""Translated labels for the stored enum values, in one place."""
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from wtforms import SelectChoice

LABELS = {
    "primary": _l("Primary"),
    "secondary": _l("Secondary"),
    "female": _l("Female"),
    "male": _l("Male"),
    "accompanied": _l("Accompanied"),
    "separated": _l("Separated"),
    "unaccompanied": _l("Unaccompanied"),
    "asylum": _l("Asylum centre"),
    "reception": _l("Reception-transit centre"),
    "transferred": _l("Transferred to another school"),
    "moved_onward": _l("Moved onward (left Serbia)"),
    "dropped_out": _l("Dropped out"),
    "completed": _l("Completed the grade"),
    "returned_to_origin": _l("Returned to country of origin"),
    "other": _l("Other"),
    "present": _l("Present"),
    "late": _l("Late"),
    "absent_excused": _l("Absent (excused)"),
    "absent_unexcused": _l("Absent (unexcused)"),
    "admin": _l("Administrator"),
    "liaison": _l("School liaison officer"),
    "teacher": _l("Teacher"),
    "partner": _l("Education partner"),
    "illness": _l("Illness"),
    "appointment": _l("Appointment"),
    "asylum_procedure": _l("Asylum procedure"),
    "moved_centre": _l("Moved centre"),
    "no_transport": _l("No transport"),
    "work": _l("Work"),
    "unknown": _l("Unknown"),
    "home_visit": _l("Home visit (centre)"),
    "call_guardian": _l("Call with the guardian"),
    "call_centre": _l("Call with centre staff"),
    "referral_social_work": _l("Referral to social work"),
    "school_meeting": _l("School meeting"),
    "back_in_school": _l("Back in school"),
    "exit_recorded": _l("Exit recorded"),
    "enrolled": _l("Enrolled"),
    "referred": _l("Referred"),
    "no_action_needed": _l("No action needed"),
    "open": _l("Open"),
    "acknowledged": _l("Acknowledged"),
    "resolved": _l("Resolved"),
    "consent": _l("Consent of the child's guardian"),
    "legal_obligation": _l("Legal obligation"),
    "public_task": _l("Public task (right to education)"),
    "vital_interests": _l("Vital interests of the child"),
}


# Words said of one child that Serbian puts in the child's gender ("prisutan" of a boy, "prisutna" of a girl):
# the label for a girl, in its own message context, so the translation can differ.
FEMALE_LABELS = {
    "present": lazy_pgettext("said of a girl", "Present"),
}


def label(value, sex=None) -> str:
    """The translated label of an enum member or its value; unknown values as they are.

    With ``sex`` (of the one child the word is said of), a word that Serbian inflects takes the child's gender.
    """
    if value is None:
        return ""
    key = getattr(value, "value", value)
    if getattr(sex, "value", sex) == "female" and key in FEMALE_LABELS:
        return str(FEMALE_LABELS[key])
    return str(LABELS.get(key, key))


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select options."""
    return [p if isinstance(p, SelectChoice) else SelectChoice(p[0], p[1]) for p in pairs]


def choices(enum_cls) -> list[SelectChoice]:
    """An enum's members as select options; the labels stay lazy, so a form built when the module is
    imported still shows them in the language of each request."""
    return [SelectChoice(m.value, LABELS.get(m.value, m.value)) for m in enum_cls]


def country_name(code: str) -> str:
    """The country's name in the user's language (Babel's territory names), else the ISO name."""
    import pycountry
    from flask_babel import get_locale

    country = pycountry.countries.get(alpha_3=code or "")
    if country is None:
        return code or ""
    locale = get_locale()
    return (locale.territories.get(country.alpha_2) if locale else None) or country.name


# Languages of the children that the locale data (CLDR, through Babel) has no name for.
LANGUAGE_NAMES = {"prs": _l("Dari"), "kmr": _l("Northern Kurdish (Kurmanji)")}


def language_name(code: str) -> str:
    if code in LANGUAGE_NAMES:
        return str(LANGUAGE_NAMES[code])
    import pycountry
    from flask_babel import get_locale

    lang = pycountry.languages.get(alpha_3=code or "")
    if lang is None:
        return code or ""
    locale = get_locale()
    alpha_2 = getattr(lang, "alpha_2", None)
    return (locale.languages.get(alpha_2 or lang.alpha_3) if locale else None) or lang.name
