"""The follow-up list at the scale of a municipality: a count, filters by school, centre, reason, severity, UASC and
girls, and "show more" instead of one endless page."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from tracker.extensions import db


@pytest.fixture
def flags(world):
    from tracker.flags.models import Flag

    today = dt.date.today()
    made = [Flag(child_id=world.child_a.id, rule="chronic_absence", severity=2, raised_on=today, last_seen_on=today,
                 evidence={"attended": 5, "recorded": 10}),
            Flag(child_id=world.child_b.id, rule="presumed_dropout", severity=3, raised_on=today, last_seen_on=today,
                 evidence={"days": 25, "since": (today - dt.timedelta(days=35)).isoformat()})]
    db.session.add_all(made)
    db.session.commit()
    return made


def names(client, query: str = "") -> tuple[list[str], str]:
    r = client.get("/follow-up/" + query)
    assert r.status_code == 200, query
    page = html.unescape(r.get_data(as_text=True))
    shown = [n for n in ("Ahmad Rahimi", "Zahra Hosseini") if n in page]
    count = re.search(r'<p class="count">(.*?)</p>', page, re.S).group(1).strip()
    return shown, count


def test_the_follow_up_list_counts_and_filters(client, auth, world, flags):
    auth.login(world.admin)
    assert names(client) == (["Ahmad Rahimi", "Zahra Hosseini"], "2 open flags; 2 shown.")
    shown, count = names(client, f"?school={world.school_a.id}")
    assert shown == ["Ahmad Rahimi"] and count == "1 of 2 open flags match the filters; 1 shown."
    assert names(client, f"?centre={world.centre_b.id}")[0] == ["Zahra Hosseini"]
    assert names(client, "?severity=3")[0] == ["Zahra Hosseini"]
    assert names(client, "?rule=chronic_absence")[0] == ["Ahmad Rahimi"]
    assert names(client, "?girls=y")[0] == ["Zahra Hosseini"]
    assert names(client, "?uasc=y")[0] == ["Zahra Hosseini"]  # unaccompanied
    shown, count = names(client, "?uasc=y&severity=2&rule=chronic_absence")
    assert shown == [] and count.startswith("0 of 2")
    assert "No open flag matches these filters." in client.get("/follow-up/?uasc=y&rule=chronic_absence").get_data(
        as_text=True)
    # Nonsense in the filters is ignored, not a 500.
    assert names(client, "?school=x&centre=&severity=high&pages=-3")[0] == ["Ahmad Rahimi", "Zahra Hosseini"]


def test_a_long_list_shows_more_on_request(client, auth, world, flags, monkeypatch):
    from tracker.flags import views

    monkeypatch.setattr(views, "PAGE", 1)
    auth.login(world.admin)
    page = client.get("/follow-up/?severity=2").get_data(as_text=True)
    assert "Show more" in page and "pages=2" in page
    shown, count = names(client, "?severity=2&pages=2")
    assert len(shown) == 2 and count.endswith("2 shown.")
    assert "Show more" not in client.get("/follow-up/?severity=2&pages=2").get_data(as_text=True)


def test_a_liaison_filters_only_within_their_scope(client, auth, world, flags):
    auth.login(world.liaison_a)
    assert names(client)[0] == ["Ahmad Rahimi"]
    # Another school's id gives nothing of it: the scope still decides.
    assert names(client, f"?school={world.school_b.id}")[0] == []
