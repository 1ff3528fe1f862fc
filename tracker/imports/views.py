"""The import page: choose a kind, upload, see a preview from a dry run, confirm.

Between preview and confirmation the file waits in the instance folder under a random token
kept in the signed session of the user who uploaded it; it is deleted once used, and after an
hour anyway. The confirmation never takes the file, the kind or the user from the client alone.
"""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from tracker.imports.formats import FORMATS
from tracker.imports.forms import KIND_LABELS, ConfirmForm, UploadForm
from tracker.imports.importer import kinds_for, limits, run_import, too_large

bp = Blueprint("imports", __name__, url_prefix="/import")
KEEP_SECONDS = 3600
SESSION_KEY = "import_upload"
MAX_CODES_SHOWN = 50


@bp.before_request
@login_required
def importers_only():
    if not kinds_for(current_user):
        abort(404)


def _render_upload(form: UploadForm, status: int = 200, message: str | None = None):
    if message:
        form.form_errors.append(message)
    kinds = kinds_for(current_user)
    return render_template("imports/index.html", form=form, formats=[(k, FORMATS[k].columns) for k in kinds],
                           labels=KIND_LABELS), status


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(exc):
    if not current_user.is_authenticated or not kinds_for(current_user):
        abort(404)
    limit = min(current_app.config.get("MAX_CONTENT_LENGTH") or limits()[0], limits()[0])
    form = UploadForm(formdata=None, kinds=kinds_for(current_user))
    return _render_upload(form, 413, _("The file is larger than %(limit)s, the most the page accepts. Split it into "
                                       "smaller files.", limit=f"{limit / 1024 / 1024:.1f} MB"))


@bp.route("/", methods=["GET", "POST"])
def index():
    user = current_user._get_current_object()
    form = UploadForm(kinds=kinds_for(user))
    if not form.is_submitted():
        return _render_upload(form)
    if not form.validate():
        return _render_upload(form, 400)
    max_bytes, _rows = limits()
    data = form.file.data.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        return _render_upload(form, 413, too_large(len(data), max_bytes))
    kind = form.kind.data
    result = run_import(kind, data, user=user, dry_run=True)
    if not result.ok and not result.columns:  # the file itself was refused: show why beside the form
        for error in result.errors:
            form.file.errors.append(str(error))
        return _render_upload(form, 400)
    confirm = None
    if result.ok:
        confirm = ConfirmForm(formdata=None, token=_keep(data, user.id, kind), kind=kind)
    return render_template("imports/preview.html", result=result, confirm=confirm, kind_label=KIND_LABELS[kind],
                           filename=(form.file.data.filename or "")[:100]), 200 if result.ok else 400


@bp.route("/confirm", methods=["POST"])
def confirm():
    user = current_user._get_current_object()
    form = ConfirmForm()
    data = _take(form.token.data, form.kind.data, user.id) if form.validate() else None
    if data is None:
        return _render_upload(UploadForm(formdata=None, kinds=kinds_for(user)), 400,
                              _("This preview has expired or was already imported. Upload the file again."))
    kind = form.kind.data
    result = run_import(kind, data, user=user)
    if not result.saved:
        return render_template("imports/preview.html", result=result, confirm=None, kind_label=KIND_LABELS[kind],
                               filename=""), 400
    flash(_("%(kind)s imported: %(summary)s.", kind=KIND_LABELS[kind], summary=result.summary()))
    if result.codes:
        shown = ", ".join(_("line %(n)d: %(code)s", n=line, code=code) for line, code in result.codes[:MAX_CODES_SHOWN])
        more = len(result.codes) - MAX_CODES_SHOWN
        flash(_("New child codes: %(codes)s.", codes=shown) + (" " + _("And %(n)d more.", n=more) if more > 0 else ""))
    return redirect(url_for("imports.index"))


# The uploaded file between preview and confirmation.

def _folder() -> Path:
    folder = Path(current_app.instance_path, "imports")
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _sweep(folder: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in folder.glob("*.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass


def _keep(data: bytes, user_id: int, kind: str) -> str:
    folder = _folder()
    _sweep(folder)
    previous = session.pop(SESSION_KEY, None)
    if previous:
        (folder / f"{previous['token']}.csv").unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(folder / f"{token}.csv", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    session[SESSION_KEY] = {"token": token, "user": user_id, "kind": kind}
    return token


def _take(token: str, kind: str, user_id: int) -> bytes | None:
    """The file kept for this session's user under ``token`` and ``kind``, removed from the folder; or None."""
    pending = session.get(SESSION_KEY)
    if not pending:
        return None
    if (pending["token"], pending["kind"], pending["user"]) != (token, kind, user_id):
        return None
    session.pop(SESSION_KEY, None)
    path = _folder() / f"{pending['token']}.csv"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    path.unlink(missing_ok=True)
    return data
