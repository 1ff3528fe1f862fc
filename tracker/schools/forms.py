from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError


def no_control_characters(form, field):
    """Refuse control characters in a one-line text (a NUL cannot even be stored in PostgreSQL)."""
    if isinstance(field.data, str) and any(ord(ch) < 32 or ord(ch) == 127 for ch in field.data):
        raise ValidationError(_l("Remove the invisible control characters from this field."))


class YearForm(FlaskForm):
    label = StringField(_l("Academic year"), validators=[no_control_characters, DataRequired(), Length(max=7)])
    first_day = DateField(_l("First school day"), validators=[InputRequired()])
    last_day = DateField(_l("Last school day"), validators=[InputRequired()])


class NonSchoolDayForm(FlaskForm):
    date = DateField(_l("Date"), validators=[InputRequired()])
    description = StringField(_l("Description"), validators=[no_control_characters, DataRequired(), Length(max=200)])
    school = SelectField(_l("School"), validators=[Optional()])


class NonSchoolRangeForm(FlaskForm):
    first_day = DateField(_l("First day off"), validators=[InputRequired()])
    last_day = DateField(_l("Last day off"), validators=[InputRequired()])
    description = StringField(_l("Description"), validators=[no_control_characters, DataRequired(), Length(max=200)])
    school = SelectField(_l("School"), validators=[Optional()])


class SchoolForm(FlaskForm):
    name = StringField(_l("Name"), validators=[no_control_characters, DataRequired(), Length(max=200)])
    code = StringField(_l("Ministry code"), validators=[no_control_characters, DataRequired(), Length(max=20)])
    municipality = StringField(_l("Municipality"), validators=[no_control_characters, DataRequired(), Length(max=100)])
    offers_primary = BooleanField(_l("Primary school (grades 1–8)"))
    offers_secondary = BooleanField(_l("Secondary school (grades 1–4)"))


class ClassForm(FlaskForm):
    name = StringField(_l("Class name"), validators=[no_control_characters, DataRequired(), Length(max=50)])
    year = SelectField(_l("Academic year"), validators=[DataRequired()])
    level = SelectField(_l("Level"), validators=[DataRequired()])
    grade = IntegerField(_l("Grade"), validators=[InputRequired(), NumberRange(min=1, max=8)])
    teachers = SelectMultipleField(_l("Teachers"), coerce=str, validators=[Optional()])


class CopyClassesForm(FlaskForm):
    school = SelectField(_l("School"), validators=[Optional()])
    source = SelectField(_l("Copy the classes of"), validators=[DataRequired()])
    target = SelectField(_l("Into the year"), validators=[DataRequired()])
    move_up = BooleanField(_l("Move every class up one grade"))
