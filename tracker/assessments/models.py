"""Assessment rounds, the forms filled for a child in a round, their earlier versions, and switched-off types."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.children.models import utcnow
from tracker.extensions import db

ROUND_KINDS = ("baseline", "midline", "endline")
STATUSES = ("draft", "submitted")


class AssessmentRound(db.Model):
    """A round of an academic year (baseline, midline, endline) and the days forms are due in it."""

    __tablename__ = "assessment_round"
    __table_args__ = (
        sa.UniqueConstraint("year_id", "kind", name="uq_assessment_round_year_kind"),
        sa.CheckConstraint("opens <= closes", name="opens_before_closes"),
        sa.CheckConstraint("kind IN ('baseline', 'midline', 'endline')", name="kind_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(sa.ForeignKey("academic_year.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    opens: Mapped[dt.date]
    closes: Mapped[dt.date]

    year: Mapped["AcademicYear"] = relationship()  # noqa: F821

    @property
    def order(self) -> int:
        return ROUND_KINDS.index(self.kind)


class Assessment(db.Model):
    """One type's form for one child in one round: a draft until submitted; corrections keep revisions.

    ``version`` goes up with every save; a save that started from an older version is refused
    (optimistic locking), so two people editing the same form never overwrite each other.
    """

    __tablename__ = "assessment"
    __table_args__ = (
        sa.UniqueConstraint("child_id", "round_id", "type_slug", name="uq_assessment_child_round_type"),
        sa.CheckConstraint("status IN ('draft', 'submitted')", name="status_known"),
        sa.Index("ix_assessment_round_type", "round_id", "type_slug", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_round.id", ondelete="CASCADE"))
    type_slug: Mapped[str] = mapped_column(sa.String(50))
    type_version: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(10), default="draft")
    answers: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    scores: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # domain -> score, once submitted
    band: Mapped[str | None] = mapped_column(sa.String(30))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    submitted_at: Mapped[dt.datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    __mapper_args__ = {"version_id_col": version}

    child: Mapped["Child"] = relationship()  # noqa: F821
    enrolment: Mapped["Enrolment"] = relationship()  # noqa: F821
    round: Mapped[AssessmentRound] = relationship()
    revisions: Mapped[list["AssessmentRevision"]] = relationship(
        back_populates="assessment", order_by="AssessmentRevision.version", cascade="all, delete-orphan")


class AssessmentRevision(db.Model):
    """A submitted form as it was before a correction."""

    __tablename__ = "assessment_revision"
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    answers: Mapped[dict] = mapped_column(sa.JSON)
    scores: Mapped[dict] = mapped_column(sa.JSON)
    band: Mapped[str | None] = mapped_column(sa.String(30))
    saved_at: Mapped[dt.datetime]
    saved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    replaced_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    replaced_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    assessment: Mapped[Assessment] = relationship(back_populates="revisions")


class AssessmentTypeSetting(db.Model):
    """An assessment type an admin switched off (or on again): absent means on."""

    __tablename__ = "assessment_type_setting"
    slug: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
