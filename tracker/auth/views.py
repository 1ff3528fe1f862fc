import math
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required, login_user, logout_user

from tracker.auth import operations
from tracker.auth.forms import LoginForm, PasswordForm
from tracker.ratelimit import operations as ratelimit

bp = Blueprint("auth", __name__)

# What a user who must change her password may still open: the password page itself, signing out, static files.
PASSWORD_FIRST_EXEMPT = {"auth.password", "auth.logout", "auth.login", "static"}


@bp.before_app_request
def password_first():
    """A user given a one-time password by an administrator sets her own before anything else."""
    if request.endpoint in PASSWORD_FIRST_EXEMPT or request.blueprint == "api":
        return None  # the API signs requests with tokens, not with the session
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("auth.password"))
    return None


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
    headers = {}
    if form.validate_on_submit():
        attempt = ratelimit.signin_attempt(request.remote_addr)  # per source address, whatever the email
        user, locked = (None, False) if attempt.refused else operations.authenticate(
            form.email.data, form.password.data, request.remote_addr)
        if attempt.refused:
            minutes = max(1, math.ceil(attempt.retry_after / 60))
            form.form_errors.append(ngettext(
                "Too many sign-in attempts from your network. Try again in %(num)d minute.",
                "Too many sign-in attempts from your network. Try again in %(num)d minutes.", minutes))
            status, headers = 429, {"Retry-After": str(attempt.retry_after)}
        elif locked:
            minutes = operations.lockout_minutes()
            form.form_errors.append(ngettext("Too many failed attempts. Try again in %(num)d minute.",
                                             "Too many failed attempts. Try again in %(num)d minutes.", minutes))
            status = 429
        elif user is None:
            form.form_errors.append(_("Email or password is wrong."))
            status = 401
        else:
            ratelimit.give_back(attempt)  # only failed attempts use up the source's limit
            session.clear()
            login_user(user)
            session["login_at"] = operations.utc_timestamp()
            if user.must_change_password:
                return redirect(url_for("auth.password"))
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status, headers


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
    user = current_user._get_current_object()
    forced = user.must_change_password
    form = PasswordForm()
    if forced:
        form.current.label.text = _("One-time password")
        form.new.label.text = _("Your new password")
    status = 200
    if form.validate_on_submit():
        try:
            operations.change_password(user, form.current.data, form.new.data)
        except operations.UserError as exc:
            (form.current if exc.field == "current" else form.new).errors.append(exc.message)
            status = 400
        else:
            session.clear()
            if forced:
                # She has just proved both passwords: this session goes on with the new one; any other ended.
                login_user(user)
                session["login_at"] = operations.utc_timestamp()
                flash(_("Your password is set. Use it from now on."))
                return redirect(url_for("dashboard.index"))
            logout_user()
            flash(_("Password changed. Sign in again with the new password."))
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/password.html", form=form, forced=forced), status
