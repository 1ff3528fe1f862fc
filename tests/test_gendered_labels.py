"""Serbian says "prisutan" of a boy and "prisutna" of a girl: a word said of one child takes the child's gender."""
from flask_babel import force_locale

from tracker.labels import label
from tracker.types import AttendanceStatus, Sex


def test_present_agrees_with_the_childs_gender_in_both_scripts(app):
    with app.test_request_context():
        with force_locale("sr_Latn"):
            assert label(AttendanceStatus.present, Sex.female) == "Prisutna"
            assert label(AttendanceStatus.present, Sex.male) == "Prisutan"
            assert label(AttendanceStatus.present) == "Prisutan"
        with force_locale("sr_Cyrl"):
            assert label(AttendanceStatus.present, Sex.female) == "Присутна"
        with force_locale("en"):
            assert label(AttendanceStatus.present, Sex.female) == "Present"
