from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional


class YearForm(FlaskForm):
    label = StringField(_l("Academic year"), validators=[DataRequired(), Length(max=7)])
    first_day = DateField(_l("First school day"), validators=[InputRequired()])
    last_day = DateField(_l("Last school day"), validators=[InputRequired()])


class NonSchoolDayForm(FlaskForm):
    date = DateField(_l("Date"), validators=[InputRequired()])
    description = StringField(_l("Description"), validators=[DataRequired(), Length(max=200)])
    school = SelectField(_l("School"), validators=[Optional()])
