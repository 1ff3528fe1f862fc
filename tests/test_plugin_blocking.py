"""Every default and bundled plugin can be switched off: the other pages keep working for every role.

Each default plugin in turn (and each bundled one) is named in ``BLOCKED_PLUGINS``; the app
starts, and every GET page still registered answers without a server error for each role,
with a menu built only from the plugins still loaded. A plugin the others cannot do without
refuses to be blocked at start-up, naming who needs it.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from werkzeug.routing import BuildError

from tests.conftest import base_config
from tracker import create_app
from tracker.plugins import DEFAULT_PLUGINS, ESSENTIAL_PLUGINS, PluginError

BUNDLED_PLUGINS = ["centre_overview", "healing_classrooms", "learning_levels", "oneroster", "school_register_csv"]
BLOCKABLE = [name for name in DEFAULT_PLUGINS if name not in ESSENTIAL_PLUGINS] + BUNDLED_PLUGINS
ROLES = ["admin", "liaison_a", "liaison_none", "teacher_a", "partner"]
# Pages whose answer is a file built from the whole report: covered by their own tests, slow here.
SKIPPED = {"api.report", "reports.download"}

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
def blocked():
    return []


@pytest.fixture
def app_config(blocked):
    return {"BLOCKED_PLUGINS": blocked}


def _school_day(world) -> dt.date:
    day = max(world.year.first_day, min(world.year.last_day, dt.date.today()))
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def _records(world) -> dict:
    """A flag and an open assessment round, so that their pages can be visited too."""
    from tracker.assessments.operations import add_round
    from tracker.extensions import db
    from tracker.flags.models import Flag

    today = dt.date.today()
    round_ = add_round(world.year, "baseline", max(world.year.first_day, today - dt.timedelta(days=7)),
                       min(world.year.last_day, today + dt.timedelta(days=7)))
    flag = Flag(child_id=world.child_a.id, rule="presumed_dropout", severity=3, raised_on=today, last_seen_on=today,
                evidence={"days": 25, "since": (today - dt.timedelta(days=35)).isoformat()})
    db.session.add(flag)
    db.session.commit()
    return {"round_id": round_.id, "flag_id": flag.id}


def _pages(app, world) -> list[str]:
    """Every GET rule without arguments, and those with arguments the small world can fill."""
    from flask import url_for

    day = _school_day(world)
    values = {
        "code": world.child_a.code, "class_id": world.class_a.id, "day": day.isoformat(),
        "month": day.strftime("%Y-%m"), "label": world.year.label.replace("/", "-"), **_records(world),
    }
    by_endpoint = {
        "schools.detail": {"code": world.school_a.code},
        "assessments.fill": {"round_id": values["round_id"], "slug": "learning_levels", "code": world.child_a.code},
        "integrations.export": {"slug": "school_register_csv", "code": world.school_a.code},
        "integrations.configure": {"slug": "school_register_csv", "code": world.school_a.code},
    }
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static" or rule.endpoint in SKIPPED:
                continue
            args = by_endpoint.get(rule.endpoint) or {a: values[a] for a in rule.arguments if a in values}
            if not set(rule.arguments) - set(args):
                urls.append(url_for(rule.endpoint, **args))
    return sorted(set(urls))


def _menu_links(html: str) -> list[str]:
    nav = re.search(r'<nav aria-label="[^"]*">(.*?)</nav>', html, flags=re.S)
    return re.findall(r'href="([^"]+)"', nav.group(1)) if nav else []


def _visit_every_page_as_every_role(app, world, auth, client):
    pages = _pages(app, world)
    assert {"/", "/login", "/account/password"} <= set(pages)
    failures = []
    for role in ROLES:
        auth.login(getattr(world, role))
        home = client.get("/")
        assert home.status_code == 200 and "/account/password" in _menu_links(home.text), role
        for url in pages:
            try:
                response = client.get(url)
            except BuildError as exc:
                failures.append((role, url, f"BuildError: {exc}"))
                continue
            if response.status_code >= 500:
                failures.append((role, url, response.status_code))
            elif response.status_code == 200 and response.mimetype == "text/html":
                for link in _menu_links(response.text):
                    # Every menu entry leads to a page served by a plugin still loaded.
                    app.url_map.bind("localhost").match(link.split("?")[0], method="GET")
        auth.logout()
    assert not failures, "\n".join(sorted({f"{url}: {error}" for _role, url, error in failures}))


@pytest.mark.parametrize("blocked", [[name] for name in BLOCKABLE], ids=BLOCKABLE)
def test_every_page_works_with_a_plugin_blocked(app, world, auth, client, blocked):
    pm = app.extensions["tracker_plugins"]
    assert pm.is_blocked(blocked[0])
    assert blocked[0] not in {name for name, plugin in pm.list_name_plugin() if plugin is not None}
    _visit_every_page_as_every_role(app, world, auth, client)


def test_every_page_works_with_every_plugin_loaded(app, world, auth, client):
    _visit_every_page_as_every_role(app, world, auth, client)


@pytest.mark.parametrize("blocked", [BLOCKABLE], ids=["all_at_once"])
def test_the_essential_plugins_work_alone(app, world, auth, client, blocked):
    assert set(app.blueprints) == {"auth", "dashboard"}
    _visit_every_page_as_every_role(app, world, auth, client)


@pytest.mark.parametrize("blocked", [[], ["tracker.schools.default_schools", "tracker.children.default_children"]],
                         ids=["none", "schools_and_children"])
def test_the_menu_holds_only_what_the_loaded_plugins_contribute(client, auth, world, blocked):
    auth.login(world.admin)
    links = _menu_links(client.get("/").text)
    assert {"/", "/reports/", "/calendar/", "/account/password"} - set(links) == ({"/calendar/"} if blocked else set())
    theirs = [link for link in links if link.startswith(("/schools", "/children", "/calendar"))]
    assert theirs == ([] if blocked else ["/children/", "/children/new", "/schools/", "/calendar/"])


@pytest.mark.parametrize("essential", sorted(ESSENTIAL_PLUGINS))
def test_an_essential_plugin_refuses_to_be_blocked_naming_who_needs_it(database_url, essential):
    with pytest.raises(PluginError) as exc:
        create_app(base_config(database_url, BLOCKED_PLUGINS=[essential]))
    message = str(exc.value)
    assert repr(essential) in message and "cannot be blocked" in message
    assert ESSENTIAL_PLUGINS[essential] in message
