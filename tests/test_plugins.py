"""The plugin core: every hook documented and tested, defaults, bundled and external plugins, blocking."""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import base_config
from tests.plugins import kitchen_sink
from tracker import create_app, hookimpl, hookspecs, unit_of_work
from tracker.extensions import db
from tracker.plugins import DEFAULT_PLUGINS, PluginError
from tracker.types import Role

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(name for name in dir(hookspecs) if not name.startswith("_") and hasattr(getattr(hookspecs, name),
                                                                                          "tracker_spec"))


@pytest.fixture
def app_config():
    return {"PLUGINS": ["tests.plugins.kitchen_sink"]}


@pytest.fixture(autouse=True)
def clear_calls():
    kitchen_sink.CALLS.clear()


def test_every_hook_is_documented():
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### `?(\w+)`?", docs, flags=re.M))
    assert HOOKS and set(HOOKS) <= documented, f"undocumented hooks: {set(HOOKS) - documented}"


def test_every_hook_has_a_test():
    tests = Path(__file__).read_text(encoding="utf-8")
    untested = [h for h in HOOKS if f"def test_hook_{h}(" not in tests]
    assert not untested, f"hooks without a test_hook_<name> test here: {untested}"
    assert all(hasattr(kitchen_sink, h) for h in HOOKS), "tests/plugins/kitchen_sink.py must implement every hook"


def test_every_hook_has_a_docstring_with_its_return_contract():
    for name in HOOKS:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert ":return:" in doc, name


def test_hook_startup(app):
    assert ("startup", app.name) in kitchen_sink.CALLS


def test_hook_register_blueprints(client):
    assert client.get("/kitchen-sink/").text == "kitchen sink says hello"


def test_hook_menu_items(client, auth, world):
    auth.login(world.liaison_a)
    page = client.get("/").text
    assert 'href="/kitchen-sink/"' in page and "Kitchen sink" in page


def test_hook_register_commands(runner):
    result = runner.invoke(args=["kitchen-sink"])
    assert result.exit_code == 0 and "kitchen sink command ran" in result.output


def test_hook_child_registered(client, auth, world):
    auth.login(world.liaison_a)
    r = client.post("/children/new", data={
        "given_name": "Mariam", "family_name": "Sultani", "sex": "female", "birth_date": "2014-02-03",
        "country": "AFG", "first_language": "prs", "uasc_status": "accompanied", "centre": "KRN",
        "legal_basis": "public_task"})
    assert r.status_code == 302, r.text
    (call,) = [c for c in kitchen_sink.CALLS if c[0] == "child_registered"]
    assert call[2] == "liaison.a@example.org" and call[3] is True
    assert r.headers["Location"].endswith(call[1])


def test_hook_enrolment_changed(app, world):
    from tracker.enrolment import operations as ops

    start = world.year.first_day
    ops.exit_enrolment(world.child_a, start + dt.timedelta(days=10), "dropped_out", user=world.liaison_a)
    ops.enrol(world.child_a, world.school_a, "primary", 5, start + dt.timedelta(days=20), user=world.liaison_a)
    ops.transfer(world.child_a, world.school_b, start + dt.timedelta(days=30), user=world.admin)
    assert not [c for c in kitchen_sink.CALLS if c[0] == "enrolment_changed"]  # nothing told before the commit
    unit_of_work.commit()
    changes = [c for c in kitchen_sink.CALLS if c[0] == "enrolment_changed"]
    assert changes == [
        ("enrolment_changed", "exited", "SA001", None),
        ("enrolment_changed", "enrolled", "SA001", None),
        ("enrolment_changed", "transferred", "SB002", "SA001"),
    ]


def test_hook_attendance_saved(app, world):
    from tracker.attendance.operations import save_register

    day = world.year.first_day
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    enrolment = world.child_a.open_enrolment
    save_register(world.class_a, day, {enrolment.id: {"status": "absent_excused", "reason": "illness"}},
                  user=world.teacher_a)
    unit_of_work.commit()
    save_register(world.class_a, day, {enrolment.id: {"status": "late"}}, user=world.teacher_a)
    unit_of_work.commit()
    saved = [c for c in kitchen_sink.CALLS if c[0] == "attendance_saved"]
    assert saved == [("attendance_saved", "5-1", day, ["absent_excused"]), ("attendance_saved", "5-1", day, ["late"])]


