"""Default plugin: the built-in sections of the retention and attendance report, and its page."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tracker import hookimpl
from tracker.extensions import db
from tracker.indicators.compute import CHRONIC_MIN_DAYS, CHRONIC_SHARE
from tracker.labels import label
from tracker.reports.data import AGE_BANDS, Report, Section
from tracker.schools.models import School
from tracker.types import Role

HORIZONS = (90, 180, 365)
UASC = ("accompanied", "separated", "unaccompanied")
SEXES = ("female", "male")
LEVELS = ("primary", "secondary")

# What each indicator is called in the report, and whether its value is a rate.
NAMES = {
    "enrolled": (_l("Enrolled"), False),
    "new_enrolments": (_l("New enrolments"), False),
    "attendance_rate": (_l("Attendance rate"), True),
    "register_completeness": (_l("Register completeness"), True),
    "chronic_absence_rate": (_l("Chronic absence"), True),
    "out_of_school": (_l("Out of school (aged 7-17, in a centre)"), True),
    "transition_primary_secondary": (_l("Primary to secondary transition"), True),
    **{f"retention_{lv}_{h}d": (_l("Retention at %(h)d days", h=h), True) for lv in LEVELS for h in HORIZONS},
    **{f"exits_{r}": (_l("Exits"), False) for r in
       ("transferred", "moved_onward", "dropped_out", "completed", "returned_to_origin", "other")},
}
HEADLINE = ["enrolled", "attendance_rate", "chronic_absence_rate", "retention_secondary_90d",
            "retention_secondary_180d", "retention_secondary_365d", "out_of_school"]
BREAKDOWN_COLUMNS = ["enrolled", "attendance_rate", "chronic_absence_rate", "retention_primary_180d",
                     "retention_secondary_180d"]
SECONDARY_COLUMNS = ["enrolled", "attendance_rate", "chronic_absence_rate", "retention_secondary_90d",
                     "retention_secondary_180d", "retention_secondary_365d"]


def indicator_name(name: str) -> str:
    text, _rate = NAMES.get(name, (name, False))
    if name.startswith("retention_"):
        level = name.split("_")[1]
        return f"{text} ({label(level).lower()})"
    if name.startswith("exits_"):
        return label(name[len("exits_"):])
    return str(text)


def dim_value(dim: str, value) -> str:
    if value is None:
        return "—"
    if dim == "age_band":
        return _("under 6") if value == "under_6" else str(value)
    if dim == "month":
        return str(value)
    return label(value)


def dim_title(dim: str) -> str:
    return {"sex": _("Sex"), "uasc": _("UASC status"), "level": _("Level"), "age_band": _("Age band"),
            "municipality": _("Municipality"), "school": _("School"), "country": _("Country"),
            "centre": _("Centre"), "month": _("Month")}.get(dim, dim)


def _grid(report: Report, dim: str, values, columns: list[str], **fixed) -> dict:
    """A table: one line per value of ``dim`` (plus the total), one column per indicator."""
    lines = []
    for value in values:
        cells = [report.row(name, **{dim: value}, **fixed) for name in columns]
        if any(c is not None for c in cells):
            lines.append({"label": dim_value(dim, value), "cells": cells})
    total = [report.row(name, **fixed) for name in columns]
    return {"dim": dim, "title": dim_title(dim), "columns": [indicator_name(c) for c in columns],
            "names": columns, "lines": lines, "total": total}


def _rows_of(report: Report, by: tuple[str, ...], names: list[str] | None = None, section: str = "") -> list[dict]:
    out = []
    for row in report.table(*by):
        if names is None or row["indicator"] in names:
            out.append({"section": section, "breakdown": ",".join(by), **row})
    return out


# --- the sections ------------------------------------------------------------------------------------

def headline_context(report: Report) -> dict:
    items = [{"name": n, "label": indicator_name(n), "rate": NAMES[n][1], "row": report.row(n)} for n in HEADLINE]
    for item in items:
        # A retention horizon longer than the period so far has no cohort by construction (the cohort starts in
        # the period and must have reached the horizon by the as-of date): say when it will, which tells nothing
        # about any child.
        if item["name"].startswith("retention_"):
            horizon = int(item["name"].rsplit("_", 1)[1].rstrip("d"))
            first_due = report.params.frm + dt.timedelta(days=horizon)
            if first_due > report.params.as_of:
                item["not_yet"], item["horizon"], item["today"] = first_due, horizon, dt.date.today()
    if report.params.school_ids is not None:
        # A child out of school has no school: narrowed to schools, the figure is their municipalities'.
        places = db.session.scalars(sa.select(School.municipality).where(School.id.in_(report.params.school_ids))
                                    .distinct().order_by(School.municipality)).all()
        for item in items:
            if item["name"] == "out_of_school" and places:
                item["label"] = _("Out of school in %(places)s (aged 7-17, in a centre; not counted per school)",
                                  places=", ".join(places))
    return {"items": items}


def uasc_girls_context(report: Report) -> dict:
    from tracker.reports.charts import bar_chart

    grid = []
    for sex in SEXES:
        for status in UASC:
            cells = [report.row(n, level="secondary", sex=sex, uasc=status) for n in SECONDARY_COLUMNS]
            if any(c is not None for c in cells):
                grid.append({"label": f"{label(sex)} · {label(status)}", "cells": cells})
    by_sex = [{"label": label(sex), "cells": [report.row(n, level="secondary", sex=sex) for n in SECONDARY_COLUMNS]}
              for sex in SEXES]
    by_uasc = [{"label": label(s), "cells": [report.row(n, level="secondary", uasc=s) for n in SECONDARY_COLUMNS]}
               for s in UASC]
    # The section is about secondary school: its chart and the chart's table show secondary school only
    # (primary retention by sex is in the breakdowns section).
    name = "retention_secondary_180d"
    series = [(_("Girls") if sex == "female" else _("Boys"),
               [_value(report, report.row(name, level="secondary", sex=sex, uasc=s)) for s in UASC]) for sex in SEXES]
    charts = [bar_chart(_("Retention at 180 days, secondary school, by sex and UASC status"),
                        [label(s) for s in UASC], series, percent=True, empty_text=_("No data"),
                        withheld_text=_("withheld"))]
    # The chart's numbers as a table: one line per sex, one column per UASC status.
    chart_table = [{"label": _("Girls") if sex == "female" else _("Boys"),
                    "cells": [report.row(name, level="secondary", sex=sex, uasc=s) for s in UASC]}
                   for sex in SEXES]
    return {"columns": [indicator_name(c) for c in SECONDARY_COLUMNS], "names": SECONDARY_COLUMNS,
            "grid": grid, "by_sex": by_sex, "by_uasc": by_uasc,
            "total": [report.row(n, level="secondary") for n in SECONDARY_COLUMNS], "charts": charts,
            "chart_table": chart_table, "chart_columns": [label(s) for s in UASC]}


def uasc_girls_rows(report: Report) -> list[dict]:
    names = set(SECONDARY_COLUMNS) | {f"retention_primary_{h}d" for h in HORIZONS}
    return [r for by in (("level", "sex"), ("level", "uasc"), ("level", "sex", "uasc"))
            for r in _rows_of(report, by, sorted(names), "uasc_girls")]


def breakdowns_context(report: Report) -> dict:
    tables = [_grid(report, "sex", SEXES, BREAKDOWN_COLUMNS), _grid(report, "uasc", UASC, BREAKDOWN_COLUMNS),
              _grid(report, "level", LEVELS, BREAKDOWN_COLUMNS), _grid(report, "age_band", AGE_BANDS, BREAKDOWN_COLUMNS)]
    parity = [{"label": indicator_name(n), "row": report.row(f"gpi_{n}")}
              for n in ("attendance_rate", "chronic_absence_rate", "retention_primary_180d", "retention_secondary_180d",
                        "out_of_school")]
    return {"tables": tables, "parity": parity}


def breakdowns_rows(report: Report) -> list[dict]:
    return [r for by in ((), ("sex",), ("uasc",), ("level",), ("age_band",)) for r in _rows_of(report, by, None, "breakdowns")]


EXIT_ORDER = ["moved_onward", "dropped_out", "transferred", "returned_to_origin", "completed", "other"]


def exits_context(report: Report) -> dict:
    from tracker.reports.charts import hbar_chart

    items = [{"reason": r, "label": label(r), "row": report.row(f"exits_{r}")} for r in EXIT_ORDER]
    chart = hbar_chart(_("Exits by reason"), [(i["label"], _value(report, i["row"], count=True)) for i in items],
                       percent=False, empty_text=_("No exits in this period"), withheld_text=_("withheld"))
    return {"items": items, "chart": chart,
            "moved": items[0], "dropped": items[1], "others": items[2:]}


def exits_rows(report: Report) -> list[dict]:
    return _rows_of(report, (), [f"exits_{r}" for r in EXIT_ORDER], "exits")


def months_of(report: Report) -> list[dict]:
    """Attendance by month, through the same disclosure control as the rest of the report."""
    def make():
        import importlib

        from tracker.reports import disclosure

        compute = importlib.import_module("tracker.indicators.compute")
        months = []
        for m in compute.attendance_by_month(report.params):
            m = {**m, "indicator": "attendance_rate", "suppressed": None}
            if report.k is not None:
                m = disclosure.protect_row(m, disclosure.rules())
            m.pop("_keys", None)
            months.append(m)
        if report.k is not None and report.params.until >= report.params.frm:
            # Every month of the period has a line: a month of nobody looks like a month of a few.
            have = {m["month"] for m in months}
            day = report.params.frm.replace(day=1)
            while day <= report.params.until:
                if day.strftime("%Y-%m") not in have:
                    months.append(disclosure.withhold({"month": day.strftime("%Y-%m"), "indicator": "attendance_rate",
                                                       "numerator": None, "denominator": None, "value": None,
                                                       "children": None}))
                day = (day + dt.timedelta(days=32)).replace(day=1)
            months.sort(key=lambda m: m["month"])
        return months
    return report.cached("months", make)


def months_context(report: Report) -> dict:
    from tracker.reports.charts import month_chart

    from flask_babel import format_date

    months = [{**m, "label": format_date(dt.date(int(m["month"][:4]), int(m["month"][5:7]), 1), "LLL yyyy")}
              for m in months_of(report)]
    chart = month_chart(_("Attendance rate by month"), [m["label"] for m in months],
                        [_value(report, m) for m in months], percent=True,
                        empty_text=_("No registers in this period"), withheld_text=_("withheld"))
    return {"months": months, "chart": chart}


def months_rows(report: Report) -> list[dict]:
    return [{"section": "attendance_by_month", "breakdown": "month", **m} for m in months_of(report)]


def definitions_context(report: Report) -> dict:
    return {"items": [
        (_("Enrolled"), _("Children with an enrolment covering the as-of date (start on or before it, no end or an "
                          "end on or after it).")),
        (_("Attendance rate"), _("Days attended (present or late) divided by days recorded in the registers, on school "
                                 "days while enrolled, within the period.")),
        (_("Register completeness"), _("Days recorded in the registers divided by the school days the children were "
                                       "enrolled, within the period.")),
        (_("Chronic absence"), _("Children absent on at least %(pct)d%% of their recorded days, among children with "
                                 "at least %(days)d recorded days in the period.", pct=round(CHRONIC_SHARE * 100),
                                 days=CHRONIC_MIN_DAYS)),
        (_("Retention at 90, 180 and 365 days"), _(
            "Of the children whose first enrolment at a level started in the period (and at least that many days "
            "before the as-of date), the share still enrolled at that level or higher, in any school, that many "
            "days later (moved back to the end of the school year when it falls in the summer). Children who moved "
            "onward (left Serbia) before then are left out of the denominator and shown apart.")),
        (_("Primary to secondary transition"), _(
            "Of the children who completed grade 8 of primary school in the period, the share who started secondary "
            "school within 180 days.")),
        (_("Out of school"), _("Children aged 7 to 17 on the as-of date, living in a centre for at least 30 days, "
                               "with no open enrolment.")),
        (_("Exits"), _("Enrolments that ended in the period, by reason. Moved onward is shown apart from dropped out: "
                       "a child who leaves Serbia has not dropped out.")),
        (_("Gender parity index"), _("The girls' rate divided by the boys' rate; when that is above 1, 2 minus the "
                                     "boys' rate divided by the girls' rate (the adjusted index, between 0 and 2).")),
        (_("Small numbers"), small_numbers_definition(report)),
    ]}


def small_numbers_definition(report: Report) -> str:
    from tracker.reports import disclosure

    r = disclosure.rules()
    return _("In reports for partners, or prepared for sharing, every count of children is changed by a small "
             "amount (at most %(d)d), always the same for the same children, and rounded to a multiple of %(b)d; "
             "each total is changed on its own, so the parts need not add up to it exactly. Rates of children are "
             "computed from these counts; attendance rates are rounded to whole percent and their days are not "
             "shown. A count below %(k)d is shown as \"<%(k)d\", and a rate only where at least %(k)d children "
             "are counted. Periods are whole school years, terms or months.", d=r.max_perturbation, b=r.rounding, k=r.threshold)


def _value(report: Report, row: dict | None, count: bool = False):
    """A chart's value for a cell: None (no bar, the withheld mark) unless the cell is published."""
    return report.cell(row).number("numerator" if count else "value")


