"""The enrol form: a grade suggested from the child's age on 1 September, only the classes of the chosen school,
school year, level and grade (a "Show the classes" step that works without a script), and any other class refused
with a message and nothing written."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from tests.conftest import count
from tests.test_scope import make_child
from tracker.extensions import db


def born_for_age(world, age: int) -> dt.date:
    """A birth date that makes the child ``age`` on 1 September of the world's school year."""
    return dt.date(world.year.first_day.year - age, 3, 15)


def class_options(page: str) -> list[str]:
    select = re.search(r'<select[^>]*id="class_id"[^>]*>(.*?)</select>', page, re.S).group(1)
    return [html.unescape(o).strip() for o in re.findall(r"<option[^>]*>(.*?)</option>", select)]


def selected(page: str, field: str) -> str | None:
    select = re.search(rf'<select[^>]*id="{field}"[^>]*>(.*?)</select>', page, re.S).group(1)
    found = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', select)
    return next(g for g in found.groups() if g is not None) if found else None


def grade_value(page: str) -> str:
    return re.search(r'<input[^>]*id="grade"[^>]*value="([^"]*)"', page).group(1)


@pytest.fixture
def classes(world):
    """Besides 5-1 (OŠ Vuk Karadžić, primary 5): 4-1 there, and 5-2 there in another school year."""
    from tracker.models import AcademicYear, SchoolClass

    other_year = AcademicYear(label="1999/00", first_day=dt.date(1999, 9, 1), last_day=dt.date(2000, 6, 20))
    made = {"4-1": SchoolClass(school=world.school_a, year=world.year, level="primary", grade=4, name="4-1"),
            "5-2": SchoolClass(school=world.school_a, year=other_year, level="primary", grade=5, name="5-2")}
    db.session.add_all([other_year, *made.values()])
    db.session.commit()
    return made


def form(world, **change):
    return {"school": world.school_a.code, "level": "primary", "grade": "5", "class_id": "",
            "start_date": world.year.first_day.isoformat(), **change}


def test_the_grade_is_suggested_from_the_age_on_the_first_of_september(client, auth, world):
    child = make_child(world.centre_a, born=born_for_age(world, 11))
    auth.login(world.liaison_a)
    page = html.unescape(client.get(f"/children/{child.code}/enrol").get_data(as_text=True))
    assert "Suggested from age 11: Primary, grade 5." in page
    assert selected(page, "level") == "primary" and grade_value(page) == "5"
    assert selected(page, "school") == world.school_a.code  # the officer's only school


@pytest.mark.parametrize("age, school, level, grade", [
    (5, "a", "primary", 1), (7, "a", "primary", 1), (14, "a", "primary", 8),
    (15, "b", "secondary", 1), (17, "b", "secondary", 3), (19, "b", "secondary", 4),
    (16, "a", "primary", 8),  # a primary school only: the highest primary grade
])
def test_the_suggestion_is_bounded_by_the_level(app, world, age, school, level, grade):
    from tracker.children.placement import suggest

    s = suggest(born_for_age(world, age), world.year.first_day + dt.timedelta(days=20),
                world.school_a if school == "a" else world.school_b)
    assert (s.age, s.level.value, s.grade) == (age, level, grade)


def test_a_birthday_on_the_first_of_september_counts(app, world):
    from tracker.children.placement import suggest

    sept = dt.date(world.year.first_day.year, 9, 1)
    assert suggest(sept.replace(year=sept.year - 10), sept).grade == 4  # ten on the day
    assert suggest(sept.replace(year=sept.year - 10) + dt.timedelta(days=1), sept).grade == 3  # ten the day after


def test_show_the_classes_offers_only_those_of_the_school_year_level_and_grade(client, auth, world, classes):
    from tracker.models import Enrolment

    child = make_child(world.centre_a, born=born_for_age(world, 11))
    auth.login(world.admin)
    before = count(Enrolment)
    r = client.post(f"/children/{child.code}/enrol", data={**form(world), "action": "classes"})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert class_options(page) == ["Not yet assigned", "5-1"]  # not 4-1 (grade), 5-2 (year), I-2 (school)
    assert "Classes that fit: 1." in page
    r = client.post(f"/children/{child.code}/enrol", data={**form(world, grade="4"), "action": "classes"})
    assert class_options(r.get_data(as_text=True)) == ["Not yet assigned", "4-1"]
    assert count(Enrolment) == before  # showing the classes writes nothing


def test_the_first_page_offers_the_classes_of_the_suggestion(client, auth, world, classes):
    child = make_child(world.centre_a, born=born_for_age(world, 10))
    auth.login(world.liaison_a)
    page = client.get(f"/children/{child.code}/enrol").get_data(as_text=True)
    if world.year.first_day - dt.timedelta(days=92) <= dt.date.today() <= world.year.last_day:
        assert class_options(page) == ["Not yet assigned", "4-1"]


@pytest.mark.parametrize("name, why", [("4-1", "another grade"), ("5-2", "another school year"),
                                       ("I-2", "another school, out of scope")])
def test_a_class_that_does_not_fit_is_refused_and_nothing_is_written(client, auth, world, classes, name, why):
    from tracker.models import Enrolment

    cls = world.class_b if name == "I-2" else classes[name]
    child = make_child(world.centre_a, born=born_for_age(world, 11))
    auth.login(world.liaison_a)
    before = count(Enrolment)
    r = client.post(f"/children/{child.code}/enrol", data=form(world, class_id=str(cls.id)))
    assert r.status_code == 400, why
    page = html.unescape(r.get_data(as_text=True))
    assert "This class is not one of the chosen school, school year, level and grade." in page
    assert 'id="class_id-err"' in page
    assert count(Enrolment) == before


def test_a_class_that_fits_enrols_the_child_in_it(client, auth, world, classes):
    from tracker.models import Enrolment

    child = make_child(world.centre_a, born=born_for_age(world, 11))
    auth.login(world.liaison_a)
    r = client.post(f"/children/{child.code}/enrol", data={**form(world, class_id=str(world.class_a.id)),
                                                           "action": "enrol"})
    assert r.status_code == 302, r.get_data(as_text=True)
    e = db.session.scalar(db.select(Enrolment).where(Enrolment.child_id == child.id))
    assert (e.school_class.name, e.grade) == ("5-1", 5)


def test_showing_the_classes_for_another_grade_drops_the_chosen_class(client, auth, world, classes):
    child = make_child(world.centre_a, born=born_for_age(world, 11))
    auth.login(world.liaison_a)
    r = client.post(f"/children/{child.code}/enrol", data={**form(world, grade="4", class_id=str(world.class_a.id)),
                                                           "action": "classes"})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert class_options(page) == ["Not yet assigned", "4-1"] and selected(page, "class_id") in (None, "")


def test_the_form_works_without_inline_script(client, auth, world, classes):
    child = make_child(world.centre_a, born=born_for_age(world, 11))
    auth.login(world.liaison_a)
    page = client.get(f"/children/{child.code}/enrol").get_data(as_text=True)
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == ['<script src="/static/menu.js">', '<script src="/static/enrol.js" defer>']  # files, none inline
    # The first button (so also the Enter key) only shows the classes.
    buttons = re.findall(r'<button type="submit" name="action" value="(\w+)"', page)
    assert buttons == ["classes", "enrol"]
    assert client.get("/static/enrol.js").status_code == 200
