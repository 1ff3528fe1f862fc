"""The API tokens page for admins: every user's tokens, issue one (shown once), revoke one."""
from __future__ import annotations


import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from tracker import once
from tracker.api import tokens
from tracker.api.models import ApiToken
from tracker.auth.models import User
from tracker.children.forms import NoControlCharacters, Strip
from tracker.children.models import utcnow
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.labels import label, options
from tracker.types import Role

bp = Blueprint("api_tokens", __name__, url_prefix="/admin/api-tokens")

# A form may be sent once: each rendering carries a one-time value, so reloading the page that
# shows a new token (which re-sends the form) issues nothing and shows nothing.
ONCE_KEY = "api_token_forms"
ONCE_KEEP = 5


class IssueForm(FlaskForm):
    once = HiddenField()
    user = SelectField(_l("User"), validators=[DataRequired()])
    name = StringField(_l("What the token is for"), filters=[Strip()],
                       validators=[DataRequired(), Length(max=tokens.NAME_MAX), NoControlCharacters()])
    days = IntegerField(_l("Valid for (days)"), default=tokens.DEFAULT_DAYS,
                        validators=[InputRequired(), NumberRange(min=1, max=tokens.MAX_DAYS)])


@bp.before_request
@login_required
def admins_only():
    if current_user.role != Role.admin:
        abort(404)


def _form() -> IssueForm:
    form = IssueForm()
    users = db.session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.email)).all()
    form.user.choices = options([("", _("Choose…"))] + [
        (str(u.id), f"{u.email} · {label(u.role)}") for u in users])
    return form


def _new_once(form) -> None:
    once.new_once(form, ONCE_KEY, ONCE_KEEP)


def _use_once(value: str | None) -> bool:
    return once.use_once(value, ONCE_KEY)


def _page(form: IssueForm, status: int = 200):
    _new_once(form)
    rows = db.session.scalars(tokens.tokens()).all()
    by_user: dict[int, tuple[User, list[ApiToken]]] = {}
    for row in rows:
        by_user.setdefault(row.user_id, (row.user, []))[1].append(row)
    return render_template("api/tokens.html", form=form, by_user=list(by_user.values()), now=utcnow(),
                           max_days=tokens.MAX_DAYS), status


@bp.route("/", methods=["GET", "POST"])
def index():
    form = _form()
    if request.method == "GET":
        return _page(form)
    if not form.validate():
        return _page(form, 400)
    if not _use_once(form.once.data):
        flash(_("This form was sent already, so no token was issued now. A token is shown only once: if it was "
                "not copied, revoke it and issue a new one."), "warning")
        return redirect(url_for("api_tokens.index"))
    user = db.session.get(User, int(form.user.data))
    try:
        token, row = tokens.issue(user, form.name.data, form.days.data, by=current_user._get_current_object())
    except OperationError as exc:
        db.session.rollback()
        field = getattr(form, exc.field or "", None)
        (field.errors if field is not None else form.form_errors).append(exc.message)
        return _page(form, 400)
    return render_template("api/issued.html", token=token, row=row)


@bp.route("/<int:token_id>/revoke", methods=["POST"])
def revoke(token_id):
    row = db.session.get(ApiToken, token_id)
    if row is None:
        abort(404)
    if tokens.revoke(row, by=current_user._get_current_object()):
        flash(_("The token “%(name)s” of %(email)s is revoked.", name=row.name, email=row.user.email))
    else:
        flash(_("The token “%(name)s” was revoked already.", name=row.name), "warning")
    return redirect(url_for("api_tokens.index"))
