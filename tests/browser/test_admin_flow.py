"""An administrator adds a teacher on a phone-sized Chromium, and the teacher's first sign-in: the one-time
password, her own password, and only her class. Fields are found by their labels and controls by role."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.browser.conftest import main_menu, sign_in, sign_out

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

ADMIN = "admin@example.org"
TEACHER = "milica.jovanovic@example.org"
HER_PASSWORD = "moja nova lozinka za skolu"


@pytest.fixture
def classes(live_server, password_hash):
    """An administrator, and two classes at the liaison's first school (the teacher gets one of them)."""
    from tracker.extensions import db
    from tracker.models import AcademicYear, School, SchoolClass, User
    from tracker.types import Level, Role

    with live_server.app.app_context():
        year = db.session.scalars(sa.select(AcademicYear)).one()
        school = db.session.scalar(sa.select(School).where(School.name == live_server.seed.school_a))
        db.session.add_all([
            User(email=ADMIN, name="Ana Admin", role=Role.admin, password_hash=password_hash),
            SchoolClass(school=school, year=year, level=Level.primary, grade=5, name="5-1"),
            SchoolClass(school=school, year=year, level=Level.primary, grade=5, name="5-2"),
        ])
        db.session.commit()
        label = year.label
        db.session.remove()
    return label


def assert_fits_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide on a {page.viewport_size['width']}px phone"


def test_admin_adds_a_teacher_who_sets_her_password_and_sees_only_her_class(page, live_server, classes):
    school = live_server.seed.school_a
    main = page.get_by_role("main")

    # 1. The administrator opens the users page from the menu and adds a teacher for class 5-1.
    sign_in(page, ADMIN)
    main_menu(page).get_by_role("link", name="Users", exact=True).click()
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    expect(main.get_by_text("2 users", exact=True)).to_be_visible()
    assert_fits_phone(page)
    main.get_by_role("link", name="Add a user", exact=True).click()
    expect(page.get_by_role("heading", name="Add a user", level=1)).to_be_visible()
    page.get_by_label("Email", exact=True).fill(TEACHER)
    page.get_by_label("Name", exact=True).fill("Milica Jovanović")
    page.get_by_label("Role", exact=True).select_option(label="Teacher")
    page.locator("details.class-group > summary", has_text=school).click()  # opens the school's classes
    class_box = page.get_by_role("checkbox", name=re.compile(r"^5-1 "))
    expect(class_box).to_have_accessible_name(f"5-1 · {school}, {classes}")
    class_box.check()
    box = class_box.bounding_box()
    assert box["width"] >= 20 and box["height"] >= 20
    assert_fits_phone(page)
    page.get_by_role("button", name="Add user", exact=True).click()

    expect(page.get_by_role("heading", name="User added", level=1)).to_be_visible()
    field = page.get_by_label(f"One-time password for {TEACHER}", exact=True)
    one_time = field.input_value()
    assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3,}", one_time), one_time
    assert_fits_phone(page)
    sign_out(page)
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()

    # 2. The teacher signs in with it and is asked for a password of her own before anything else.
    page.get_by_label("Email", exact=True).fill(TEACHER)
    page.get_by_label("Password", exact=True).fill(one_time)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Choose your password", level=1)).to_be_visible()
    assert_fits_phone(page)
    page.goto("/")  # every other page leads back here
    expect(page.get_by_role("heading", name="Choose your password", level=1)).to_be_visible()
    page.get_by_label("One-time password", exact=True).fill(one_time)
    page.get_by_label("Your new password", exact=True).fill(HER_PASSWORD)
    page.get_by_role("button", name="Set password", exact=True).click()

    # 3. She is on her home page, with her class and not the other one of the school.
    expect(page.get_by_role("heading", name="Your classes", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Your password is set. Use it from now on.")
    table = main.get_by_role("table")
    expect(table.get_by_role("link", name="5-1", exact=True)).to_be_visible()
    expect(table.get_by_role("row")).to_have_count(1)  # her class alone (a phone hides the header row)
    expect(table.get_by_text("5-2")).to_have_count(0)
    assert_fits_phone(page)
    # the child enrolled at the school, but in no class of hers, stays out of reach
    response = page.goto(f"/children/{live_server.seed.existing_code}")
    assert response.status == 404
