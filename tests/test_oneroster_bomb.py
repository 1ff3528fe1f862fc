"""A OneRoster upload that is a deflate bomb is refused without unpacking it into memory."""
from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
import sqlalchemy as sa

from plugins.oneroster import reader, spec
from tests.conftest import PASSWORD, count
from tracker.extensions import db
from tracker.integrations import operations as integration_ops
from tracker.integrations.models import IntegrationPending
from tracker.models import Child, Enrolment, SchoolClass

MB = 1024 * 1024
BOMB_MB = 30
pytestmark = pytest.mark.usefixtures("production_like_requests")


class Result:
    def __init__(self):
        self.errors = []

    @property
    def ok(self):
        return not self.errors

    def error(self, message, file=None, line=None, column=None):
        self.errors.append({"file": file, "line": line, "column": column, "message": message})


def manifest() -> str:
    rows = ["propertyName,value", f"manifest.version,{spec.MANIFEST_VERSION}",
            f"oneroster.version,{spec.ONEROSTER_VERSION}"]
    rows += [f"file.{name},{'bulk' if name == 'users' else 'absent'}" for name in spec.DATA_FILES]
    return "\r\n".join(rows) + "\r\n"


def bomb(megabytes: int = BOMB_MB) -> bytes:
    """A small zip whose users.csv is a header and then a run of zeros, written in chunks (never held whole)."""
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("manifest.csv", manifest())
        with zf.open("users.csv", "w") as fh:
            fh.write((",".join(spec.HEADERS["users"]) + "\r\n").encode())
            chunk = b"0" * MB
            for _ in range(megabytes):
                fh.write(chunk)
    return body.getvalue()


def read_measured(data: bytes, **limits) -> tuple[Result, int]:
    """Read the zip; the errors and the peak of Python memory allocated meanwhile."""
    result = Result()
    tracemalloc.start()
    try:
        reader.read(data, result, max_bytes=20 * MB, max_rows=200_000, **limits)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def test_the_bomb_is_small_and_unpacks_large():
    data = bomb()
    assert len(data) < 100 * 1024
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.getinfo("users.csv").file_size > BOMB_MB * MB


def test_a_bomb_is_refused_on_its_declared_size_before_anything_is_unpacked(app):
    app.config["ONEROSTER_MAX_UNPACKED_BYTES"] = 1 * MB
    result, peak = read_measured(bomb())
    assert not result.ok
    assert any("unpack to more than 1.0 MB" in e["message"] for e in result.errors), result.errors
    assert peak < 4 * MB, f"{peak / MB:.1f} MB"


def test_a_member_that_unpacks_to_more_than_it_says_is_stopped_while_streaming(app, monkeypatch):
    """The declared size can lie: the bytes are counted as they come out of the decompressor."""
    app.config["ONEROSTER_MAX_UNPACKED_BYTES"] = MB // 2  # under the longest line, so the count stops it
    monkeypatch.setattr(reader, "declared_size", lambda info: 0)
    result, peak = read_measured(bomb())
    [error] = [e for e in result.errors if e["file"] == "users.csv"]  # the others: the files the manifest lacks
    assert "unpack to more than 0.5 MB" in error["message"]
    assert peak < 6 * MB, f"{peak / MB:.1f} MB"


def test_a_bomb_under_the_limit_is_stopped_at_its_first_overlong_line(app):
    """Even within the unpacked limit, a file is read a line at a time, and no roster line is a megabyte."""
    app.config["ONEROSTER_MAX_UNPACKED_BYTES"] = 64 * MB
    result, peak = read_measured(bomb())
    [error] = [e for e in result.errors if e["file"] == "users.csv"]
    assert error["line"] == 2 and "longer than" in error["message"]
    assert peak < 12 * MB, f"{peak / MB:.1f} MB"


def test_the_upload_is_refused_with_a_clear_message_and_nothing_is_written(app, client, world):
    app.config["ONEROSTER_MAX_UNPACKED_BYTES"] = 1 * MB
    integration_ops.enable("oneroster", world.school_a, world.admin)
    db.session.commit()
    before = {m.__name__: count(m) for m in (Child, Enrolment, SchoolClass, IntegrationPending)}
    assert client.post("/login", data={"email": world.liaison_a.email, "password": PASSWORD}).status_code in (302, 303)
    r = client.post(f"/integrations/oneroster/{world.school_a.code}/import",
                    data={"file": (io.BytesIO(bomb()), "roster.zip")})
    assert r.status_code == 400
    assert "unpack to more than 1.0 MB" in r.get_data(as_text=True)
    db.session.rollback()
    assert {m.__name__: count(m) for m in (Child, Enrolment, SchoolClass, IntegrationPending)} == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SchoolClass)) == before["SchoolClass"]


def test_a_file_that_is_not_utf8_names_its_first_wrong_byte(app):
    body = io.BytesIO()
    header = (",".join(spec.HEADERS["users"]) + "\r\n").encode()
    with zipfile.ZipFile(body, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.csv", manifest())
        zf.writestr("users.csv", b"\xef\xbb\xbf" + header + b"x" * 200_000 + b"\xff\r\n")
    result, _peak = read_measured(body.getvalue())
    [error] = [e for e in result.errors if e["file"] == "users.csv"]
    assert f"byte is number {3 + len(header) + 200_000 + 1}" in error["message"]
