"""Integrations enabled per school, every run, what waits for a person, and identifiers in other systems."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.children.models import utcnow
from tracker.extensions import db


class SchoolIntegration(db.Model):
    """An integration an admin enabled for a school, with its settings and the personal fields exports may carry."""

    __tablename__ = "school_integration"
    __table_args__ = (sa.UniqueConstraint("school_id", "slug", name="uq_school_integration_school_slug"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("school.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(50))
    enabled: Mapped[bool] = mapped_column(default=True)
    settings: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    allowed_fields: Mapped[list] = mapped_column(sa.JSON, default=list)  # names, birth_date, ... (off unless listed)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    school: Mapped["School"] = relationship()  # noqa: F821


class IntegrationRun(db.Model):
    """One run of an integration: who, when, which school, which way, what it counted, what went wrong."""

    __tablename__ = "integration_run"
    __table_args__ = (sa.CheckConstraint("direction IN ('import', 'export')", name="direction_known"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("school.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(50))
    direction: Mapped[str] = mapped_column(sa.String(10))
    dry_run: Mapped[bool] = mapped_column(default=False)
    ok: Mapped[bool] = mapped_column(default=False)
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    errors: Mapped[list] = mapped_column(sa.JSON, default=list)  # the first 100, as {file, line, column, message}
    error_count: Mapped[int] = mapped_column(default=0)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    school: Mapped["School"] = relationship()  # noqa: F821
    user: Mapped["User | None"] = relationship()  # noqa: F821


class IntegrationPending(db.Model):
    """Something an import could not settle by itself (e.g. a student matching no child, or several): a person
    matches it to a child or creates one; nothing is created twice meanwhile."""

    __tablename__ = "integration_pending"
    __table_args__ = (sa.UniqueConstraint("school_id", "slug", "kind", "key", name="uq_integration_pending_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("school.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(50))
    kind: Mapped[str] = mapped_column(sa.String(20))  # e.g. "student"
    key: Mapped[str] = mapped_column(sa.String(200))  # the other system's identifier
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # what the person needs to decide (names, birth date...)
    reason: Mapped[str] = mapped_column(sa.String(30), default="unmatched")  # unmatched | ambiguous | conflict
    candidates: Mapped[list] = mapped_column(sa.JSON, default=list)  # child codes that could be this student
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    resolution: Mapped[str] = mapped_column(sa.String(60), default="")  # matched:<code> | created:<code> | ignored

    school: Mapped["School"] = relationship()  # noqa: F821


class ExternalId(db.Model):
    """A child's identifier in another system (e.g. a school's OneRoster sourcedId), so the next import matches it."""

    __tablename__ = "external_id"
    __table_args__ = (sa.UniqueConstraint("system", "value", name="uq_external_id_system_value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"), index=True)
    system: Mapped[str] = mapped_column(sa.String(100))  # e.g. "oneroster:SA001"
    value: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
