"""The per-school settings of the OneRoster integration."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional

from tracker.children.forms import NoControlCharacters, Strip


class OneRosterSettingsForm(FlaskForm):
    org_sourced_id = StringField(
        _l("The school's sourcedId in the school system"), filters=[Strip()],
        validators=[Optional(), Length(max=200), NoControlCharacters()],
        description=_l("Leave blank when the school system uses the school code as the school's sourcedId in "
                       "orgs.csv, or gives the school code as its identifier."))
