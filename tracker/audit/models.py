"""Audit trail: who did what to which record, never field values."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.children.models import utcnow
from tracker.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(sa.String(50))
    object_type: Mapped[str] = mapped_column(sa.String(50), default="")
    object_id: Mapped[str] = mapped_column(sa.String(50), default="")
    # Which fields a correction changed (comma-separated names, e.g. "birth_date,sex"), never their values.
    fields: Mapped[str | None] = mapped_column(sa.String(500))
