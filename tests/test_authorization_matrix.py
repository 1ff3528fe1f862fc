"""Every URL rule × method × role, with ids and codes of the user's own school and of another school.

Roles: an admin, a liaison officer of school A, a liaison officer with no school, a teacher of a class
at school A, a teacher with no class, a partner, and nobody signed in. For each request:

- no answer is ever a 5xx;
- nobody signed in is sent to the sign-in page (the API answers 401);
- a URL naming a record outside the user's scope (a child, school, class, flag, pending item, day off
  or token of school B, or of school A for the officer with no school and the partner), or a record
  that does not exist, answers 404 or 403;
- a refused request (4xx, or sent to sign in) changes nothing in the database, and the users who have
  no records in scope (the officer with no school, the partner, nobody) change nothing whatever they send.

POSTs carry a payload that fills every form the application has, so a view that forgot its scope
check would really write. CSRF is off in the test app (it is tested in tests/test_auth.py).
"""
from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from werkzeug.routing import Rule

from tests.conftest import PASSWORD
from tracker.assessments import operations as assessment_ops
from tracker.extensions import db
from tracker.integrations import operations as integration_ops

pytestmark = pytest.mark.usefixtures("production_like_requests")

ROLES = ["admin", "liaison", "liaison_none", "teacher", "teacher_none", "partner", "anonymous"]
# The language switch works before sign-in too, so that the sign-in page itself can be read in Serbian; the
# health checks answer a load balancer.
PUBLIC = {"auth.login", "static", "api.openapi", "language.choose", "health.healthz", "health.readyz"}
# URL arguments that name a record that belongs to a school (and so to someone's scope).
SCOPED = {"code", "class_id", "flag_id", "item_id", "day_id", "token_id", "enrolment_id"}
# Logs that a refused request may add to (the refusal itself is worth recording), and a derived cache.
LOGS = {"audit_event", "login_attempt", "integration_run", "calendar_day", "calendar_state"}
NO_SCOPE = {"liaison_none", "teacher_none", "partner", "anonymous"}
# Sent last: they end the session or would change the signed-in user's own account.
LAST = {"auth.logout"}


@pytest.fixture
def app_config():
    return {"PLUGINS": ["tests.test_assessments"]}  # its small "mood_check" form


