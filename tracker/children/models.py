"""Children, their UASC status history, guardians and centre stays."""
from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.extensions import db
from tracker.types import LegalBasis, Sex, UascStatus, choice


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# Record keys for disclosure control (tracker.reports.disclosure): each child gets a fixed random
# number below RECORD_KEY_MODULUS when registered. It never leaves the database: outputs only ever
# carry counts perturbed with the keys' sums, never a key.
RECORD_KEY_MODULUS = 2 ** 20


def new_record_key() -> int:
    return secrets.randbelow(RECORD_KEY_MODULUS)


class Child(db.Model):
    __tablename__ = "child"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)  # pseudonymous, shown instead of ids
    given_name: Mapped[str] = mapped_column(sa.String(100))  # Latin script
    family_name: Mapped[str] = mapped_column(sa.String(100))  # Latin script
    name_original: Mapped[str] = mapped_column(sa.String(200), default="")  # original script, stored exactly
    name_key: Mapped[str] = mapped_column(sa.String(200), index=True, default="")  # search key, ASCII lower
    sex: Mapped[Sex] = mapped_column(choice(Sex, "sex"))
    birth_date: Mapped[dt.date] = mapped_column(index=True)
    birth_date_estimated: Mapped[bool] = mapped_column(default=False)
    country: Mapped[str] = mapped_column(sa.String(3))  # ISO 3166-1 alpha-3
    first_language: Mapped[str] = mapped_column(sa.String(3))  # ISO 639-3
    arrival_date: Mapped[dt.date | None]
    temporary_id: Mapped[str | None] = mapped_column(sa.String(40))  # temporary personal number, if any
    asylum_number: Mapped[str | None] = mapped_column(sa.String(40))
    legal_basis: Mapped[LegalBasis] = mapped_column(choice(LegalBasis, "legal_basis"))
    legal_basis_recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    legal_basis_recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)
    record_key: Mapped[int] = mapped_column(default=new_record_key)  # secret; see RECORD_KEY_MODULUS

    uasc_periods: Mapped[list[UascPeriod]] = relationship(
        back_populates="child", order_by="UascPeriod.start_date", cascade="all, delete-orphan"
    )
    guardians: Mapped[list[Guardian]] = relationship(
        back_populates="child", order_by="Guardian.start_date", cascade="all, delete-orphan"
    )
    centre_stays: Mapped[list[CentreStay]] = relationship(
        back_populates="child", order_by="CentreStay.start_date", cascade="all, delete-orphan"
    )
    enrolments: Mapped[list["Enrolment"]] = relationship(  # noqa: F821
        back_populates="child", order_by="Enrolment.start_date"
    )
    legal_basis_recorded_by: Mapped["User | None"] = relationship(foreign_keys=[legal_basis_recorded_by_id])  # noqa: F821

    __mapper_args__ = {"version_id_col": version}

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def uasc_status_on(self, day: dt.date) -> UascStatus:
        for p in reversed(self.uasc_periods):
            if p.start_date <= day and (p.end_date is None or p.end_date >= day):
                return p.status
        return UascStatus.accompanied

    @property
    def uasc_status(self) -> UascStatus:
        return self.uasc_status_on(dt.date.today())

    @property
    def is_uasc(self) -> bool:
        return self.uasc_status != UascStatus.accompanied

    @property
    def open_enrolment(self):
        return next((e for e in self.enrolments if e.end_date is None), None)

    @property
    def current_stay(self) -> CentreStay | None:
        return next((s for s in reversed(self.centre_stays) if s.end_date is None), None)

    def age_on(self, day: dt.date) -> int:
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))

    def __repr__(self) -> str:
        return f"<Child {self.code}>"


class UascPeriod(db.Model):
    """A child's UASC status from start_date (inclusive) to end_date (inclusive, open when None)."""

    __tablename__ = "uasc_period"
    __table_args__ = (
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_in_order"),
        # Covers "the status on a date" for the indicators without reading the table.
        sa.Index("ix_uasc_period_child_dates", "child_id", "start_date", "end_date", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"))
    status: Mapped[UascStatus] = mapped_column(choice(UascStatus, "uasc_status"))
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date | None]
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    child: Mapped[Child] = relationship(back_populates="uasc_periods")


class Guardian(db.Model):
    """The legal guardian appointed for an unaccompanied or separated child."""

    __tablename__ = "guardian"
    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    organisation: Mapped[str] = mapped_column(sa.String(200), default="")  # e.g. the centre for social work
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date | None]

    child: Mapped[Child] = relationship(back_populates="guardians")


class CentreStay(db.Model):
    __tablename__ = "centre_stay"
    __table_args__ = (
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_in_order"),
        sa.Index("uq_centre_stay_open", "child_id", unique=True, sqlite_where=sa.text("end_date IS NULL"),
                 postgresql_where=sa.text("end_date IS NULL")),
        sa.Index("ix_centre_stay_child_dates", "child_id", "start_date", "end_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"))
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centre.id"), index=True)
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date | None]

    child: Mapped[Child] = relationship(back_populates="centre_stays")
    centre: Mapped["Centre"] = relationship()  # noqa: F821


class RecordChange(db.Model):
    """A correction of a recorded value: the earlier value, the new one, who changed it and when.

    One row per changed field. ``object_type`` and ``object_id`` name the corrected row (``child``,
    ``guardian``, ``enrolment``, ``centre_stay``); ``child_id`` the child it belongs to, so the child's
    page lists every correction about them. Values are personal data, kept as text (dates ISO, yes/no
    as ``true``/``false``, blank as NULL) and shown only to those who may see the child; the audit
    log names the fields, never these values.
    """

    __tablename__ = "record_change"
    __table_args__ = (
        sa.Index("ix_record_change_child_at", "child_id", "changed_at"),
        sa.Index("ix_record_change_object", "object_type", "object_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"))
    object_type: Mapped[str] = mapped_column(sa.String(20))
    object_id: Mapped[int]
    field: Mapped[str] = mapped_column(sa.String(40))
    old_value: Mapped[str | None] = mapped_column(sa.String(200))
    new_value: Mapped[str | None] = mapped_column(sa.String(200))
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    changed_by: Mapped["User | None"] = relationship()  # noqa: F821


class MergedCode(db.Model):
    """The code of a record merged into another child's (``merge_children``): it keeps leading to that child."""

    __tablename__ = "merged_code"
    code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("child.id", ondelete="CASCADE"), index=True)
    merged_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    merged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
