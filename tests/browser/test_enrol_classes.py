"""The enrol form in a real phone-sized Chromium: the class list follows the chosen school, level and grade as
the officer changes them (static/enrol.js), and the "Show the classes" step is not needed where scripts run."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_the_class_list_narrows_as_the_officer_chooses(page, live_server):
    from tracker.children import operations as child_ops
    from tracker.extensions import db
    from tracker.models import AcademicYear, Centre, School, SchoolClass

    today = dt.date.today()
    seed = live_server.seed
    with live_server.app.app_context():
        year = db.session.scalar(sa.select(AcademicYear))
        a = db.session.scalar(sa.select(School).where(School.name == seed.school_a))
        b = db.session.scalar(sa.select(School).where(School.name == seed.school_b))
        db.session.add_all([SchoolClass(school=a, year=year, level="primary", grade=5, name="5-1"),
                            SchoolClass(school=a, year=year, level="primary", grade=5, name="5-2"),
                            SchoolClass(school=a, year=year, level="primary", grade=4, name="4-1"),
                            SchoolClass(school=b, year=year, level="primary", grade=5, name="V-3")])
        sept = dt.date(year.first_day.year, 9, 1)
        child = child_ops.register_child(given_name="Amina", family_name="Haddad", sex="female",
                                         birth_date=sept.replace(year=sept.year - 11), country="SYR",
                                         first_language="ara", centre=db.session.scalar(sa.select(Centre)),
                                         centre_since=today - dt.timedelta(days=30))
        db.session.commit()
        code = child.code

    sign_in(page, seed.liaison_email)
    page.goto(f"/children/{code}/enrol")
    main = page.get_by_role("main")
    expect(main.get_by_text("Suggested from age 11: Primary, grade 5.")).to_be_visible()
    expect(page.get_by_role("button", name="Show the classes")).to_be_hidden()  # the script narrows live
    classes = page.get_by_label("Class", exact=True)
    expect(classes.get_by_role("option")).to_have_text(["Not yet assigned"])  # no school chosen yet

    page.get_by_label("School", exact=True).select_option(label=seed.school_a)
    expect(classes.get_by_role("option")).to_have_text(["Not yet assigned", "5-1", "5-2"])
    page.get_by_label("Grade", exact=True).fill("4")
    expect(classes.get_by_role("option")).to_have_text(["Not yet assigned", "4-1"])
    page.get_by_label("School", exact=True).select_option(label=seed.school_b)
    expect(classes.get_by_role("option")).to_have_text(["Not yet assigned"])
    page.get_by_label("School", exact=True).select_option(label=seed.school_a)
    page.get_by_label("Grade", exact=True).fill("5")
    classes.select_option(label="5-2")
    page.get_by_role("button", name="Enrol", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"Enrolled at {seed.school_a}.")
    with live_server.app.app_context():
        from tracker.models import Child

        child = db.session.scalar(sa.select(Child).where(Child.code == code))
        assert (child.open_enrolment.school_class.name, child.open_enrolment.grade) == ("5-2", 5)
