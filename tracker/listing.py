"""Long lists at the scale of a municipality: a count, filters and "show more" instead of one endless page.

A list page asks its query (or its list of rows) for everything the user may see, narrows it with its filter form
and shows the first ``pages × PAGE`` rows, with a link (or a button) for the next ``PAGE``. Scope comes first: the
filters only narrow what ``tracker.scope`` lets the user see, so an id out of scope matches nothing. A value that
makes no sense (a page of "-3", an id that is not a number) is ignored, never a 500.

The follow-up list, today's registers, the missing registers and the children list use it; templates/_listing.html
has the count and the "show more" link they share.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from tracker.extensions import db
from tracker.labels import options

PAGE = 50  # rows per "show more"
MAX_PAGES = 1000  # a hand-edited ?pages= cannot ask for the whole database at once
MAX_ID = 2**31 - 1  # beyond any row id (PostgreSQL's integer): a larger number is nonsense, not an overflow


class FilterForm(FlaskForm):
    """A list's filters: a GET form that changes nothing, so no CSRF token in its URLs."""

    class Meta:
        csrf = False


def an_id(value) -> int | None:
    """A row id from a filter, or None for anything that is not one (blank, letters, negative, too large)."""
    value = (value or "").strip() if isinstance(value, str) else ""
    if not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def pages_asked(args: Mapping) -> int:
    """How many pages the request asks for (?pages=N, 1 to MAX_PAGES); nonsense is 1."""
    value = args.get("pages", "1")
    return max(1, min(int(value), MAX_PAGES)) if isinstance(value, str) and value.isascii() and value.isdigit() else 1


def count(q: sa.Select) -> int:
    """The number of rows ``q`` selects, counted in the database."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(q.order_by(None).subquery()))


@dataclass
class Listing:
    """One page of a list: its rows, how many match the filters, how many there are without them."""

    rows: list
    total: int  # matching the filters
    everything: int  # in the user's scope, without the filters
    pages: int  # pages shown (each PAGE rows)
    active: bool  # a filter is set
    more: str | None = None  # the URL of the same list with one page more, when there is more
    extra: dict = field(default_factory=dict)

    @property
    def shown(self) -> int:
        return len(self.rows)

    @property
    def next_pages(self) -> int | None:
        return self.pages + 1 if self.total > self.shown else None


def listing(rows: sa.Select | list, *, everything: int | sa.Select, args: Mapping, filters: Iterable[str],
            endpoint: str | None = None, page_size: int | None = None, scalars: bool = True,
            **url_values) -> Listing:
    """The first pages of ``rows`` (a SELECT, ordered, or a list already sorted) as a Listing.

    ``everything`` is the unfiltered count or its SELECT; ``filters`` names the arguments that narrow the list
    (for "a filter is set"); ``endpoint`` gives the "show more" link, keeping the request's other arguments.
    """
    size = page_size or PAGE
    pages = pages_asked(args)
    if isinstance(rows, sa.Select):
        total = count(rows)
        limited = rows.limit(pages * size)
        shown = list(db.session.scalars(limited) if scalars else db.session.execute(limited))
    else:
        total, shown = len(rows), list(rows[:pages * size])
    if isinstance(everything, sa.Select):
        everything = count(everything)
    active = any((args.get(name) or "").strip() for name in filters)
    page = Listing(shown, total, everything, pages, active)
    if endpoint and page.next_pages:
        keep = {k: v for k, v in _to_dict(args).items() if k != "pages"}
        page.more = url_for(endpoint, **url_values, **keep, pages=page.next_pages)
    return page


def _to_dict(args: Mapping) -> dict:
    return args.to_dict(flat=False) if hasattr(args, "to_dict") else dict(args)


# --- choices shared by the lists' filter forms ----------------------------------------------------------------


def centre_label(centre) -> str:
    """A centre as the lists name it: its code, then its name ("KRN — Krnjača")."""
    return f"{centre.code} — {centre.name}"


def school_choices(schools, *, value=lambda s: str(s.id), blank: str | None = None):
    return options([("", blank or _("All schools")), *[(value(s), s.name) for s in schools]])


def centre_choices(centres, *, value=lambda c: str(c.id), blank: str | None = None):
    return options([("", blank or _("All centres")), *[(value(c), centre_label(c)) for c in centres]])


def class_label(cls, *, with_school: bool = True) -> str:
    name = f"{cls.name} ({cls.year.label})"
    return f"{cls.school.name} · {name}" if with_school else name


def class_choices(classes, *, with_school: bool = True, blank: str | None = None):
    return options([("", blank or _("All classes")),
                    *[(str(c.id), class_label(c, with_school=with_school)) for c in classes]])
