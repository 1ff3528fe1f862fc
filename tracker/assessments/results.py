"""Assessment results: a child's rounds, a class's averages, and the aggregates for the report."""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker.assessments.models import Assessment, AssessmentRound
from tracker.assessments.types import all_types, enabled_types
from tracker.enrolment.models import Enrolment
from tracker.extensions import db


def _round_key(r: AssessmentRound):
    return (r.year.first_day, r.order)


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def overall(scores: dict) -> float | None:
    """The mean of a form's domain scores."""
    return _mean([v for k, v in scores.items() if not k.startswith("_")])


def progress(earlier: dict, later: dict) -> str:
    """up, same or down between two submitted forms of a child (mean of the domains scored in both)."""
    common = [k for k in later if k in earlier and not k.startswith("_")]
    a, b = _mean([earlier[k] for k in common]), _mean([later[k] for k in common])
    if a is None or b is None or abs(b - a) < 1e-9:
        return "same"
    return "up" if b > a else "down"


def child_results(user, child) -> list[dict]:
    """Each type's submitted forms for the child, round by round, with a small chart and the change."""
    from tracker.assessments.views import round_label
    from tracker.reports.charts import bar_chart

    types = all_types()
    found = db.session.scalars(sa.select(Assessment).join(AssessmentRound, AssessmentRound.id == Assessment.round_id)
                               .where(Assessment.child_id == child.id)).all()
    by_type: dict[str, list[Assessment]] = defaultdict(list)
    for a in found:
        by_type[a.type_slug].append(a)
    out = []
    for slug, items in sorted(by_type.items()):
        atype = types.get(slug)
        if atype is None:
            continue
        items.sort(key=lambda a: _round_key(a.round))
        submitted = [a for a in items if a.status == "submitted"]
        lo, hi = atype.scale
        chart = bar_chart(str(atype.label), [atype.domain_label(k) for k, _l in atype.domains],
                          [(round_label(a.round), [a.scores.get(k) for k, _l in atype.domains]) for a in submitted],
                          percent=False, max_value=hi, width=560, empty_text=_("Nothing submitted yet")) \
            if submitted else None
        change = progress(submitted[-2].scores, submitted[-1].scores) if len(submitted) >= 2 else None
        out.append({"type": atype, "items": items, "submitted": submitted, "chart": chart, "change": change})
    return out


def class_results(school_class) -> list[dict]:
    """Per type and round: how many forms were submitted for the class and the domain averages."""
    from tracker.assessments.views import round_label

    rows = db.session.scalars(
        sa.select(Assessment).join(Enrolment, Enrolment.id == Assessment.enrolment_id)
        .where(Enrolment.class_id == school_class.id, Assessment.status == "submitted")).all()
    out = []
    types = enabled_types()
    for slug, atype in sorted(types.items()):
        mine = [a for a in rows if a.type_slug == slug]
        if not mine:
            continue
        rounds = sorted({a.round for a in mine}, key=_round_key)
        lines = []
        for r in rounds:
            these = [a for a in mine if a.round_id == r.id]
            bands = defaultdict(int)
            for a in these:
                bands[a.band] += 1
            lines.append({"round": round_label(r), "round_id": r.id, "n": len(these),
                          "means": [_mean([a.scores.get(k) for a in these]) for k, _l in atype.domains],
                          "bands": [bands.get(k, 0) for k, _l in atype.bands]})
        out.append({"type": atype, "lines": lines})
    return out


def round_progress(school_class, rounds: list[AssessmentRound], slugs: list[str], today) -> dict[int, dict]:
    """Per round of the class's school year: the children enrolled in the class on the round's day,
    how many are assessed (a submitted form of every type in ``slugs``), how many are missing, how
    many have each type's form submitted (``by_type``), and the round's state
    (``operations.round_state``: upcoming, open, done or overdue)."""
    from tracker.assessments.operations import round_day, round_state

    out = {}
    for r in rounds:
        if r.year_id != school_class.year_id:
            continue
        day = round_day(r, today)
        children = db.session.scalars(sa.select(Enrolment.child_id).where(
            Enrolment.class_id == school_class.id, Enrolment.start_date <= day,
            sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= day)).distinct()).all()
        assessed, by_type = 0, {slug: 0 for slug in slugs}
        if children and slugs:
            by_type.update(db.session.execute(
                sa.select(Assessment.type_slug, sa.func.count(sa.distinct(Assessment.child_id)))
                .where(Assessment.round_id == r.id, Assessment.status == "submitted", Assessment.type_slug.in_(slugs),
                       Assessment.child_id.in_(children)).group_by(Assessment.type_slug)).all())
            assessed = len(db.session.scalars(
                sa.select(Assessment.child_id).where(Assessment.round_id == r.id, Assessment.status == "submitted",
                                                     Assessment.type_slug.in_(slugs),
                                                     Assessment.child_id.in_(children))
                .group_by(Assessment.child_id)
                .having(sa.func.count(sa.distinct(Assessment.type_slug)) == len(slugs))).all())
        missing = len(children) - assessed
        out[r.id] = {"round": r, "children": len(children), "assessed": assessed, "missing": missing, "by_type": by_type,
                     "state": round_state(r, today, missing)}
    return out


