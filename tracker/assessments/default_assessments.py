"""Default plugin: the assessment pages, the "needs support" risk rule and the report's learning-and-wellbeing section."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tracker import hookimpl
from tracker.flags.rules import RiskRule
from tracker.types import Role


class NeedsSupport(RiskRule):
    """The child's latest submitted form of a type that names a "needs support" band is in that band."""

    slug = "assessment_needs_support"
    label = _l("Assessment: needs support")
    severity = 2
    defaults = {}

    def evaluate(self, children, as_of):
        from tracker.assessments.models import Assessment, AssessmentRound
        from tracker.assessments.types import enabled_types
        from tracker.extensions import db
        from tracker.schools.models import AcademicYear

        watched = {slug: t.needs_support_band for slug, t in enabled_types().items() if t.needs_support_band}
        if not watched:
            return []
        later = sa.orm.aliased(Assessment)
        later_round, this_round = sa.orm.aliased(AssessmentRound), sa.orm.aliased(AssessmentRound)
        later_year, this_year = sa.orm.aliased(AcademicYear), sa.orm.aliased(AcademicYear)
        newer = (sa.exists().where(later.child_id == Assessment.child_id, later.type_slug == Assessment.type_slug,
                                   later.status == "submitted", later.round_id == later_round.id,
                                   later_round.year_id == later_year.id, later_round.opens <= as_of,
                                   sa.or_(later_year.first_day > this_year.first_day,
                                          sa.and_(later_year.first_day == this_year.first_day,
                                                  later_round.opens > this_round.opens))))
        q = (sa.select(Assessment.child_id, Assessment.type_slug, this_round.kind, this_year.label)
             .join(this_round, this_round.id == Assessment.round_id).join(this_year, this_year.id == this_round.year_id)
             .where(Assessment.child_id.in_(children), Assessment.status == "submitted", this_round.opens <= as_of,
                    sa.or_(*[sa.and_(Assessment.type_slug == slug, Assessment.band == band)
                             for slug, band in watched.items()]), ~newer))
        seen = set()
        out = []
        for child_id, slug, kind, year in db.session.execute(q):
            if child_id not in seen:  # one flag per child, naming the first type found
                seen.add(child_id)
                out.append((child_id, {"type": slug, "round": kind, "year": year}))
        return out

    def describe(self, evidence):
        from tracker.assessments.types import all_types
        from tracker.assessments.views import ROUND_LABELS

        atype = all_types().get(evidence.get("type"))
        name = str(atype.label) if atype else evidence.get("type", "")
        return _("“Needs support” in the %(form)s (%(round)s %(year)s): consider a referral to psychosocial support",
                 form=name, round=str(ROUND_LABELS.get(evidence.get("round"), evidence.get("round"))).lower(),
                 year=evidence.get("year", ""))


@hookimpl
def register_risk_rules():
    return [NeedsSupport]


@hookimpl
def register_blueprints(app):
    from tracker.assessments.views import bp

    return [bp]


@hookimpl
def menu_items(user):
    if user.role in (Role.admin, Role.liaison, Role.teacher):
        return [{"endpoint": "assessments.due", "label": _("Assessments"), "order": 4}]
    return []


def _section_context(report):
    from tracker.assessments.results import report_data

    return {"types": report_data(report)}


def _section_rows(report):
    from tracker.assessments.results import report_data

    rows = []
    for block in report_data(report):
        atype = block["type"]
        for line in block["lines"]:
            status = line["status"]
            base = {"indicator": f"assessment_{atype.slug}", "round": line["round"]}
            rows.append({**base, "measure": "children_assessed", "numerator": None if status.get("n") else line["n"],
                         "suppressed": status.get("n")})
            for key, _label in atype.bands:
                s = status.get(f"band:{key}")
                rows.append({**base, "measure": f"band_{key}", "numerator": None if s else line["bands"][key],
                             "denominator": None if status.get("n") else line["n"], "suppressed": s})
            for (key, _label), mean in zip(atype.domains, line["means"]):
                rows.append({**base, "measure": f"mean_{key}", "value": mean,
                             "suppressed": status.get("n") if mean is None else None})
            for move, count in line["moves"].items():
                s = status.get(f"move:{move}")
                rows.append({**base, "measure": f"progress_{move}", "numerator": None if s else count,
                             "denominator": None if status.get("compared") else line["compared"], "suppressed": s})
    return rows


@hookimpl
def report_sections():
    from tracker.reports.data import Section

    return [Section(slug="learning_wellbeing", title=_("Learning and wellbeing"), order=50,
                    template="assessments/report_section.html", context=_section_context, rows=_section_rows)]
