"""The long lists at the scale of a municipality (tracker/listing.py): today's registers, the missing registers, the
children list and the officer's home page count what they show, filter it, show 50 more at a time, stay inside
the user's scope, and ignore nonsense in their filters."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from tests.test_scope import make_child
from tracker.extensions import db


def page_of(client, url: str, status: int = 200, **data) -> str:
    r = client.post(url, data=data) if data else client.get(url)
    assert r.status_code == status, (url, r.status_code)
    return html.unescape(r.get_data(as_text=True))


def count_line(page: str) -> str:
    return " ".join(re.search(r'<p class="count"[^>]*>(.*?)</p>', page, re.S).group(1).split())


def listed(page: str, *names: str) -> list[str]:
    """Which of ``names`` the page's list shows, in the order it shows them (after the count)."""
    rows = page.split('class="count"', 1)[1]
    return sorted((n for n in names if n in rows), key=rows.index)


# --- today's registers -----------------------------------------------------------------------------------------


def take_register(client, cls, day):
    return client.post(f"/registers/{cls.id}/{day.isoformat()}", data={})


A, B = "5-1 · OŠ Vuk Karadžić", "I-2 · Gimnazija Subotica"  # today's registers name class and school


def saved_today(cls):
    """A register of ``cls`` saved today (written directly: today may be a weekend, when the page refuses)."""
    from tracker.models import AttendanceRecord, Enrolment

    for e in db.session.scalars(db.select(Enrolment).where(Enrolment.class_id == cls.id)):
        db.session.add(AttendanceRecord(enrolment_id=e.id, date=dt.date.today(), status="present"))
    db.session.commit()


def test_todays_registers_count_filter_and_put_the_untaken_first(client, auth, world, monkeypatch):
    from tracker import listing

    auth.login(world.admin)
    page = page_of(client, "/registers/")
    assert count_line(page) == "2 classes today, 2 not taken yet; 2 shown."
    assert listed(page, A, B) == [B, A]  # by school name: Gimnazija before OŠ
    page = page_of(client, f"/registers/?school={world.school_a.id}")
    assert count_line(page) == "1 of 2 classes matches the filters; 1 shown."
    assert listed(page, A, B) == [A]

    saved_today(world.class_b)
    page = page_of(client, "/registers/")
    assert count_line(page) == "2 classes today, 1 not taken yet; 2 shown."
    assert listed(page, A, B) == [A, B]  # not taken first
    assert "Taken today" in page.split(B)[1]
    assert listed(page_of(client, "/registers/?not_taken=y"), A, B) == [A]

    monkeypatch.setattr(listing, "PAGE", 1)
    page = page_of(client, "/registers/")
    assert count_line(page).endswith("1 shown.") and "pages=2" in page and "Show more" in page
    assert listed(page, A, B) == [A]
    page = page_of(client, "/registers/?pages=2")
    assert count_line(page).endswith("2 shown.") and "Show more" not in page


def test_todays_registers_stay_in_scope_and_ignore_nonsense(client, auth, world):
    auth.login(world.teacher_a)
    assert listed(page_of(client, "/registers/"), A, B) == [A]
    page = page_of(client, f"/registers/?school={world.school_b.id}")  # not the teacher's school
    assert listed(page, A, B) == [] and "No class matches these filters." in page
    for junk in ("school=x", "school=-1", "school=99999999999999999999", "school=²", "pages=-3", "pages=²",
                 "not_taken=maybe", "school=%00"):
        assert listed(page_of(client, f"/registers/?{junk}"), A, B) in ([A], []), junk


# --- missing registers -----------------------------------------------------------------------------------------


CA, CB = "<strong>5-1</strong>", "<strong>I-2</strong>"  # the missing registers' rows, by class
CLASSES = (CA, CB)


def expected_missing(world, school, days=10) -> int:
    from tracker.schools.calendar import recent_school_days

    return len([d for d in recent_school_days(school, dt.date.today(), days) if d >= world.year.first_day])


def test_missing_registers_count_by_class_and_filter(client, auth, world):
    auth.login(world.admin)
    a, b = expected_missing(world, world.school_a), expected_missing(world, world.school_b)
    if not a:
        pytest.skip("no school day yet in this school year")
    page = page_of(client, "/registers/missing")
    assert count_line(page) == f"{a + b} missing registers. 2 classes; 2 shown."
    assert "The class with the most days missing comes first" in page
    page = page_of(client, f"/registers/missing?school={world.school_b.id}")
    assert count_line(page).startswith(f"{b} of {a + b} missing register")
    assert listed(page, *CLASSES) == [CB]
    page = page_of(client, f"/registers/missing?class_id={world.class_a.id}")
    assert listed(page, *CLASSES) == [CA]
    # Each class names its teachers.
    assert "Teacher: teacher.a" in page
    assert "No teacher assigned" in page_of(client, f"/registers/missing?class_id={world.class_b.id}")
    # A shorter window counts fewer days.
    five = expected_missing(world, world.school_a, 5) + expected_missing(world, world.school_b, 5)
    assert count_line(page_of(client, "/registers/missing?days=5")).startswith(f"{five} missing register")