def report_data(report) -> list[dict]:
    """Per type and round in the report's period and scope: children assessed, band counts, domain means,
    and the change since the previous round, with the report's small-cell suppression.
    """
    from tracker.assessments.views import round_label
    from tracker.children.models import RECORD_KEY_MODULUS, Child
    from tracker.reports import disclosure

    p = report.params
    q = (sa.select(Assessment).join(AssessmentRound, AssessmentRound.id == Assessment.round_id)
         .join(Enrolment, Enrolment.id == Assessment.enrolment_id)
         .where(Assessment.status == "submitted", AssessmentRound.opens <= p.to, AssessmentRound.closes >= p.frm))
    if p.school_ids is not None:
        q = q.where(Enrolment.school_id.in_(p.school_ids))
    found = db.session.scalars(q).all()
    # Each child's previous submitted form of the same type (any school), for the change since then.
    children = {a.child_id for a in found}
    history: dict[tuple[int, str], list[Assessment]] = defaultdict(list)
    if children:
        for a in db.session.scalars(sa.select(Assessment).where(Assessment.status == "submitted",
                                                               Assessment.child_id.in_(children))):
            history[(a.child_id, a.type_slug)].append(a)
    for items in history.values():
        items.sort(key=lambda a: _round_key(a.round))
    k = report.k
    record_keys: dict[int, int] = {}
    if k is not None and children:
        ids = sorted(children)
        for i in range(0, len(ids), 5000):
            record_keys.update((cid, key) for cid, key in db.session.execute(
                sa.select(Child.id, Child.record_key).where(Child.id.in_(ids[i:i + 5000]))))
    rules = disclosure.rules() if k is not None else None

    def published(assessments: list) -> int | None:
        """A count of children (one form each) as partners see it."""
        key = sum(record_keys.get(a.child_id, 0) for a in assessments) % RECORD_KEY_MODULUS
        return rules.publish(len(assessments), key)
    out = []
    for slug, atype in sorted(enabled_types().items()):
        mine = [a for a in found if a.type_slug == slug]
        if not mine:
            continue
        lines = []
        for r in sorted({a.round for a in mine}, key=_round_key):
            these = [a for a in mine if a.round_id == r.id]
            n = len(these)
            bands = {key: [a for a in these if a.band == key] for key, _l in atype.bands}
            moves = {"up": [], "same": [], "down": []}
            compared = []
            for a in these:
                earlier = [h for h in history[(a.child_id, slug)] if _round_key(h.round) < _round_key(r)]
                if earlier:
                    moves[progress(earlier[-1].scores, a.scores)].append(a)
                    compared.append(a)
            line = {"round": round_label(r), "n": n, "bands": {b: len(v) for b, v in bands.items()},
                    "moves": {m: len(v) for m, v in moves.items()}, "compared": len(compared),
                    "means": [_mean([a.scores.get(key) for a in these]) for key, _l in atype.domains],
                    "status": {}}
            if k is not None:
                # Every count through the partners' disclosure control: perturbed, rounded, "<k" below the
                # threshold; shares and means only where the children assessed are published.
                line["n"] = published(these)
                line["bands"] = {b: published(v) for b, v in bands.items()}
                line["moves"] = {m: published(v) for m, v in moves.items()}
                line["compared"] = published(compared)
                small = disclosure.SMALL
                line["status"] = {"n": small if line["n"] is None else None,
                                  **{f"band:{b}": small if v is None or line["n"] is None else None
                                     for b, v in line["bands"].items()},
                                  "compared": small if line["compared"] is None else None,
                                  **{f"move:{m}": small if v is None or line["compared"] is None else None
                                     for m, v in line["moves"].items()}}
                if line["n"] is None:
                    line["means"] = [None for _m in line["means"]]
                else:
                    line["means"] = [None if m is None else round(m, 1) for m in line["means"]]
            lines.append(line)
        out.append({"type": atype, "lines": lines})
    return out
