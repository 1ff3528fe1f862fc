"""Assessment types: what a plugin declares through ``register_assessment_types``, and who may fill and see them."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import g

from tracker import scope
from tracker.extensions import db
from tracker.plugins import PluginError, collect, get_pm
from tracker.types import Role


@dataclass
class Score:
    """What a type's scoring makes of a form's answers."""

    domains: dict[str, float]  # domain key -> score
    band: str | None = None  # one of the type's band keys, or None when no overall band applies
    extra: dict = field(default_factory=dict)  # anything else to keep with the scores (e.g. levels)


class AssessmentType:
    """Subclass this in a plugin and return the class from ``register_assessment_types``.

    Required: ``slug``, ``label``, ``version``, ``domains`` [(key, label)], ``form_class`` (a
    Flask-WTF form; its field names are the answer keys) and ``score(answers) -> Score``.
    """

    slug: str = ""
    label: str = ""
    version: str = "1"
    licence: str = ""
    validated: bool = False  # a validated instrument (shown to users); False: an aid, not a screening tool
    description: str = ""
    domains: list[tuple[str, str]] = []
    scale: tuple[float, float] = (1.0, 4.0)  # the range of domain scores, for charts
    bands: list[tuple[str, str]] = []  # (key, label), best first
    needs_support_band: str | None = None  # the band that raises an early-warning flag
    sensitive: bool = True  # answers and scores only for the child's teachers, liaison officers and admins
    fillers: tuple[Role, ...] = (Role.teacher, Role.liaison)
    form_class: type | None = None
    child_template: str | None = None  # shown on the child's page with ``results``; None: the default table

    def score(self, answers: dict, context: dict) -> Score:  # pragma: no cover - every type defines it
        """``context``: {"grade": int | None, "level": "primary" | "secondary" | None} of the child's enrolment."""
        raise NotImplementedError

    def band_label(self, key: str | None) -> str:
        return str(dict(self.bands).get(key, key or ""))

    def domain_label(self, key: str) -> str:
        return str(dict(self.domains).get(key, key))

    def format_score(self, domain: str, value) -> str:
        """A domain's score (one form's, or a mean of several) as people read it; "–" for none.

        By default the number with two decimals. A type whose scores stand for named levels
        overrides it to show the level's name (the learning levels: "A2", a mean "A2 (2.4)").
        """
        from flask_babel import format_decimal

        return "–" if value is None else format_decimal(value, "0.00")

    def may_fill(self, user, enrolment) -> bool:
        """By default: a teacher of the child's class, or the liaison officer of the child's school."""
        if user.role not in self.fillers or enrolment is None:
            return False
        if user.role == Role.teacher:
            return enrolment.class_id is not None and db.session.scalar(
                sa.select(sa.literal(True)).where(sa.literal(enrolment.class_id).in_(scope.class_ids(user)))) is True
        if user.role == Role.liaison:
            return db.session.scalar(
                sa.select(sa.literal(True)).where(sa.literal(enrolment.school_id).in_(scope.school_ids(user)))) is True
        return False


REQUIRED = ("slug", "label", "version", "domains", "form_class")


def all_types() -> dict[str, type[AssessmentType] | AssessmentType]:
    """Every type the plugins declare, checked (cached per request)."""
    cached = g.get("_assessment_types")
    if cached is not None:
        return cached
    out: dict[str, AssessmentType] = {}
    plugins: dict[str, str] = {}
    for plugin, item in collect(get_pm(), "register_assessment_types"):
        kind = item if isinstance(item, type) else type(item)
        if not (isinstance(kind, type) and issubclass(kind, AssessmentType)):
            raise PluginError(f"plugin {plugin!r}: register_assessment_types must return AssessmentType subclasses, "
                              f"got {item!r}")
        instance = item() if isinstance(item, type) else item
        missing = [a for a in REQUIRED if not getattr(instance, a, None)]
        if missing:
            raise PluginError(f"plugin {plugin!r}: assessment type {kind.__name__} has no {missing[0]}")
        if instance.slug in out:
            raise PluginError(f"plugin {plugin!r}: assessment type {instance.slug!r} is already defined by "
                              f"{plugins[instance.slug]!r}")
        instance.plugin = plugin
        out[instance.slug] = instance
        plugins[instance.slug] = plugin
    g._assessment_types = out
    return out


def enabled_types() -> dict[str, AssessmentType]:
    """The types not switched off by an admin."""
    from tracker.assessments.models import AssessmentTypeSetting

    off = set(db.session.scalars(sa.select(AssessmentTypeSetting.slug).where(AssessmentTypeSetting.enabled.is_(False))))
    return {slug: t for slug, t in all_types().items() if slug not in off}


def get_type(slug: str) -> AssessmentType | None:
    return enabled_types().get(slug)


def may_see(user, child) -> bool:
    """A child's assessments: the child's teachers, the liaison officers of the child, admins. Never partners."""
    if user.role == Role.admin:
        return True
    if user.role in (Role.liaison, Role.teacher):
        return db.session.scalar(
            sa.select(sa.literal(True)).where(sa.literal(child.id).in_(scope.child_ids(user)))) is True
    return False
