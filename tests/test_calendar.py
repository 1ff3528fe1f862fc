"""The school calendar screen."""
import datetime as dt

from tests.conftest import count
from tracker.models import AcademicYear, NonSchoolDay


def test_admin_adds_a_year_and_days(client, auth, world):
    auth.login(world.admin)
    first = world.year.last_day + dt.timedelta(days=60)
    label = f"{first.year}/{str(first.year + 1)[2:]}"
    r = client.post("/calendar/", data={"label": label, "first_day": first.isoformat(),
                                        "last_day": first.replace(year=first.year + 1, month=6).isoformat()})
    assert r.status_code == 302
    slug = label.replace("/", "-")
    day = first + dt.timedelta(days=10)
    r = client.post(f"/calendar/{slug}", data={"date": day.isoformat(), "description": "Armistice Day"})
    assert r.status_code == 302
    r = client.post(f"/calendar/{slug}", data={"date": day.isoformat(), "description": "Again"})
    assert r.status_code == 400 and "already a non-school day" in r.text
    r = client.post(f"/calendar/{slug}", data={"date": (day + dt.timedelta(days=1)).isoformat(),
                                               "description": "Patron day", "school": "SA001"})
    assert r.status_code == 302
    page = client.get(f"/calendar/{slug}").text
    assert "Armistice Day" in page and "Patron day" in page and "OŠ Vuk Karadžić" in page
    assert count(NonSchoolDay) == 2


def test_bad_years_are_refused_with_a_message(client, auth, world):
    auth.login(world.admin)
    r = client.post("/calendar/", data={"label": "2030/32", "first_day": "2030-09-01", "last_day": "2031-06-20"})
    assert r.status_code == 400 and "2025/26" in r.text
    r = client.post("/calendar/", data={"label": world.year.label, "first_day": world.year.first_day.isoformat(),
                                        "last_day": world.year.last_day.isoformat()})
    assert r.status_code == 400 and "exists already" in r.text
    assert count(AcademicYear) == 1


def test_day_outside_the_year_is_refused(client, auth, world):
    auth.login(world.admin)
    slug = world.year.label.replace("/", "-")
    r = client.post(f"/calendar/{slug}", data={"date": "1999-01-01", "description": "x"})
    assert r.status_code == 400 and "must fall within" in r.text


def test_only_admins_see_the_calendar(client, auth, world):
    auth.login(world.liaison_a)
    assert client.get("/calendar/").status_code == 404