@pytest.fixture
def things(app, world):
    """Records of both schools for every kind of id a URL can carry."""
    from tracker.api import tokens
    from tracker.flags.models import Flag
    from tracker.integrations.models import IntegrationPending
    from tracker.schools.models import NonSchoolDay

    today = dt.date.today()
    first = world.year.first_day
    for school in (world.school_a, world.school_b):
        integration_ops.enable("oneroster", school, world.admin)
    pending = {s.code: IntegrationPending(school_id=s.id, slug="oneroster", kind="student", key=f"S-{s.code}",
                                          data={}, reason="unmatched")
               for s in (world.school_a, world.school_b)}
    flags = {c.code: Flag(child_id=c.id, rule="chronic_absence", raised_on=today, last_seen_on=today,
                         evidence={"attended": 5, "recorded": 10})
             for c in (world.child_a, world.child_b)}
    day = next(first + dt.timedelta(days=i) for i in range(7) if (first + dt.timedelta(days=i)).weekday() < 5)
    days_off = {s.code: NonSchoolDay(year_id=world.year.id, date=first + dt.timedelta(days=40), school_id=s.id,
                                     description="Slava")
                for s in (world.school_a, world.school_b)}
    db.session.add_all([*pending.values(), *flags.values(), *days_off.values()])
    round_ = assessment_ops.add_round(world.year, "baseline", max(first, today - dt.timedelta(days=10)),
                                      min(world.year.last_day, today + dt.timedelta(days=10)))
    _s, token_own = tokens.issue(world.partner, "own token", by=world.admin)
    _s, token_other = tokens.issue(world.liaison_b, "another user's token", by=world.admin)
    db.session.commit()
    common = {"slug": None, "round_id": round_.id, "label": world.year.label.replace("/", "-"), "day": day.isoformat(),
              "month": f"{day:%Y-%m}", "fmt": "csv", "filename": "tracker.css"}
    own = {**common, "child": world.child_a.code, "school": world.school_a.code, "class_id": world.class_a.id,
           "flag_id": flags[world.child_a.code].id, "item_id": pending["SA001"].id,
           "day_id": days_off["SA001"].id, "token_id": token_own.id, "centre": world.centre_a.code,
           "user_id": world.liaison_a.id, "enrolment_id": world.child_a.open_enrolment.id}
    other = {**common, "child": world.child_b.code, "school": world.school_b.code, "class_id": world.class_b.id,
             "flag_id": flags[world.child_b.code].id, "item_id": pending["SB002"].id,
             "day_id": days_off["SB002"].id, "token_id": token_other.id, "centre": world.centre_b.code,
             "user_id": world.liaison_b.id, "enrolment_id": world.child_b.open_enrolment.id}
    missing = {"slug": "nope", "round_id": 999_999, "label": "1999-00", "day": "2026-13-45", "month": "2026-99",
               "fmt": "doc", "filename": "nope.css", "child": "C-ZZZZZZ", "school": "ZZ999", "class_id": 999_999,
               "flag_id": 999_999, "item_id": 999_999, "day_id": 999_999, "token_id": 999_999, "centre": "NOPE",
               "user_id": 999_999, "enrolment_id": 999_999}
    return {"own": own, "other": other, "missing": missing,
            "enrolments": [world.child_a.open_enrolment.id, world.child_b.open_enrolment.id]}


def arguments(rule: Rule, ids: dict) -> dict:
    out = {}
    for name in rule.arguments:
        if name == "code":
            schoolish = rule.endpoint.startswith(("schools.", "integrations."))
            out[name] = ids["school"] if schoolish else ids["child"]
        elif name == "slug" and ids["slug"] is None:
            out[name] = "oneroster" if rule.endpoint.startswith("integrations.") else "mood_check"
        elif name == "fmt" and ids["fmt"] == "doc" and rule.endpoint == "api.report":
            out[name] = "csv"  # the rule itself allows pdf, xlsx and csv only
        else:
            out[name] = ids[name]
    return out


def payload(world, things, ids: dict) -> dict:
    """One POST body that fills every form: a child to register, an enrolment, a transfer, an exit, a UASC
    status, a centre, register marks, a follow-up, a round, a token, an integration setting..."""
    first = world.year.first_day
    data = {
        "given_name": "Yusuf", "family_name": "Haddad", "sex": "male", "birth_date": "2012-02-02",
        "country": "AFG", "first_language": "prs", "uasc_status": "accompanied", "legal_basis": "public_task",
        "not_duplicate": "y", "centre": ids["centre"], "centre_since": first.isoformat(),
        "school": ids["school"], "level": "primary", "grade": "5", "class_id": str(ids["class_id"]),
        "start_date": (first + dt.timedelta(days=20)).isoformat(),
        "end_date": (first + dt.timedelta(days=10)).isoformat(), "reason": "moved_onward", "note": "x",
        "status": "separated", "since": (first + dt.timedelta(days=5)).isoformat(),
        "guardian_name": "Jelena Petrović", "guardian_organisation": "CSR",
        "action": "acknowledge", "version": "1", "kind": "call", "date": (first + dt.timedelta(days=3)).isoformat(),
        "outcome": "resolved", "child_code": ids["child"], "enabled": "0", "allow": "names",
        "year": str(world.year.id), "opens": first.isoformat(), "closes": (first + dt.timedelta(days=9)).isoformat(),
        "label": "2030/31", "first_day": "2030-09-01", "last_day": "2031-06-20", "description": "Day off",
        "user": str(world.liaison_a.id), "name": "token", "days": "30", "once": "x",
        "calm": "3", "joins": "3", "q": "Ahmad", "dry_run": "", "month": ids["month"],
    }
    for enrolment_id in things["enrolments"]:
        data[f"status-{enrolment_id}"] = "absent_unexcused"
    return data


