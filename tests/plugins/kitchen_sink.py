"""A plugin implementing every hook, recording each call, for the plugin tests."""
import click
from flask import Blueprint
from flask.cli import with_appcontext

from tracker import hookimpl

CALLS: list[tuple] = []

bp = Blueprint("kitchen_sink", __name__, url_prefix="/kitchen-sink", template_folder="templates")


@bp.route("/")
def index():
    return "kitchen sink says hello"


@click.command("kitchen-sink")
@with_appcontext
def kitchen_sink_command():
    """Say hello."""
    click.echo("kitchen sink command ran")


@hookimpl
def startup(app):
    CALLS.append(("startup", app.name))


@hookimpl
def register_blueprints(app):
    CALLS.append(("register_blueprints",))
    return [bp]


@hookimpl
def menu_items(user):
    return [{"endpoint": "kitchen_sink.index", "label": "Kitchen sink", "order": 99}]


@hookimpl
def register_commands(cli):
    return [kitchen_sink_command]


@hookimpl
def child_registered(child, user):
    from tracker.children.models import Child
    from tracker.extensions import db

    # Called after the commit: a fresh session sees the child.
    committed = db.session.get(Child, child.id) is not None
    CALLS.append(("child_registered", child.code, getattr(user, "email", None), committed))


@hookimpl
def enrolment_changed(enrolment, change, previous):
    CALLS.append(("enrolment_changed", change, enrolment.school.code, previous.school.code if previous else None))


@hookimpl
def attendance_saved(school_class, date, records, user):
    CALLS.append(("attendance_saved", school_class.name, date, sorted(r.status.value for r in records)))


@hookimpl
def register_risk_rules():
    from tracker.flags.rules import RiskRule

    class EveryGirl(RiskRule):
        """Flags every girl: only for the tests."""

        slug = "kitchen_sink_girls"
        label = "Kitchen sink rule"
        defaults = {"enabled": 1}

        def evaluate(self, children, as_of):
            import sqlalchemy as sa

            from tracker.children.models import Child
            from tracker.extensions import db

            q = sa.select(Child.id).where(Child.id.in_(children), Child.sex == "female")
            return [(cid, {"as_of": as_of.isoformat()}) for cid in db.session.scalars(q)]

        def describe(self, evidence):
            return f"kitchen sink flag as of {evidence['as_of']}"

    return [EveryGirl]


@hookimpl
def report_sections():
    from tracker.reports.data import Section

    def context(report):
        row = report.row("enrolled", sex="female")
        return {"girls": "<5" if row is None or row["suppressed"] else row["numerator"]}

    def rows(report):
        return [r for r in report.table("sex") if r["indicator"] == "enrolled"]

    return [Section(slug="kitchen_sink", title="Kitchen sink section", order=50, template="kitchen_sink/section.html",
                    breakdowns=(("sex",),), context=context, rows=rows)]


@hookimpl
def register_assessment_types():
    from flask_wtf import FlaskForm
    from wtforms import IntegerField
    from wtforms.validators import InputRequired

    from tracker.assessments.types import AssessmentType, Score

    class KitchenSinkForm(FlaskForm):
        taps = IntegerField("Taps", validators=[InputRequired(message="How many taps?")])

    class KitchenSinkType(AssessmentType):
        """Scores the number of taps; band "full" from 2 taps. Only for the tests."""

        slug = "kitchen_sink_form"
        label = "Kitchen sink form"
        version = "7"
        licence = "test only"
        domains = [("taps", "Taps")]
        scale = (0.0, 9.0)
        bands = [("full", "Full"), ("empty", "Empty")]
        form_class = KitchenSinkForm

        def score(self, answers, context):
            CALLS.append(("kitchen_sink_scored", dict(answers), context))
            taps = float(answers["taps"])
            return Score({"taps": taps}, "full" if taps >= 2 else "empty")

    return [KitchenSinkType]


@hookimpl
def assessment_submitted(assessment, user):
    import sqlalchemy as sa

    from tracker.assessments.models import Assessment
    from tracker.extensions import db

    # Called after the commit: another connection sees the form as submitted.
    with db.engine.connect() as conn:
        committed = conn.scalar(sa.select(Assessment.status).where(Assessment.id == assessment.id))
    CALLS.append(("assessment_submitted", assessment.type_slug, assessment.band, getattr(user, "email", None),
                  committed))


@hookimpl
def register_integrations():
    from tracker.integrations.types import Integration, RunResult

    class KitchenSinkIntegration(Integration):
        slug = "kitchen_sink_sync"
        label = "Kitchen sink sync"
        can_import = can_export = True

        def export(self, scope, params):
            CALLS.append(("integration_export", scope.school.code))
            return "sink.txt", "text/plain", f"school {scope.school.code}".encode()

        def import_file(self, stream, scope, dry_run):
            CALLS.append(("integration_import", scope.school.code, dry_run, stream.read().decode()))
            return RunResult(ok=True, dry_run=dry_run, counts={"lines": 1})

    return [KitchenSinkIntegration]
