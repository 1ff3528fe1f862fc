"""Early-warning flags raised by risk rules, and the follow-up logged on them."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.children.models import utcnow
from tracker.extensions import db


class Flag(db.Model):
    """One rule's concern about one child, from the day it was raised until its condition cleared.

    status: open → acknowledged → resolved (by a person, with an outcome); ``cleared_on`` is set
    by ``tracker flags refresh`` when the condition no longer holds, whatever the status. While
    a flag is not cleared no second flag of the same rule is raised for the child.
    """

    __tablename__ = "flag"
    __table_args__ = (
        sa.Index("uq_flag_active", "child_id", "rule", unique=True, sqlite_where=sa.text("cleared_on IS NULL"),
                 postgresql_where=sa.text("cleared_on IS NULL")),
        sa.CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name="status_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(sa.String(50))
    severity: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(sa.String(20), default="open")
    evidence: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    raised_on: Mapped[dt.date]
    last_seen_on: Mapped[dt.date]
    cleared_on: Mapped[dt.date | None]
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    resolved_at: Mapped[dt.datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(sa.String(30), default="")
    outcome_note: Mapped[str] = mapped_column(sa.String(1000), default="")
    version: Mapped[int] = mapped_column(default=1)

    child: Mapped["Child"] = relationship()  # noqa: F821
    follow_ups: Mapped[list[FollowUp]] = relationship(back_populates="flag", order_by="FollowUp.date",
                                                      cascade="all, delete-orphan")
    __mapper_args__ = {"version_id_col": version}

    @property
    def active(self) -> bool:
        return self.cleared_on is None and self.status != "resolved"


class FollowUp(db.Model):
    __tablename__ = "follow_up"
    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(sa.ForeignKey("flag.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    date: Mapped[dt.date]
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    flag: Mapped[Flag] = relationship(back_populates="follow_ups")
    created_by: Mapped["User | None"] = relationship()  # noqa: F821