def snapshot() -> dict[str, list]:
    """Every row of every table but the logs, as plain tuples."""
    db.session.rollback()
    out = {}
    for table in db.metadata.sorted_tables:
        if table.name not in LOGS:
            rows = db.session.execute(sa.select(table)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def other_school_rows(world) -> dict[str, list]:
    """School B's records: its child (and everything hanging off the child or its enrolment), its school and
    class rows, days off and pending items. Nobody outside school B's scope may change any of them."""
    from tracker.models import Enrolment

    db.session.rollback()
    child_id, school_id, class_id = world.child_b.id, world.school_b.id, world.class_b.id
    enrolments = list(db.session.scalars(sa.select(Enrolment.id).where(Enrolment.child_id == child_id)))
    out = {}
    for table in db.metadata.sorted_tables:
        if table.name in LOGS:
            continue
        c = table.c
        conds = []
        if table.name == "child":
            conds.append(c.id == child_id)
        if table.name == "school":
            conds.append(c.id == school_id)
        if table.name == "school_class":
            conds.append(c.id == class_id)
        if "child_id" in c:
            conds.append(c.child_id == child_id)
        if "enrolment_id" in c:
            conds.append(c.enrolment_id.in_(enrolments))
        if "class_id" in c:
            conds.append(c.class_id == class_id)
        if "school_id" in c and table.name in ("integration_pending", "non_school_day", "school_integration"):
            conds.append(c.school_id == school_id)
        if conds:
            out[table.name] = sorted((tuple(r) for r in db.session.execute(sa.select(table).where(sa.or_(*conds)))),
                                     key=repr)
    return out


def sign_in(client, user) -> None:
    client.post("/logout")
    if user is not None:
        r = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert r.status_code in (302, 303), r.text


def requests(app) -> list[tuple[Rule, str]]:
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint in LAST, r.rule)):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule, method))
    return out


def out_of_scope(role: str, variant: str, rule: Rule) -> bool:
    if role == "anonymous" or not (set(rule.arguments) & SCOPED):
        return False
    if variant == "missing":
        return True  # no such record: 404 for everyone, admins included
    return role != "admin" and (variant == "other" or role in NO_SCOPE)


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(app, client, world, things, role):
    user = None if role == "anonymous" else {
        "admin": world.admin, "liaison": world.liaison_a, "liaison_none": world.liaison_none,
        "teacher": world.teacher_a, "teacher_none": world.teacher_none, "partner": world.partner}[role]
    sign_in(client, user)
    adapter = app.url_map.bind("localhost")
    problems = []
    school_b = other_school_rows(world)
    # Another school's ids first, while the world is as the fixture made it; then ids of nothing at all
    # (and malformed dates, slugs and formats); then the user's own.
    for variant in ("other", "missing", "own"):
        ids = things[variant]
        for rule, method in requests(app):
            url = adapter.build(rule.endpoint, arguments(rule, ids), method=method)
            before = snapshot()
            if method == "POST":
                body = payload(world, things, ids)
                if rule.endpoint in ("integrations.import_file", "imports.index"):
                    body["file"] = (io.BytesIO(b"child_code\nC-AAAAAA\n"), "file.csv")
                    body["kind"] = "children"
                r = client.post(url, data=body)
            else:
                r = client.get(url)
            status = r.status_code
            where = f"{role} {variant} {method} {url} → {status}"
            to_login = status in (301, 302, 303) and "/login" in r.headers.get("Location", "")
            if status >= 500:
                problems.append(f"{where}: server error")
            if role == "anonymous" and rule.endpoint not in PUBLIC and not (to_login or status == 401):
                problems.append(f"{where}: not sent to sign in")
            if out_of_scope(role, variant, rule) and status not in (403, 404) and not to_login:
                problems.append(f"{where}: out of scope but not refused")
            refused = status >= 400 or to_login
            if (refused or role in NO_SCOPE) and rule.endpoint not in LAST:
                after = snapshot()
                changed = [t for t in before if before[t] != after[t]]
                if changed:
                    problems.append(f"{where}: changed {', '.join(changed)}")
            if rule.endpoint in LAST:
                sign_in(client, user)
    if role != "admin":
        after = other_school_rows(world)
        changed = [t for t in school_b if school_b[t] != after[t]]
        if changed:
            problems.append(f"{role}: school B's records changed: {', '.join(changed)}")
    assert not problems, "\n".join(problems)


