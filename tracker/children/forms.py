"""Forms about children and their enrolments. Every field validated on the server."""
from __future__ import annotations

import pycountry
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import ValidationError, DataRequired, InputRequired, Length, NumberRange, Optional

from tracker.labels import choices, country_name, language_name, options
from tracker.types import LEAVING_SERBIA, ExitReason, LegalBasis, Level, Sex, UascStatus

# Most children come from these; the rest of the list follows in alphabetical order.
COMMON_COUNTRIES = ["AFG", "SYR", "IRQ", "PAK", "IRN", "BGD", "MAR", "TUR", "PSE", "SOM", "ERI", "IND", "LBY", "TUN", "UKR"]
COMMON_LANGUAGES = ["prs", "pus", "ara", "fas", "urd", "kmr", "ckb", "ben", "tir", "som", "tur", "ukr", "rus", "eng", "fra",
                    "srp"]


def country_choices():
    """Countries named in the user's language (as the child's page shows them), the common ones first."""
    common = [(c, country_name(c)) for c in COMMON_COUNTRIES]
    rest = sorted(((c.alpha_3, country_name(c.alpha_3)) for c in pycountry.countries
                   if c.alpha_3 not in COMMON_COUNTRIES), key=lambda cn: cn[1].casefold())
    return options([("", _l("Choose…"))] + common + rest)


def language_choices():
    """Living languages named in the user's language where it has a name for them, the common ones first."""
    common = [(c, language_name(c)) for c in COMMON_LANGUAGES]
    rest = sorted(((lang.alpha_3, language_name(lang.alpha_3)) for lang in pycountry.languages
                   if getattr(lang, "type", "") == "L" and getattr(lang, "scope", "") in ("I", "M")
                   and lang.alpha_3 not in COMMON_LANGUAGES), key=lambda cn: cn[1].casefold())
    return options([("", _l("Choose…"))] + common + rest)


class Strip:
    """Strip surrounding whitespace from text input."""

    def __call__(self, value):
        return value.strip() if isinstance(value, str) else value


class NoControlCharacters:
    """Refuse control characters (a NUL cannot even be stored in PostgreSQL); notes may keep newlines and tabs."""

    def __init__(self, multiline: bool = False):
        self.allowed = {"\n", "\r", "\t"} if multiline else set()

    def __call__(self, form, field):
        if isinstance(field.data, str) and any((ord(ch) < 32 or ord(ch) == 127) and ch not in self.allowed
                                               for ch in field.data):
            raise ValidationError(_l("Remove the invisible control characters from this field."))


def _text_fields(form_cls, multiline=("note",)):
    """Add the control-character check to every text field of a form class."""
    for name in dir(form_cls):
        unbound = getattr(form_cls, name)
        if getattr(unbound, "field_class", None) in (StringField, TextAreaField):
            validators = list(unbound.kwargs.get("validators") or [])
            validators.append(NoControlCharacters(multiline=name in multiline))
            unbound.kwargs["validators"] = validators
    return form_cls