def test_event_hook_failure_does_not_undo_the_change(app, world, monkeypatch, caplog):
    from tracker.enrolment import operations as ops

    @hookimpl
    def boom(enrolment):
        raise RuntimeError("plugin bug")

    monkeypatch.setattr(kitchen_sink, "enrolment_changed", boom)
    pm = app.extensions["tracker_plugins"]
    pm.unregister(name="tests.plugins.kitchen_sink")
    pm.register(kitchen_sink, name="tests.plugins.kitchen_sink")
    ops.exit_enrolment(world.child_a, world.year.first_day + dt.timedelta(days=3), "moved_onward")
    unit_of_work.commit()
    db.session.expire_all()
    assert world.child_a.open_enrolment is None
    assert "plugin tests.plugins.kitchen_sink failed in enrolment_changed" in caplog.text


def test_default_and_bundled_plugins_are_listed(runner):
    result = runner.invoke(args=["plugins"])
    assert result.exit_code == 0
    for name in DEFAULT_PLUGINS:
        assert name in result.output
    assert "centre_overview" in result.output and "bundled" in result.output
    assert "menu_items, register_blueprints, register_commands" in result.output


def test_blocking_a_bundled_plugin(database_url, tmp_path):
    app = create_app(base_config(database_url, BLOCKED_PLUGINS=["centre_overview"]))
    names = [n for n, _p in app.extensions["tracker_plugins"].list_name_plugin() if _p is not None]
    assert "centre_overview" not in names
    assert "centres" not in app.cli.commands
    assert app.test_client().get("/centres/").status_code == 404


def test_blocking_a_default_plugin(database_url):
    app = create_app(base_config(database_url, BLOCKED_PLUGINS=["tracker.schools.default_schools"]))
    assert "schools" not in app.blueprints


