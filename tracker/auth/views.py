from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from tracker.auth import operations
from tracker.auth.forms import LoginForm, PasswordForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """A path on this site to return to after sign-in; anything else goes to the start page."""
    if target and not any(ord(ch) < 32 or ch == "\\" for ch in target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user, locked = operations.authenticate(form.email.data, form.password.data)
        if locked:
            form.form_errors.append(_("Too many failed attempts. Try again in 15 minutes."))
            status = 429
        elif user is None:
            form.form_errors.append(_("Email or password is wrong."))
            status = 401
        else:
            session.clear()
            login_user(user)
            session["login_at"] = operations.utc_timestamp()
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    operations.end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("You are signed out."))
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            operations.change_password(current_user._get_current_object(), form.current.data, form.new.data)
        except operations.UserError as exc:
            if str(exc) == "current":
                form.current.errors.append(_("The current password is wrong."))
            else:
                form.new.errors.append(str(exc))
            status = 400
        else:
            logout_user()
            session.clear()
            flash(_("Password changed. Sign in again with the new password."))
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/password.html", form=form), status