def test_missing_registers_put_the_class_most_behind_first_and_page(client, auth, world, monkeypatch):
    from tracker import listing
    from tracker.schools.calendar import recent_school_days

    days = [d for d in recent_school_days(world.school_a, dt.date.today(), 10) if d >= world.year.first_day]
    if len(days) < 2:
        pytest.skip("fewer than two school days so far in this school year")
    auth.login(world.admin)
    # Class 5-1 takes its newest register: it now has one day fewer missing than I-2 (same calendar).
    assert take_register(client, world.class_a, days[0]).status_code == 302
    page = page_of(client, "/registers/missing")
    assert listed(page, *CLASSES) == [CB, CA]
    monkeypatch.setattr(listing, "PAGE", 1)
    page = page_of(client, "/registers/missing")
    assert listed(page, *CLASSES) == [CB] and "pages=2" in page
    page = page_of(client, "/registers/missing?pages=2")
    assert listed(page, *CLASSES) == [CB, CA] and "Show more" not in page


def test_missing_registers_stay_in_scope_and_ignore_nonsense(client, auth, world):
    auth.login(world.liaison_a)
    if not expected_missing(world, world.school_a):
        pytest.skip("no school day yet in this school year")
    assert listed(page_of(client, "/registers/missing"), *CLASSES) == [CA]
    page = page_of(client, f"/registers/missing?school={world.school_b.id}")
    assert listed(page, *CLASSES) == [] and "Gimnazija Subotica" not in page.split('class="count"')[1]
    assert listed(page_of(client, f"/registers/missing?class_id={world.class_b.id}"), *CLASSES) == []
    for junk in ("school=x", "class_id=²", "days=abc", "days=9999", "days=-5", "pages=-3", "class_id=1e9"):
        assert listed(page_of(client, f"/registers/missing?{junk}"), *CLASSES) == [CA], junk


# --- the children list -----------------------------------------------------------------------------------------


@pytest.fixture
def waiting(world):
    """Children living in Krnjača (Beograd) and enrolled nowhere: two of school age, one of 18."""
    today = dt.date.today()
    return {"omid": make_child(world.centre_a, given="Omid", family="Sadeghi"),
            "sara": make_child(world.centre_a, given="Sara", family="Amini", sex="female"),
            "reza": make_child(world.centre_a, given="Reza", family="Karimi", born=today.replace(year=today.year - 18,
                                                                                                  day=1))}


NAMES = ("Ahmad Rahimi", "Zahra Hosseini", "Omid Sadeghi", "Sara Amini", "Reza Karimi")


def children(client, status=200, **params) -> tuple[list[str], str]:
    r = client.get("/children/", query_string=params)
    assert r.status_code == status, (params, r.status_code)
    page = html.unescape(r.get_data(as_text=True))
    return listed(page, *NAMES), count_line(page)


def test_the_children_list_counts_and_filters(client, auth, world, waiting):
    from tracker.models import UascPeriod

    auth.login(world.admin)
    shown, line = children(client)
    assert len(shown) == 5 and line == "5 children; 5 shown. By name."
    shown, line = children(client, school=world.school_a.code)
    assert shown == ["Ahmad Rahimi"] and line.startswith("1 child of 5 matches; 1 shown.")
    assert children(client, centre=world.centre_b.code)[0] == ["Zahra Hosseini"]
    assert children(client, class_id=str(world.class_b.id))[0] == ["Zahra Hosseini"]
    assert children(client, uasc="uasc")[0] == ["Zahra Hosseini"]
    assert children(client, sex="female")[0] == ["Sara Amini", "Zahra Hosseini"]
    assert children(client, enrolled="no")[0] == ["Sara Amini", "Reza Karimi", "Omid Sadeghi"]
    # Waiting for a school: living in a centre, school age, not enrolled (Reza is 18).
    assert children(client, enrolled="waiting")[0] == ["Sara Amini", "Omid Sadeghi"]
    # A separated child counts as UASC too.
    db.session.add(UascPeriod(child_id=waiting["omid"].id, status="separated", start_date=dt.date.today()))
    db.session.commit()
    assert children(client, uasc="uasc", enrolled="waiting")[0] == ["Omid Sadeghi"]
    # Centres are named by code and name, in the filter and in the rows.
    page = client.get("/children/").get_data(as_text=True)
    assert html.unescape(page).count("KRN — Krnjača") >= 2


