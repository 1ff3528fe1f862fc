"""Every hook tracker offers to plugins.

Hooks are called with keyword arguments, through pluggy (``pm.hook.<name>(**kwargs)``), so
wrappers (``wrapper=True`` / ``hookwrapper=True``) and tracing see every call. Arguments are
added over time, never renamed, so an implementation may accept any subset of them.
Collecting hooks return data (lists of blueprints, menu items, commands); the core checks what
comes back once, at start-up, and refuses a plugin that breaks the contract with a message
naming it, so the application does not start. Event hooks run after the change is committed;
what they return is ignored, and an exception in one is logged with the plugin's name, does not
undo the change and does not keep the event from the other plugins (docs/plugins.md, "How hooks
are called").
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("tracker")


@hookspec
def startup(app):
    """Called once when the application has been created and every plugin is loaded.

    :param app: the Flask application, with its config and extensions bound.
    :return: nothing.

    Example::

        @hookimpl
        def startup(app):
            app.config.setdefault("MY_PLUGIN_THRESHOLD", 3)
    """


@hookspec
def register_blueprints(app):
    """Blueprints to register on the application.

    :param app: the Flask application.
    :return: a list of :class:`flask.Blueprint` (or None). Anything else is refused.

    Example::

        bp = Blueprint("centre_overview", __name__, url_prefix="/centres", template_folder="templates")

        @hookimpl
        def register_blueprints(app):
            return [bp]
    """


@hookspec
def menu_items(user):
    """Entries for the navigation menu of the signed-in user.

    Called for each page; also once at start-up for a stand-in user of every role (a ``User``
    with a ``role`` and nothing else), to check the entries: decide on ``user.role`` and do not
    query the database here. The menu is made only of what the loaded plugins return, so name
    your own plugin's pages; a blocked plugin's entries go with it.

    :param user: the signed-in :class:`tracker.auth.models.User`.
    :return: a list of dicts with ``endpoint`` (an endpoint a loaded plugin serves), ``label``
        (already translated), and optional ``order`` (int, lower first, default 100) and
        ``args`` (dict of URL arguments). Return only the entries this user may use. An entry
        without endpoint and label, or naming an endpoint no loaded plugin serves, stops the
        start, naming the plugin.

    Example::

        @hookimpl
        def menu_items(user):
            if user.role.value in ("admin", "liaison"):
                return [{"endpoint": "centre_overview.index", "label": _("Centres"), "order": 40}]
    """


@hookspec
def register_commands(cli):
    """Commands to add to the ``tracker`` command line.

    :param cli: the ``tracker`` click group (for reference; do not mutate it).
    :return: a list of :class:`click.Command` objects (a ``flask.cli.AppGroup`` works too).
        A command whose name is already taken is refused.

    Example::

        @click.command("centres")
        @with_appcontext
        def centres_command():
            ...

        @hookimpl
        def register_commands(cli):
            return [centres_command]
    """


@hookspec
def child_registered(child, user):
    """A child was registered; called after the commit.

    :param child: the new :class:`tracker.children.models.Child`.
    :param user: who registered the child (None from the command line or demo builder).
    :return: ignored.
    """


@hookspec
def enrolment_changed(enrolment, change, previous, user):
    """An enrolment was opened or closed; called after the commit.

    :param enrolment: the :class:`tracker.enrolment.models.Enrolment` opened or closed.
    :param change: ``"enrolled"``, ``"transferred"`` or ``"exited"``.
    :param previous: for a transfer, the enrolment that was closed; otherwise None.
    :param user: who made the change (None from the command line).
    :return: ignored.
    """


@hookspec
def attendance_saved(school_class, date, records, user):
    """Attendance was saved: a register on its page, or records imported (a CSV file, an integration);
    called after the commit, once per class and day.

    :param school_class: the :class:`tracker.schools.models.SchoolClass` of the register; None for
        imported records of enrolments that have no class.
    :param date: the school day (``datetime.date``).
    :param records: the :class:`tracker.attendance.models.AttendanceRecord` rows as saved.
    :param user: who saved it (None from the command line).
    :return: ignored.
    """


@hookspec
def register_risk_rules():
    """Risk rules for the early-warning flags.

    :return: a list of classes, each a subclass of :class:`tracker.flags.rules.RiskRule` with a
        unique ``slug``, a ``label``, a ``severity`` (1-3), ``defaults`` (thresholds, overridable in
        ``RISK_RULES``) and ``evaluate(children, as_of)`` yielding ``(child_id, evidence)`` for the
        children it flags, computed in SQL over the whole set. ``describe(evidence)`` gives the
        reason in words. Anything else is refused, naming the plugin.

    Example::

        class NoShowAfterEnrolment(RiskRule):
            slug = "no_show"
            label = _l("Never came after enrolling")
            defaults = {"days": 5}

            def evaluate(self, children, as_of):
                ...

        @hookimpl
        def register_risk_rules():
            return [NoShowAfterEnrolment]
    """


@hookspec
def report_sections():
    """Sections of the retention and attendance report (the page, the PDF, the CSV and the XLSX).

    :return: a list of :class:`tracker.reports.data.Section`: ``slug`` (unique), ``title``
        (translated), ``order`` (lower first; the built-in sections use 10-90), ``template`` (a
        Jinja template rendered in the page and the PDF with ``report``, ``section`` and the
        section's context), ``context(report)`` (a dict for the template), ``rows(report)`` (tidy
        rows for the files: dicts with ``indicator``, dimension keys, ``numerator``,
        ``denominator``, ``value`` and ``suppressed``) and ``breakdowns`` (the tables it reads
        with ``report.table(*dims)``, loaded up front). Read numbers only through
        ``report.table`` / ``report.row`` and show them through ``report.cell``: for partners
        they carry the disclosure control of tracker.reports.disclosure (perturbed, rounded
        counts; withheld cells). A count a section makes itself must go through
        ``tracker.reports.disclosure.Rules.publish`` with the record keys of its children.
        Anything else is refused, naming the plugin.

    Example::

        @hookimpl
        def report_sections():
            return [Section(slug="girls", title=_("Girls"), order=50, template="girls/section.html",
                            breakdowns=(("sex",),),
                            context=lambda report: {"row": report.row("enrolled", sex="female")})]
    """


@hookspec
def register_assessment_types():
    """Assessment forms (docs/plugins.md, "Write your own assessment form").

    :return: a list of subclasses of :class:`tracker.assessments.types.AssessmentType` (or
        instances), each with a unique ``slug``, a ``label``, a ``version``, its ``licence``,
        whether it is a ``validated`` instrument, the ``domains`` it scores, ``bands``, a
        Flask-WTF ``form_class`` and ``score(answers, context) -> Score``. Anything else is
        refused, naming the plugin.

    Example::

        class ReadingCheck(AssessmentType):
            slug, label, version = "reading_check", _l("Reading check"), "1"
            domains = [("reading", _l("Reading"))]
            form_class = ReadingForm

            def score(self, answers, context):
                return Score({"reading": float(answers["level"])})

        @hookimpl
        def register_assessment_types():
            return [ReadingCheck]
    """


@hookspec
def assessment_submitted(assessment, user):
    """After an assessment form is submitted or corrected and committed.

    :param assessment: the :class:`tracker.assessments.models.Assessment` as saved (``scores``,
        ``band``, ``type_slug``, ``child``, ``round``).
    :param user: who submitted it.
    :return: ignored. A failing plugin is logged; the saved form stays saved.
    """


@hookspec
def register_integrations():
    """School integrations (docs/integrations.md).

    :return: a list of subclasses of :class:`tracker.integrations.types.Integration` (or
        instances): ``slug``, ``label``, ``can_import`` / ``can_export``, an optional
        ``settings_form``, ``personal_fields`` its exports can carry when an admin allows them,
        ``export(scope, params) -> (filename, mimetype, bytes)`` and ``import_file(stream,
        scope, dry_run) -> RunResult``. Anything else is refused, naming the plugin.

    Example::

        class ClassList(Integration):
            slug, label, can_export = "class_list", _l("Class list"), True

            def export(self, scope, params):
                return "classes.csv", "text/csv", b"..."

        @hookimpl
        def register_integrations():
            return [ClassList]
    """
