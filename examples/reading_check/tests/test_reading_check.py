"""Tests of the reading check that need no database: run ``python -m pytest tests`` in this folder.

tracker's own test suite fills the form end to end (tests/test_plugins.py,
``test_an_external_assessment_plugin_installs_and_its_form_can_be_filled``).
"""
import pytest
from flask import Flask
from flask_babel import Babel
from werkzeug.datastructures import MultiDict

from tracker.assessments.types import AssessmentType
from tracker_reading_check import LEVELS, ReadingCheck, ReadingCheckForm, register_assessment_types


@pytest.mark.parametrize(("level", "value", "band"), [
    ("not_yet", 0.0, "not_yet"),
    ("letters", 1.0, "decoding"),
    ("words", 2.0, "decoding"),
    ("sentences", 3.0, "reads"),
    ("texts", 4.0, "reads"),
])
def test_each_level_scores_and_bands(level, value, band):
    result = ReadingCheck().score({"level": level}, {"grade": 3, "level": "primary"})
    assert result.domains == {"reading": value}
    assert result.band == band


def test_every_band_and_domain_is_declared():
    check = ReadingCheck()
    bands = {key for key, _label in check.bands}
    assert {check.score({"level": key}, {}).band for key, _label in LEVELS} <= bands
    assert [key for key, _label in check.domains] == ["reading"]


def test_the_hook_returns_the_type():
    (registered,) = register_assessment_types()
    assert issubclass(registered, AssessmentType) and registered.slug == "reading_check"


def test_the_form_requires_a_known_level():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=False)
    Babel(app)
    with app.test_request_context(method="POST"):
        assert not ReadingCheckForm(formdata=MultiDict()).validate()
        assert not ReadingCheckForm(formdata=MultiDict({"level": "novels"})).validate()
        form = ReadingCheckForm(formdata=MultiDict({"level": "words"}))
        assert form.validate() and form.level.data == "words"