def test_the_children_list_orders_by_name_or_by_need(client, auth, world, waiting):
    auth.login(world.admin)
    assert children(client)[0] == ["Sara Amini", "Zahra Hosseini", "Reza Karimi", "Ahmad Rahimi", "Omid Sadeghi"]
    shown, line = children(client, sort="action")
    assert shown == ["Sara Amini", "Reza Karimi", "Omid Sadeghi", "Zahra Hosseini", "Ahmad Rahimi"]
    assert line.endswith("Not enrolled first, then by name.")


def test_the_children_list_shows_more_on_request_keeping_the_search(client, auth, world, waiting, monkeypatch):
    from tracker import listing

    monkeypatch.setattr(listing, "PAGE", 2)
    auth.login(world.admin)
    page = page_of(client, "/children/")
    assert count_line(page).startswith("5 children; 2 shown.")
    assert re.search(r'<button form="search"[^>]*name="pages" value="2">Show more</button>', page)
    # The button posts the search form: the typed text and the filters come along.
    page = page_of(client, "/children/", q="a", enrolled="no", pages="2")
    assert listed(page, *NAMES) == ["Sara Amini", "Reza Karimi", "Omid Sadeghi"]
    assert count_line(page).startswith("3 children of 5 match; 3 shown.") and "Show more" not in page


def test_the_children_list_stays_in_scope_and_ignores_nonsense(client, auth, world, waiting):
    auth.login(world.liaison_a)
    assert children(client)[0] == ["Sara Amini", "Reza Karimi", "Ahmad Rahimi", "Omid Sadeghi"]
    # Another school's class: nothing of it.
    assert children(client, class_id=str(world.class_b.id))[0] == []
    # Another school's code is not a choice here: refused with a message, nothing listed.
    r = client.get("/children/", query_string={"school": world.school_b.code})
    assert r.status_code == 400 and "Zahra" not in r.get_data(as_text=True)
    for junk in ({"class_id": "x"}, {"class_id": "²"}, {"sort": "drop table"}, {"pages": "-1"}, {"pages": "²"},
                 {"class_id": "99999999999999999999999"}):
        shown, _line = children(client, **junk)
        assert "Zahra Hosseini" not in shown and len(shown) in (0, 4), junk


# --- the officer's home page -----------------------------------------------------------------------------------


def test_the_home_page_counts_the_waiting_children_and_links_to_exactly_them(client, auth, world, waiting):
    auth.login(world.liaison_a)
    home = page_of(client, "/")
    section = home[home.index("Living in a centre, school age, not enrolled"):]
    assert "2 children are waiting for a school; 2 shown" in section
    link = re.search(r'<a class="waiting-all" href="([^"]+)">Open them all in the children list</a>', section)
    assert link, section
    assert "KRN — Krnjača" in section
    page = page_of(client, link.group(1))
    shown = listed(page, *NAMES)
    assert shown == ["Sara Amini", "Omid Sadeghi"]
    assert count_line(page).startswith("2 children of 4 match")
    # The same children, by name, as on the home page.
    assert sorted(shown) == sorted(n for n in NAMES if n in section)


def test_the_home_page_count_covers_more_than_it_shows(client, auth, world, waiting, monkeypatch):
    from tracker import listing

    for i in range(3):
        make_child(world.centre_a, given=f"Child{i}", family="Waiting")
    monkeypatch.setattr(listing, "PAGE", 2)
    auth.login(world.liaison_a)
    home = page_of(client, "/")
    assert "5 children are waiting for a school; 2 shown" in home
    r = client.get("/children/", query_string={"enrolled": "waiting"})
    assert count_line(html.unescape(r.get_data(as_text=True))).startswith("5 children of 7 match")


def test_the_follow_up_filter_names_centres_by_code_and_name(client, auth, world):
    auth.login(world.admin)
    page = page_of(client, "/follow-up/")
    assert "No open flags" in page  # no flags: no filter form either
    from tracker.flags.models import Flag

    today = dt.date.today()
    db.session.add(Flag(child_id=world.child_a.id, rule="chronic_absence", severity=2, raised_on=today,
                        last_seen_on=today, evidence={"attended": 5, "recorded": 10}))
    db.session.commit()
    page = page_of(client, "/follow-up/")
    assert "KRN — Krnjača" in page and "SUB — Subotica RTC" in page
