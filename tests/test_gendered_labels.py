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


def test_a_serbian_date_that_ends_a_sentence_ends_it_once(client, auth, world):
    from tracker.i18n import one_full_stop

    assert one_full_stop("do 1. 12. 2026..") == "do 1. 12. 2026."
    assert one_full_stop("i tako dalje...") == "i tako dalje..."
    assert one_full_stop("verzija 2.1..3") == "verzija 2.1.3"
    auth.login(world.teacher_a)
    page = client.get("/assessments/", headers={"Accept-Language": "sr-Latn"}).get_data(as_text=True)
    assert not __import__("re").search(r"\d\.\.(?!\.)", page)


def test_the_childrens_common_languages_are_named_in_serbian(app):
    from babel import Locale

    from tracker.children.forms import COMMON_LANGUAGES
    from tracker.labels import language_name

    english = {code: None for code in COMMON_LANGUAGES}
    with app.test_request_context():
        with force_locale("en"):
            english = {code: language_name(code) for code in COMMON_LANGUAGES}
        for locale in ("sr_Latn", "sr_Cyrl"):
            with force_locale(locale):
                for code in COMMON_LANGUAGES:
                    assert language_name(code) != english[code], (locale, code, english[code])
    assert Locale.parse("sr_Latn")  # the names come from the locale data, and tracker's table where it has none
