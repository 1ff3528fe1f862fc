"""The language and script switch: on every page, stored per user, before sign-in in a cookie."""
import os
import re
from unittest import mock

import pytest

from tests.conftest import PASSWORD

from tracker.extensions import db
from tracker.models import User


def lang_of(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def test_every_page_offers_the_switch_with_each_language_named_in_itself(client, auth, world):
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    for name in ("English", "Srpski (latinica)", "Српски (ћирилица)"):
        assert name in page
    auth.login(world.teacher_a)
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'action="/language"' in page and "Српски (ћирилица)" in page


def test_choosing_before_sign_in_shows_the_sign_in_page_in_that_script(client):
    r = client.post("/language", data={"locale": "sr_Cyrl", "next": "/login"}, headers={"Accept-Language": "en"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert lang_of(page) == "sr-Cyrl"
    assert "Лозинка" in page


def test_a_signed_in_choice_is_stored_and_follows_the_user_to_another_device(app, client, auth, world):
    auth.login(world.teacher_a)
    r = client.post("/language", data={"locale": "sr_Latn", "next": "/"}, headers={"Accept-Language": "en"})
    assert r.status_code == 302
    assert db.session.get(User, world.teacher_a.id).locale == "sr_Latn"
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert lang_of(page) == "sr-Latn"
    assert "Odjava" in page  # "Sign out"

    other = app.test_client()  # another phone, in English, that never chose
    other.post("/login", data={"email": world.teacher_a.email, "password": PASSWORD})
    assert lang_of(other.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)) == "sr-Latn"


def test_an_unknown_language_is_refused_and_nothing_changes(client, auth, world):
    auth.login(world.teacher_a)
    r = client.post("/language", data={"locale": "xx_Latn", "next": "/"})
    assert r.status_code == 400
    assert db.session.get(User, world.teacher_a.id).locale is None


def test_the_return_address_stays_on_this_site(client):
    r = client.post("/language", data={"locale": "en", "next": "https://elsewhere.example/"})
    assert r.status_code == 302 and "elsewhere" not in r.headers["Location"]


def test_the_switch_needs_the_form_token(app):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        r = app.test_client().post("/language", data={"locale": "sr_Latn"})
        assert r.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


@pytest.mark.parametrize("env, expected", [
    ({"LANG": "sr_RS.UTF-8@latin"}, "sr_Latn"), ({"LANG": "sr_RS.UTF-8"}, "sr_Cyrl"),
    ({"LC_ALL": "sr_RS@latin"}, "sr_Latn"), ({"TRACKER_LOCALE": "sr_Cyrl", "LANG": "en_GB.UTF-8"}, "sr_Cyrl"),
    ({"LANG": "en_US.UTF-8"}, "en"), ({"LANG": "C.UTF-8"}, None), ({"LANG": "de_DE.UTF-8"}, None),
])
def test_a_command_speaks_the_language_of_its_environment(env, expected):
    from tracker.i18n import environment_locale

    clean = {k: "" for k in ("TRACKER_LOCALE", "LC_ALL", "LC_MESSAGES", "LANG")}
    with mock.patch.dict(os.environ, {**clean, **env}):
        assert environment_locale(["en", "sr_Latn", "sr_Cyrl"]) == expected


def test_command_messages_are_in_serbian_under_a_serbian_locale(app, world, tmp_path):
    csv = tmp_path / "children.csv"
    csv.write_text("code,given_name\\n", encoding="utf-8")
    with mock.patch.dict(os.environ, {"TRACKER_LOCALE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "sr_RS.UTF-8@latin"}):
        result = app.test_cli_runner().invoke(args=["import", "children", str(csv), "--dry-run"])
    assert "Nothing was saved" not in result.output
    assert "Ništa nije sačuvano" in result.output, result.output
