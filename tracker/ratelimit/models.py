import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.children.models import utcnow
from tracker.extensions import db


class RateLimit(db.Model):
    """Requests counted for one key in its current fixed window ("signin:<address>", "api:<token hash prefix>")."""
    __tablename__ = "rate_limit"
    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[dt.datetime] = mapped_column(default=utcnow)
