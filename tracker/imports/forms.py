"""The upload form and the confirmation of a previewed import."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField
from wtforms.validators import DataRequired, Length, Regexp

from tracker.labels import options

KIND_LABELS = {
    "schools": _l("Schools"),
    "centres": _l("Accommodation centres"),
    "academic_years": _l("Academic years"),
    "non_school_days": _l("Non-school days"),
    "children": _l("Children"),
    "enrolments": _l("Enrolments"),
    "attendance": _l("Attendance"),
}

TOKEN = r"^[A-Za-z0-9_-]{32}$"


class UploadForm(FlaskForm):
    kind = SelectField(_l("What the file holds"), validators=[DataRequired()])
    file = FileField(_l("CSV file (UTF-8, first line the column names)"), validators=[FileRequired()],
                     render_kw={"accept": ".csv,text/csv"})

    def __init__(self, *args, kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = options([(k, f"{KIND_LABELS[k]} ({k}.csv)") for k in kinds])


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Regexp(TOKEN)])
    kind = HiddenField(validators=[DataRequired(), Length(max=20)])