# --- what the matrix found, each on its own -----------------------------------------------------------------

def test_an_officer_with_no_school_cannot_register_a_child(client, world):
    from tests.conftest import count
    from tracker.models import Child

    sign_in(client, world.liaison_none)
    r = client.post("/children/new", data={
        "given_name": "Yusuf", "family_name": "Haddad", "sex": "male", "birth_date": "2012-02-02", "country": "AFG",
        "first_language": "prs", "uasc_status": "accompanied", "legal_basis": "public_task", "not_duplicate": "y"})
    assert r.status_code == 403 and "no school assigned" in r.text
    db.session.rollback()
    assert count(Child) == 2


@pytest.mark.parametrize("who", ["liaison_a", "liaison_none", "admin"])
def test_the_integrations_page_answers_every_staff_member(client, world, things, who):
    """An integration that may share names with the school's system is listed with them (it answered 500)."""
    integration_ops.enable("oneroster", world.school_a, world.admin, allowed_fields=["names", "birth_date"])
    db.session.commit()
    sign_in(client, getattr(world, who))
    page = client.get("/integrations/")
    assert page.status_code == 200
    if who != "liaison_none":
        assert "Includes: Birth date, Names." in page.text
    assert client.get("/integrations/pending").status_code == 200


@pytest.fixture
def moved(world, things):
    """Child A was at school A (class 5-1) during a round that has closed, and has moved to school B since."""
    from tracker.enrolment import operations as enrol_ops
    from tracker.models import AssessmentRound

    first = world.year.first_day
    round_ = AssessmentRound(year_id=world.year.id, kind="midline", opens=first, closes=first + dt.timedelta(days=9))
    db.session.add(round_)
    enrol_ops.transfer(world.child_a, world.school_b, first + dt.timedelta(days=30), grade=5, note="",
                       user=world.admin)
    db.session.commit()
    return round_


def test_saving_a_form_for_a_child_who_moved_after_the_round_is_refused_clearly(client, world, moved):
    from tracker.models import Assessment

    if moved.closes >= dt.date.today():
        pytest.skip("the school year has only just begun")
    url = f"/assessments/{moved.id}/mood_check/{world.child_a.code}"
    sign_in(client, world.teacher_a)
    due = client.get(f"/assessments/?round={moved.id}&class={world.class_a.id}")
    assert due.status_code == 200 and world.child_a.given_name in due.text and url not in due.text  # no form offered
    page = client.get(url)
    assert page.status_code == 200 and "moved to another school" in page.text
    before = snapshot()
    r = client.post(url, data={"calm": "3", "joins": "3", "action": "submit", "version": "0"})
    assert r.status_code == 409 and "moved to another school" in r.text
    assert snapshot() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assessment)) == 0
    # The new school's liaison officer did not have the child in that round: not theirs to fill.
    sign_in(client, world.liaison_b)
    before = snapshot()
    assert client.post(url, data={"calm": "3", "joins": "3", "action": "submit", "version": "0"}).status_code == 404
    assert snapshot() == before
