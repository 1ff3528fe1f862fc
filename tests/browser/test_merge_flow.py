"""An administrator merges a child registered twice, in a real phone-sized Chromium: she opens the child's page,
asks to merge the other record, sees both side by side, merges, and the other code then leads to the one child
with both enrolment histories."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

ADMIN = "admin@example.org"


@pytest.fixture
def duplicate(live_server, password_hash):
    """An administrator, and a second record of the seed's child: registered again under another spelling, with an
    earlier enrolment at the other school that ended before the first record's enrolment started."""
    from tracker.children import operations as child_ops
    from tracker.enrolment import operations as enrol_ops
    from tracker.extensions import db
    from tracker.models import School, User
    from tracker.types import Level, Role

    seed = live_server.seed
    today = dt.date.today()
    with live_server.app.app_context():
        db.session.add(User(email=ADMIN, name="Ana Admin", role=Role.admin, password_hash=password_hash))
        school_b = db.session.query(School).filter_by(name=seed.school_b).one()
        twin = child_ops.register_child(given_name="Ahmed", family_name="Rahimi", name_original="", sex="male",
                                        birth_date=seed.existing_birth, country="AFG", first_language="prs")
        enrol_ops.enrol(twin, school_b, Level.primary.value, 5, today - dt.timedelta(days=75))
        enrol_ops.exit_enrolment(twin, today - dt.timedelta(days=62), "other")
        db.session.commit()
        code = twin.code
        db.session.remove()
    return code


def test_admin_previews_and_merges_a_duplicate_and_the_old_code_leads_to_the_child(page, live_server, duplicate):
    seed = live_server.seed
    main = page.get_by_role("main")
    sign_in(page, ADMIN)
    page.goto(f"/children/{seed.existing_code}")
    link = main.get_by_role("link", name="Merge a duplicate record", exact=True)
    assert link.bounding_box()["height"] >= 44
    link.click()
    expect(page.get_by_role("heading", name="Merge a duplicate record", level=1)).to_be_visible()
    page.get_by_label("Code of the other record of this child", exact=True).fill(duplicate.lower())
    page.get_by_role("button", name="Show both records", exact=True).click()

    # The preview: both records side by side, nothing merged yet.
    expect(page.get_by_role("region", name="This record stays")).to_contain_text(seed.existing_code)
    other = page.get_by_role("region", name="Merged into it")
    expect(other).to_contain_text(duplicate)
    expect(other).to_contain_text(seed.school_b)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    page.get_by_role("button", name=f"Merge {duplicate} into {seed.existing_code}", exact=True).click()

    expect(page.get_by_role("status").filter(has_text=f"{duplicate} is merged into {seed.existing_code}")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/children/{seed.existing_code}")
    expect(main).to_contain_text(seed.school_a)
    expect(main).to_contain_text(seed.school_b)  # both enrolment histories on the one child

    # The old code keeps leading to the child.
    page.goto(f"/children/{duplicate}")
    expect(page).to_have_url(f"{live_server.url}/children/{seed.existing_code}")
    expect(page.get_by_role("heading", name=f"{seed.existing_given} {seed.existing_family}", level=1)).to_be_visible()