@_text_fields
class ChildForm(FlaskForm):
    given_name = StringField(_l("Given name (Latin script)"), filters=[Strip()],
                             validators=[DataRequired(), Length(max=100)])
    family_name = StringField(_l("Family name (Latin script)"), filters=[Strip()],
                              validators=[DataRequired(), Length(max=100)])
    name_original = StringField(_l("Name in original script"), filters=[Strip()], validators=[Optional(), Length(max=200)])
    sex = SelectField(_l("Sex"), choices=options([("", _l("Choose…"))]) + choices(Sex), validators=[DataRequired()])
    birth_date = DateField(_l("Birth date"), validators=[InputRequired()])
    birth_date_estimated = BooleanField(_l("Birth date is estimated"))
    country = SelectField(_l("Country of origin"), validators=[DataRequired()])
    first_language = SelectField(_l("First language"), validators=[DataRequired()])
    uasc_status = SelectField(_l("Unaccompanied or separated?"), choices=choices(UascStatus), default="accompanied",
                              validators=[DataRequired()])
    guardian_name = StringField(_l("Legal guardian (for unaccompanied or separated children)"), filters=[Strip()],
                                validators=[Optional(), Length(max=200)])
    guardian_organisation = StringField(_l("Guardian's organisation"), filters=[Strip()],
                                        validators=[Optional(), Length(max=200)])
    guardian_phone = StringField(_l("Guardian's phone"), filters=[Strip()], validators=[Optional(), Length(max=40)])
    guardian_pending = BooleanField(_l("Guardian pending: no legal guardian is appointed yet"))
    arrival_date = DateField(_l("Arrival in Serbia"), validators=[Optional()])
    centre = SelectField(_l("Lives in centre"), validators=[Optional()])
    centre_since = DateField(_l("In this centre since"), validators=[Optional()])
    temporary_id = StringField(_l("Temporary ID number (if any)"), filters=[Strip()], validators=[Optional(), Length(max=40)])
    asylum_number = StringField(_l("Asylum registration number (if any)"), filters=[Strip()],
                                validators=[Optional(), Length(max=40)])
    legal_basis = SelectField(_l("Legal basis for processing"), choices=choices(LegalBasis), default="public_task",
                              validators=[DataRequired()])
    not_duplicate = BooleanField(_l("I checked the possible matches: this is a different child"))

    def __init__(self, *args, centres=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
        self.first_language.choices = language_choices()
        if self.centre is not None:  # a correction leaves the centre out (CorrectChildForm)
            self.centre.choices = options([("", _l("None / private accommodation"))] + [(c.code, c.name) for c in centres])


class EnrolForm(FlaskForm):
    """Enrol in two steps that work without a script: the school, first day (hence the school year), level and
    grade; then a class of exactly those (the view offers only those and refuses any other)."""

    school = SelectField(_l("School"), validators=[DataRequired()])
    start_date = DateField(_l("First day at school"), validators=[InputRequired()])
    level = SelectField(_l("Level"), choices=choices(Level), validators=[DataRequired()])
    grade = IntegerField(_l("Grade"), validators=[InputRequired(), NumberRange(min=1, max=8)])
    # Checked by the view against the classes of the chosen school, year, level and grade.
    class_id = SelectField(_l("Class"), validators=[Optional()], validate_choice=False)


@_text_fields
class TransferForm(FlaskForm):
    school = SelectField(_l("New school"), validators=[DataRequired()])
    start_date = DateField(_l("First day at the new school"), validators=[InputRequired()])
    grade = IntegerField(_l("Grade at the new school"), validators=[Optional(), NumberRange(min=1, max=8)])
    note = TextAreaField(_l("Note"), filters=[Strip()], validators=[Optional(), Length(max=500)])


@_text_fields
class ExitForm(FlaskForm):
    end_date = DateField(_l("Last day at school"), validators=[InputRequired()])
    reason = SelectField(_l("Reason"), choices=options([("", _l("Choose…"))])
                         + [c for c in choices(ExitReason) if c.value != "transferred"], validators=[DataRequired()])
    # Counts only for the reasons that mean leaving Serbia (LEAVING_SERBIA); ticked unless the officer unticks it.
    end_stay = BooleanField(_l("The child left Serbia: end the centre stay on this date"), default=True)
    note = TextAreaField(_l("Note"), filters=[Strip()], validators=[Optional(), Length(max=500)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # choices() gives labels in the language of the request it is called in: here, not at import.
        self.reason.choices = options([("", _l("Choose…"))]) + [c for c in choices(ExitReason)
                                                                if c.value != "transferred"]

    def leaving_labels(self) -> list[str]:
        """The labels of the reasons for which ``end_stay`` counts, as the select shows them."""

        values = {r.value for r in LEAVING_SERBIA}
        return [str(c.label) for c in self.reason.choices if c.value in values]


@_text_fields
class UascForm(FlaskForm):
    status = SelectField(_l("UASC status"), choices=choices(UascStatus), validators=[DataRequired()])
    since = DateField(_l("Since"), validators=[InputRequired()])
    guardian_name = StringField(_l("Legal guardian"), filters=[Strip()], validators=[Optional(), Length(max=200)])
    guardian_organisation = StringField(_l("Guardian's organisation"), filters=[Strip()],
                                        validators=[Optional(), Length(max=200)])
    guardian_pending = BooleanField(_l("Guardian pending: no legal guardian is appointed yet"))


class CentreForm(FlaskForm):
    centre = SelectField(_l("Centre"), validators=[Optional()])
    since = DateField(_l("Since"), validators=[InputRequired()])


@_text_fields
class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name or code"), filters=[Strip()], validators=[Optional(), Length(max=100)])
    school = SelectField(_l("School"), filters=[Strip()], validators=[Optional()])
    centre = SelectField(_l("Centre"), filters=[Strip()], validators=[Optional()])
    sex = SelectField(_l("Sex"), choices=options([("", _l("Any"))]) + choices(Sex), filters=[Strip()],
                      validators=[Optional()])
    uasc = SelectField(_l("UASC status"), choices=options([("", _l("Any"))]) + choices(UascStatus), filters=[Strip()], validators=[Optional()])
    level = SelectField(_l("Level"), choices=options([("", _l("Any"))]) + choices(Level), filters=[Strip()], validators=[Optional()])
    enrolled = SelectField(_l("Enrolled"), choices=options([("", _l("Any")), ("yes", _l("Enrolled now")),
                                                            ("no", _l("Not enrolled"))]), filters=[Strip()], validators=[Optional()])
    page = HiddenField()


class CorrectChildForm(ChildForm):
    """The registration form's fields, rules and choices for what a correction may change (``correct_child``)."""

    uasc_status = None  # changed with Change UASC status, which keeps the periods
    centre = None  # changed with Change centre, which keeps the stays
    centre_since = None
    legal_basis = None
    not_duplicate = None
    version = HiddenField()


@_text_fields
class CorrectEnrolmentForm(FlaskForm):
    start_date = DateField(_l("First day at school"), validators=[InputRequired()])
    end_date = DateField(_l("Last day at school"), validators=[Optional()])
    grade = IntegerField(_l("Grade"), validators=[InputRequired(), NumberRange(min=1, max=8)])
    class_id = SelectField(_l("Class"), validators=[Optional()])


class ConfirmForm(FlaskForm):
    """A button that changes something: the CSRF token only."""


@_text_fields
class MergeForm(FlaskForm):
    other = StringField(_l("Code of the other record of this child"), filters=[Strip()],
                        validators=[DataRequired(), Length(max=12)])
    confirmed = HiddenField()