@hookimpl
def report_sections():
    return [
        Section(slug="headline", title=_("Headline figures"), order=10, template="reports/sections/headline.html",
                breakdowns=((),), context=headline_context,
                rows=lambda report: _rows_of(report, (), HEADLINE, "headline")),
        Section(slug="uasc_girls", title=_("UASC and girls in secondary school"), order=15,
                template="reports/sections/uasc_girls.html",
                breakdowns=(("level", "sex", "uasc"), ("level", "sex"), ("level", "uasc")), context=uasc_girls_context,
                rows=uasc_girls_rows),
        Section(slug="breakdowns", title=_("By sex, UASC status, level and age band"), order=20,
                template="reports/sections/breakdowns.html",
                breakdowns=(("sex",), ("uasc",), ("level",), ("age_band",)), context=breakdowns_context,
                rows=breakdowns_rows),
        Section(slug="exits", title=_("Exits by reason"), order=30, template="reports/sections/exits.html",
                breakdowns=((),), context=exits_context, rows=exits_rows),
        Section(slug="attendance_by_month", title=_("Attendance by month"), order=40,
                template="reports/sections/months.html", context=months_context, rows=months_rows),
        Section(slug="definitions", title=_("Definitions"), order=90, template="reports/sections/definitions.html",
                context=definitions_context),
    ]


@hookimpl
def register_blueprints(app):
    from tracker.reports.views import bp

    return [bp]


@hookimpl
def menu_items(user):
    if user.role in (Role.admin, Role.liaison, Role.partner):
        return [{"endpoint": "reports.index", "label": _("Reports"), "order": 5}]
    return []


@hookimpl
def register_commands(cli):
    from tracker.reports.cli import report_command

    return [report_command]

