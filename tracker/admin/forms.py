"""The forms of the users page and the audit log."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from tracker.children.forms import NoControlCharacters, Strip
from tracker.labels import choices, options
from tracker.types import Role


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Name or email"), filters=[Strip()], validators=[Optional(), Length(max=100), NoControlCharacters()])
    role = SelectField(_l("Role"), choices=options([("", _l("Any"))]) + choices(Role), validators=[Optional()])
    school = SelectField(_l("School"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=options([("", _l("Any")), ("active", _l("Active")),
                                                        ("inactive", _l("Deactivated"))]), validators=[Optional()])
    page = HiddenField()


class AssignmentsForm(FlaskForm):
    name = StringField(_l("Name"), filters=[Strip()], validators=[DataRequired(), Length(max=200), NoControlCharacters()])
    role = SelectField(_l("Role"), choices=options([("", _l("Choose…"))]) + choices(Role), validators=[DataRequired()])
    schools = SelectMultipleField(_l("Schools (liaison officers)"), choices=[],
                                  invalid_choice_message=_l("Choose schools from the list."))
    classes = SelectMultipleField(_l("Classes (teachers)"), choices=[],
                                  invalid_choice_message=_l("Choose classes from the list."))


class NewUserForm(AssignmentsForm):
    once = HiddenField()
    email = StringField(_l("Email"), filters=[Strip()],
                        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = StringField(_l("One-time password (optional)"),
                           validators=[Optional(), Length(max=200), NoControlCharacters()])



class ResetPasswordForm(FlaskForm):
    once = HiddenField()
    password = StringField(_l("One-time password (optional)"),
                           validators=[Optional(), Length(max=200), NoControlCharacters()])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    user = SelectField(_l("User"), validators=[Optional()])
    object_type = SelectField(_l("Record type"), validators=[Optional()])
    object_id = StringField(_l("Record (id or code)"), filters=[Strip()],
                            validators=[Optional(), Length(max=50), NoControlCharacters()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    page = HiddenField()

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date must not be before the start date."))