def test_a_misspelt_hook_fails_at_startup_naming_the_plugin(database_url, tmp_path, monkeypatch):
    mod = tmp_path / "misspelt_plugin.py"
    mod.write_text("from tracker import hookimpl\n\n@hookimpl\ndef menu_itmes(user):\n    return []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="misspelt_plugin.*menu_itmes"):
        create_app(base_config(database_url, PLUGINS=["misspelt_plugin"]))


def test_a_plugin_breaking_the_contract_is_refused_by_name(database_url, tmp_path, monkeypatch):
    mod = tmp_path / "bad_blueprints.py"
    mod.write_text("from tracker import hookimpl\n\n@hookimpl\ndef register_blueprints(app):\n    return ['nope']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="bad_blueprints.*not a Blueprint"):
        create_app(base_config(database_url, PLUGINS=["bad_blueprints"]))


def test_a_command_name_clash_is_refused(database_url, tmp_path, monkeypatch):
    mod = tmp_path / "clash.py"
    mod.write_text(textwrap.dedent("""
        import click
        from tracker import hookimpl

        @click.command("demo")
        def demo():
            pass

        @hookimpl
        def register_commands(cli):
            return [demo]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="'demo' is taken") as exc:
        create_app(base_config(database_url, PLUGINS=["clash"]))
    assert "'clash'" in str(exc.value) and "tracker.demo.default_demo" in str(exc.value)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_external_plugin_distribution_installs_and_loads(tmp_path, database_url):
    """A separate distribution declaring the `tracker` entry point is found once installed."""
    src = tmp_path / "src"
    (src / "tracker_hello").mkdir(parents=True)
    (src / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools>=68"]\n'
                                        'build-backend = "setuptools.build_meta"\n')
    (src / "setup.cfg").write_text(textwrap.dedent("""
        [metadata]
        name = tracker-hello
        version = 1.2.3

        [options]
        packages = tracker_hello

        [options.entry_points]
        tracker =
            hello = tracker_hello
    """))
    (src / "tracker_hello" / "__init__.py").write_text(textwrap.dedent("""
        import click
        from tracker import hookimpl

        @click.command("hello")
        def hello():
            click.echo("hello from an installed plugin")

        @hookimpl
        def register_commands(cli):
            return [hello]
    """))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation", "--no-deps",
                    "--target", str(target), str(src)], check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)]),
           "TRACKER_DATABASE_URL": database_url, "TRACKER_SECRET_KEY": "x"}
    tracker_cmd = [sys.executable, "-c", "from tracker.cli import main; main()"]
    listed = subprocess.run([*tracker_cmd, "plugins"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "hello  [entry point (tracker-hello 1.2.3)]" in listed.stdout
    ran = subprocess.run([*tracker_cmd, "hello"], env=env, capture_output=True, text=True, timeout=120)
    assert ran.stdout.strip() == "hello from an installed plugin"


def test_hook_register_risk_rules(app, world):
    from tracker.flags.models import Flag
    from tracker.flags.operations import refresh
    from tracker.flags.rules import load_rules

    assert "kitchen_sink_girls" in load_rules()
    refresh(dt.date.today())
    flagged = {f.child.code for f in db.session.scalars(sa.select(Flag).where(Flag.rule == "kitchen_sink_girls"))}
    assert flagged == {world.child_b.code}


def test_a_risk_rule_that_is_not_a_rule_is_refused_by_name(database_url, tmp_path, monkeypatch):
    mod = tmp_path / "bad_rules.py"
    mod.write_text("from tracker import hookimpl\n\n@hookimpl\ndef register_risk_rules():\n    return [object]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="bad_rules.*not a RiskRule"):
        create_app(base_config(database_url, PLUGINS=["bad_rules"]))


def test_hook_report_sections(app, world, tmp_path):
    """A plugin's section shows in the page, the PDF and the CSV, after the built-in ones it is ordered among."""
    import csv
    import io
    import subprocess

    from tracker.reports import data, exports
    from tracker.reports.sections import collect_sections

    slugs = [s.slug for s in collect_sections()]
    assert slugs.index("kitchen_sink") == slugs.index("attendance_by_month") + 1  # order 50: after 40, before 90
    with app.test_request_context():
        today = dt.date.today()
        report = data.build_report(world.admin, frm=today - dt.timedelta(days=60), to=today)
        html = exports.to_html(report)
        assert "Kitchen sink section" in html and "Girls enrolled: 1" in html
        pdf = tmp_path / "r.pdf"
        pdf.write_bytes(exports.to_pdf(report))
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "Kitchen sink section" in text
        rows = list(csv.DictReader(io.StringIO(exports.to_csv(report).decode("utf-8-sig"))))
        assert [r["numerator"] for r in rows if r["section"] == "kitchen_sink" and r["sex"] == "female"] == ["1"]


def test_a_report_section_that_is_not_a_section_is_refused_by_name(database_url, tmp_path, monkeypatch):
    mod = tmp_path / "bad_sections.py"
    mod.write_text("from tracker import hookimpl\n\n@hookimpl\ndef report_sections():\n    return [{'slug': 'x'}]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="bad_sections.*Section objects"):
        create_app(base_config(database_url, PLUGINS=["bad_sections"]))


def _open_round(world):
    """A baseline round of the world's school year that is open today."""
    from tracker.assessments.operations import add_round

    today = dt.date.today()
    return add_round(world.year, "baseline", max(world.year.first_day, today - dt.timedelta(days=7)),
                     min(world.year.last_day, today + dt.timedelta(days=7)))


def _stored_assessment(child, slug):
    from tracker.assessments.models import Assessment

    db.session.expire_all()
    return db.session.scalar(sa.select(Assessment).where(Assessment.child_id == child.id, Assessment.type_slug == slug))


def test_hook_register_assessment_types(app, client, auth, world):
    from tracker.assessments.types import AssessmentType, all_types

    with app.test_request_context():
        sink = all_types()["kitchen_sink_form"]
    assert isinstance(sink, AssessmentType) and sink.plugin == "tests.plugins.kitchen_sink"
    assert (sink.label, sink.version, sink.licence, sink.validated) == ("Kitchen sink form", "7", "test only", False)
    # The defaults a type does not override: teachers and liaison officers fill it, and it is sensitive.
    assert sink.fillers == (Role.teacher, Role.liaison) and sink.sensitive
    # Admins see it under Assessment types, with its version, licence and plugin.
    auth.login(world.admin)
    page = client.get("/assessments/types").text
    assert "Kitchen sink form" in page and "test only" in page and "tests.plugins.kitchen_sink" in page


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(("returned", "message"), [
    ("[dict]", "bad_types.*must return AssessmentType subclasses"),
    ("[type('NoForm', (AssessmentType,), {'slug': 'x', 'label': 'X', 'domains': [('d', 'D')]})]",
     "bad_types.*NoForm has no form_class"),
], ids=["not_a_type", "no_form_class"])
def test_an_assessment_type_breaking_the_contract_is_refused_by_name(database_url, tmp_path, monkeypatch, returned,
                                                                     message):
    mod = tmp_path / "bad_types.py"
    mod.write_text("from tracker import hookimpl\nfrom tracker.assessments.types import AssessmentType\n\n"
                   f"@hookimpl\ndef register_assessment_types():\n    return {returned}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "bad_types", raising=False)
    with pytest.raises(PluginError, match=message):
        create_app(base_config(database_url, PLUGINS=["bad_types"]))


def test_hook_assessment_submitted(client, auth, world):
    round_ = _open_round(world)
    auth.login(world.teacher_a)
    url = f"/assessments/{round_.id}/kitchen_sink_form/{world.child_a.code}"

    def calls(name):
        return [c for c in kitchen_sink.CALLS if c[0] == name]

    # A draft is neither scored nor announced.
    assert client.post(url, data={"taps": "1", "action": "draft", "version": "0"}).status_code == 302
    assert calls("assessment_submitted") == [] and calls("kitchen_sink_scored") == []
    # Submitting scores the form and fires the hook once, after the commit (the hook sees "submitted" from
    # another connection).
    assert client.post(url, data={"taps": "3", "action": "submit", "version": "1"}).status_code == 302
    assert calls("kitchen_sink_scored") == [("kitchen_sink_scored", {"taps": 3}, {"grade": 5, "level": "primary"})]
    assert calls("assessment_submitted") == [
        ("assessment_submitted", "kitchen_sink_form", "full", "teacher.a@example.org", "submitted")]
    saved = _stored_assessment(world.child_a, "kitchen_sink_form")
    assert (saved.scores, saved.band, saved.type_version) == ({"taps": 3.0}, "full", "7")
    # A correction is submitted again: the hook fires again, with the new band.
    assert client.post(url, data={"taps": "0", "action": "submit", "version": "2"}).status_code == 302
    assert [c[2] for c in calls("assessment_submitted")] == ["full", "empty"]


@pytest.fixture(scope="module")
def reading_check_site(tmp_path_factory):
    """examples/reading_check installed with pip into a directory of its own, as a deployment installs it."""
    work = tmp_path_factory.mktemp("reading_check")
    src = work / "src"
    # Build from a copy: building in place would leave build/ and *.egg-info in the examples folder.
    shutil.copytree(ROOT / "examples" / "reading_check", src,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist"))
    target = work / "site"
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation", "--no-deps",
                             "--target", str(target), str(src)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return target


class TestReadingCheckExample:
    """The example assessment plugin in examples/reading_check, installed as its own distribution."""

    @pytest.fixture
    def app_config(self, reading_check_site, monkeypatch):
        # The installed distribution on sys.path before the app is created: the plugin manager then
        # finds its `tracker` entry point, exactly as for a plugin installed into the environment.
        monkeypatch.syspath_prepend(str(reading_check_site))
        return {"PLUGINS": ["tests.plugins.kitchen_sink"]}

    def test_an_external_assessment_plugin_installs_and_its_form_can_be_filled(self, reading_check_site,
                                                                               database_url, app, client, auth,
                                                                               world):
        from tracker.assessments.types import all_types

        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(reading_check_site), str(ROOT)]),
               "TRACKER_DATABASE_URL": database_url, "TRACKER_SECRET_KEY": "x"}
        listed = subprocess.run([sys.executable, "-c", "from tracker.cli import main; main()", "plugins"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert listed.returncode == 0, listed.stderr
        assert ("reading_check  [entry point (tracker-reading-check 0.1.0)]\n"
                "    hooks: register_assessment_types") in listed.stdout

        # In this process too the plugin came in through its entry point.
        assert app.extensions["tracker_plugins"].get_plugin("reading_check") is not None
        with app.test_request_context():
            check = all_types()["reading_check"]
        assert (check.plugin, check.version, check.licence, check.validated) == ("reading_check", "1", "CC0", False)
        auth.login(world.admin)
        types_page = client.get("/assessments/types").text
        assert "Reading check" in types_page and "CC0" in types_page
        auth.logout()

        round_ = _open_round(world)
        auth.login(world.teacher_a)
        url = f"/assessments/{round_.id}/reading_check/{world.child_a.code}"
        page = client.get(url).text
        assert "Reading level" in page and "Cannot read yet" in page and "Reads short texts" in page
        # Submitting needs the level; nothing is stored without it.
        refused = client.post(url, data={"action": "submit", "version": "0"})
        assert refused.status_code == 400 and "Choose the level that fits the child best." in refused.text
        assert _stored_assessment(world.child_a, "reading_check") is None
        ok = client.post(url, data={"level": "sentences", "action": "submit", "version": "0"})
        assert ok.status_code == 302, ok.text
        saved = _stored_assessment(world.child_a, "reading_check")
        assert (saved.status, saved.answers, saved.scores, saved.band, saved.type_version) == (
            "submitted", {"level": "sentences"}, {"reading": 3.0}, "reads", "1")
        assert ("assessment_submitted", "reading_check", "reads", "teacher.a@example.org", "submitted") \
            in kitchen_sink.CALLS
        # A correction to "letters" keeps the earlier version and bands the child again.
        assert client.post(url, data={"level": "letters", "action": "submit", "version": "1"}).status_code == 302
        saved = _stored_assessment(world.child_a, "reading_check")
        assert (saved.scores, saved.band, [r.band for r in saved.revisions]) == ({"reading": 1.0}, "decoding",
                                                                                  ["reads"])


def test_hook_register_integrations(app, world, runner, tmp_path):
    from tracker.integrations import operations as ops
    from tracker.integrations.types import all_integrations

    with app.test_request_context():
        assert all_integrations()["kitchen_sink_sync"].plugin == "tests.plugins.kitchen_sink"
    assert runner.invoke(args=["integrations", "enable", "kitchen_sink_sync", "--school", world.school_a.code]).exit_code == 0
    out = tmp_path / "sink.txt"
    r = runner.invoke(args=["integrations", "run", "kitchen_sink_sync", "--school", world.school_a.code,
                            "--export", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_text() == f"school {world.school_a.code}"
    with app.test_request_context():
        result, run = ops.run_import("kitchen_sink_sync", world.school_a, world.liaison_a, b"hello", dry_run=True)
    assert result.ok and run.dry_run and run.counts == {"lines": 1}
    assert ("integration_import", world.school_a.code, True, "hello") in kitchen_sink.CALLS


def test_an_integration_that_is_not_one_is_refused_by_name(database_url, tmp_path, monkeypatch):
    mod = tmp_path / "bad_integrations.py"
    mod.write_text("from tracker import hookimpl\n\n@hookimpl\ndef register_integrations():\n    return [42]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="bad_integrations.*Integration subclasses"):
        create_app(base_config(database_url, PLUGINS=["bad_integrations"]))


# Hook calling: through pluggy, so wrappers and tracing see every call; results checked once, at start-up.

WRAPPERS = '''
from tracker import hookimpl

SEEN = []


@hookimpl(wrapper=True)
def register_blueprints(app):
    result = yield
    SEEN.append(("register_blueprints", sorted(bp.name for bps in result for bp in bps)))
    return result


@hookimpl(wrapper=True)
def menu_items(user):
    result = yield
    SEEN.append(("menu_items", user.role.value))
    return [*result, [{"endpoint": "dashboard.index", "label": "Added by a wrapper", "order": 98}]]


@hookimpl(hookwrapper=True)
def report_sections():
    outcome = yield
    SEEN.append(("report_sections", sorted(s.slug for sections in outcome.get_result() for s in sections)))


@hookimpl(wrapper=True)
def enrolment_changed(enrolment, change):
    result = yield
    SEEN.append(("enrolment_changed", change))
    return result
'''


class TestHookWrappers:
    """A plugin of wrappers only (new-style ``wrapper=True`` and old-style ``hookwrapper=True``)."""

    @pytest.fixture
    def app_config(self, tmp_path, monkeypatch):
        (tmp_path / "hook_wrappers.py").write_text(WRAPPERS)
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.delitem(sys.modules, "hook_wrappers", raising=False)
        return {"PLUGINS": ["tests.plugins.kitchen_sink", "hook_wrappers"]}

    def test_wrappers_see_collecting_and_event_hooks(self, app, client, auth, world):
        from tracker import unit_of_work
        from tracker.enrolment import operations as ops
        from tracker.reports.sections import collect_sections

        seen = sys.modules["hook_wrappers"].SEEN
        # At start-up: the blueprints as registered, and menu_items for a stand-in user of every role.
        (blueprints,) = [names for hook, names in seen if hook == "register_blueprints"]
        assert {"dashboard", "kitchen_sink", "children"} <= set(blueprints)
        assert sorted(role for hook, role in seen if hook == "menu_items") == sorted(r.value for r in Role)
        seen.clear()

        # Each page's menu: one call, and what the wrapper adds is shown.
        auth.login(world.liaison_a)
        page = client.get("/").text
        assert seen == [("menu_items", "liaison")]
        assert "Added by a wrapper" in page and "Kitchen sink" in page

        with app.test_request_context():
            slugs = [s.slug for s in collect_sections()]
        assert ("report_sections", sorted(slugs)) in seen

        ops.exit_enrolment(world.child_a, world.year.first_day + dt.timedelta(days=3), "moved_onward",
                           user=world.liaison_a)
        unit_of_work.commit()
        assert ("enrolment_changed", "exited") in seen
        assert ("enrolment_changed", "exited", "SA001", None) in kitchen_sink.CALLS


def test_hook_calls_are_traced(app, client, auth, world):
    from tracker import unit_of_work
    from tracker.enrolment import operations as ops

    pm = app.extensions["tracker_plugins"]
    lines: list[str] = []
    pm.trace.root.setwriter(lines.append)
    undo = pm.enable_tracing()
    try:
        auth.login(world.liaison_a)
        assert client.get("/").status_code == 200
        ops.exit_enrolment(world.child_a, world.year.first_day + dt.timedelta(days=3), "moved_onward",
                           user=world.liaison_a)
        unit_of_work.commit()
    finally:
        undo()
        pm.trace.root.setwriter(None)
    traced = "".join(lines)
    assert "menu_items [hook]" in traced and "finish menu_items -->" in traced
    assert "enrolment_changed [hook]" in traced


def test_a_failing_event_plugin_does_not_keep_the_event_from_the_others(app, world, caplog):
    from tracker import unit_of_work
    from tracker.enrolment import operations as ops

    class Failing:
        @hookimpl(tryfirst=True)
        def enrolment_changed(self, enrolment):
            raise RuntimeError("plugin bug")

    class Watching:
        seen: list = []

        @hookimpl(wrapper=True)
        def enrolment_changed(self, change):
            result = yield
            self.seen.append(change)
            return result

    pm = app.extensions["tracker_plugins"]
    pm.register(Failing(), name="failing")
    pm.register(Watching(), name="watching")
    ops.exit_enrolment(world.child_a, world.year.first_day + dt.timedelta(days=3), "moved_onward",
                       user=world.liaison_a)
    unit_of_work.commit()
    db.session.expire_all()
    assert world.child_a.open_enrolment is None
    assert "plugin failing failed in enrolment_changed" in caplog.text
    # Called after the failing one, the kitchen sink still hears of it, and the wrapper saw the whole call.
    assert [c[1] for c in kitchen_sink.CALLS if c[0] == "enrolment_changed"] == ["exited"]
    assert Watching.seen == ["exited"]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(("hook", "body", "message"), [
    ("menu_items(user)", "return 'nope'", "'broken': menu_items must return a list, got str"),
    ("menu_items(user)", "return [{'label': 'X'}]", "'broken': menu_items .*must return dicts with endpoint and label"),
    ("menu_items(user)", "return [{'endpoint': 'nowhere.index', 'label': 'X'}]",
     "'broken': menu_items .*'nowhere.index', which no loaded plugin serves"),
    ("menu_items(user)", "return [{'endpoint': 'children.detail', 'label': 'X'}]",
     "'broken': menu_items .*URL cannot be built"),
    ("menu_items(user)", "raise KeyError('oops')", "plugin 'broken' failed in menu_items: KeyError"),
    ("register_blueprints(app)", "return 'nope'", "'broken': register_blueprints must return a list"),
    ("report_sections()", "raise ValueError('oops')", "plugin 'broken' failed in report_sections: ValueError"),
    ("register_commands(cli)", "return [print]", "'broken': register_commands returned .*not a click command"),
], ids=["menu_not_a_list", "menu_no_endpoint", "menu_unknown_endpoint", "menu_missing_args", "menu_raises",
        "blueprints_not_a_list", "sections_raise", "commands_not_commands"])
def test_a_broken_plugin_stops_the_start_naming_it(database_url, tmp_path, monkeypatch, hook, body, message):
    (tmp_path / "broken.py").write_text(f"from tracker import hookimpl\n\n@hookimpl\ndef {hook}:\n    {body}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "broken", raising=False)
    with pytest.raises(PluginError, match=message):
        create_app(base_config(database_url, PLUGINS=["broken"]))


def test_every_collecting_hook_is_checked_at_startup():
    from tracker.plugins import EVENT_HOOKS, STARTUP_CHECKS

    wired_by_create_app = {"startup", "register_blueprints", "register_commands"}
    assert set(HOOKS) == EVENT_HOOKS | set(STARTUP_CHECKS) | wired_by_create_app
