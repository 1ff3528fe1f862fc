"""Users, their assignments, and login attempts."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.children.models import utcnow
from tracker.extensions import db
from tracker.schools.models import class_teachers
from tracker.types import Role, choice

user_schools = sa.Table(
    "user_school",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("school_id", sa.ForeignKey("school.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    active: Mapped[bool] = mapped_column(default=True)
    role: Mapped[Role] = mapped_column(choice(Role, "role"))
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    # Bumped on logout and password change: every session carrying the old value ends.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Set when an administrator gives a one-time password: every page leads to /account/password until it is changed.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[dt.datetime | None]

    schools: Mapped[list["School"]] = relationship(secondary=user_schools, order_by="School.name")  # noqa: F821
    classes: Mapped[list["SchoolClass"]] = relationship(  # noqa: F821
        secondary=class_teachers, back_populates="teachers", order_by="SchoolClass.name"
    )

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


class LoginAttempt(db.Model):
    __tablename__ = "login_attempt"
    __table_args__ = (sa.Index("ix_login_attempt_email_at", "email", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    success: Mapped[bool]


class LoginThrottle(db.Model):
    """Failed sign-ins per email and source address in the current window: one row, updated atomically before
    the password is checked. Per source, so that wrong passwords typed elsewhere do not lock the owner out."""
    __tablename__ = "login_throttle"
    email: Mapped[str] = mapped_column(sa.String(254), primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(64), primary_key=True, default="")
    failures: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[dt.datetime] = mapped_column(default=utcnow)
