"""Read a OneRoster 1.1 CSV zip and check it against the binding before anything is matched.

Everything that is wrong is reported as {file, line, column, message} (lines numbered as a
spreadsheet shows them, the header being line 1); one error refuses the whole import.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass, field

from flask import current_app, has_app_context
from flask_babel import gettext as _

from plugins.oneroster import spec
from tracker.imports.importer import too_large

# The data files tracker reads; the others (gradebook and resources) are checked against the manifest only.
READ = ("orgs", "academicSessions", "courses", "classes", "users", "enrollments", "demographics")
# The files an import cannot do without: classes and what every class row refers to.
NEEDED = ("orgs", "academicSessions", "courses", "classes")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_ERRORS = 500
# What the files inside one zip may unpack to, together (setting ONEROSTER_MAX_UNPACKED_BYTES). A roster of
# a large school is a few megabytes; a deflate bomb of a few hundred kilobytes unpacks to a hundred.
MAX_UNPACKED_BYTES = 40 * 1024 * 1024
MAX_LINE = 1024 * 1024  # characters in one line of a file: far more than any roster row, far less than a bomb
CHUNK = 64 * 1024
IGNORED_ENTRIES = ("__MACOSX/",)


class TooManyErrors(Exception):
    pass


class OverBudget(Exception):
    """The files unpacked so far come to more than the limit."""


class LineTooLong(Exception):
    pass


def unpacked_limit() -> int:
    cfg = current_app.config if has_app_context() else {}
    return int(cfg.get("ONEROSTER_MAX_UNPACKED_BYTES") or MAX_UNPACKED_BYTES)


def declared_size(info: zipfile.ZipInfo) -> int:
    """What the zip says a member unpacks to; it can lie, so reading counts the bytes as well."""
    return info.file_size


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 100 * 1024 else f"{n / 1024:.0f} KB"


class Budget:
    """The unpacked bytes one zip may still give, shared by all its members."""

    def __init__(self, limit: int):
        self.limit, self.used = limit, 0

    def spend(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise OverBudget


class Counted(io.RawIOBase):
    """A member of the zip read in chunks, each chunk's unpacked bytes counted against the budget."""

    def __init__(self, fh, budget: Budget):
        self.fh, self.budget = fh, budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.fh.read(min(len(buffer), CHUNK))
        self.budget.spend(len(data))
        buffer[:len(data)] = data
        return len(data)


def _lines(text: io.TextIOBase):
    """The file's lines, line endings kept (what csv.reader wants), none longer than MAX_LINE."""
    while True:
        line = text.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE:
            raise LineTooLong
        yield line


@dataclass
class Row:
    line: int
    cells: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.cells[column]

    def list(self, column: str) -> list[str]:
        return spec.split_list(self.cells[column])


@dataclass
class Package:
    manifest: dict[str, str] = field(default_factory=dict)     # data file → absent | bulk | delta
    manifest_lines: dict[str, int] = field(default_factory=dict)
    tables: dict[str, list[Row]] = field(default_factory=dict)  # the files read, by name (orgs, users...)
    ids: dict[str, dict[str, Row]] = field(default_factory=dict)  # name → sourcedId → row

    def rows(self, name: str) -> list[Row]:
        return self.tables.get(name, [])

    def get(self, name: str, sourced_id: str) -> Row | None:
        return self.ids.get(name, {}).get(sourced_id)


class Reader:
    def __init__(self, result, *, max_bytes: int, max_rows: int, max_unpacked: int | None = None):
        self.result = result
        self.max_bytes = max_bytes
        self.max_rows = max_rows
        self.limit = max_unpacked if max_unpacked is not None else unpacked_limit()
        self.package = Package()

    def error(self, message: str, file: str | None = None, line: int | None = None, column: str | None = None):
        self.result.error(message, file=file, line=line, column=column)
        if len(self.result.errors) >= MAX_ERRORS:
            raise TooManyErrors

    def read(self, data: bytes) -> Package | None:
        try:
            self._read(data)
        except TooManyErrors:
            self.result.errors.append({"file": None, "line": None, "column": None,
                                       "message": _("Too many errors; the check stopped here.")})
        return self.package if self.result.ok else None

    # The zip and the manifest.

    def _read(self, data: bytes) -> None:
        if len(data) > self.max_bytes:
            self.error(too_large(len(data), self.max_bytes))
            return
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            entries = archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
            self.error(_("The file is not a zip archive. A OneRoster roster is one .zip file holding manifest.csv "
                         "and the other CSV files."))
            return
        known = {spec.MANIFEST} | {spec.file_name(n) for n in spec.DATA_FILES}
        members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in entries:
            name = info.filename
            if info.is_dir() or name.startswith(IGNORED_ENTRIES):
                continue
            if "/" in name or "\\" in name:
                self.error(_("%(name)s is in a folder; OneRoster files are at the top level of the zip.", name=name),
                           file=name)
                continue
            if name not in known:
                self.error(_("%(name)s is not a file of OneRoster 1.1 CSV.", name=name), file=name)
                continue
            if name in members:
                self.error(_("%(name)s is in the zip twice.", name=name), file=name)
                continue
            members[name] = info
            if declared_size(info) > self.limit:
                self.error(self._too_big(), file=name)
                return
            total += declared_size(info)
        if total > self.limit:
            self.error(self._too_big())
            return
        if spec.MANIFEST not in members:
            self.error(_("The zip has no manifest.csv. OneRoster requires it: it lists each file as bulk, delta "
                         "or absent."), file=spec.MANIFEST)
            return
        self.archive, self.budget = archive, Budget(self.limit)
        if not self._manifest(members[spec.MANIFEST]):
            return
        for name in spec.DATA_FILES:
            fname = spec.file_name(name)
            mode = self.package.manifest[name]
            line = self.package.manifest_lines[name]
            if mode == "absent":
                if fname in members:
                    self.error(_("manifest.csv marks %(file)s absent, but the zip holds it.", file=fname),
                               file=spec.MANIFEST, line=line, column="value")
                elif name in NEEDED:
                    self.error(_("tracker needs %(file)s to import classes; the manifest marks it absent.",
                                 file=fname), file=spec.MANIFEST, line=line, column="value")
                continue
            if fname not in members:
                self.error(_("manifest.csv lists %(file)s as %(mode)s, but the zip has no %(file)s.", file=fname,
                             mode=mode), file=spec.MANIFEST, line=line, column="value")
                continue
            if name not in READ:
                continue  # gradebook and resource files: not imported
            if mode == "delta":
                self.error(_("tracker imports whole rosters (bulk files) only; %(file)s is marked delta. Export the "
                             "whole roster from the school system.", file=fname),
                           file=spec.MANIFEST, line=line, column="value")
                continue
            rows = self._table(name, members[fname])
            if rows is not None:
                self.package.tables[name] = rows
        if self.result.ok:
            for name, rows in self.package.tables.items():
                self._check_rows(name, rows)
        if self.result.ok:
            self._check_references()

    def _too_big(self) -> str:
        return _("The files in the zip unpack to more than %(limit)s; tracker reads at most %(limit)s from one "
                 "roster. Export a smaller roster, one school year for example.", limit=_megabytes(self.limit))

    def _records(self, fname: str, info: zipfile.ZipInfo):
        """(line, cells) of a CSV file in the zip, the header first; None after reporting why it cannot be read.

        The member is read as a stream, its unpacked bytes counted against the zip's budget, so a file that
        unpacks to far more than it says is stopped as soon as it passes the limit.
        """
        out = []
        reader = None
        try:
            with self.archive.open(info) as fh:
                text = io.TextIOWrapper(io.BufferedReader(Counted(fh, self.budget), CHUNK), encoding="utf-8-sig",
                                        newline="")
                reader = csv.reader(_lines(text), strict=True)
                last = 0
                for record in reader:
                    line, last = last + 1, reader.line_num
                    if not record:
                        continue  # a blank line is not a row
                    out.append((line, record))
                    if len(out) > self.max_rows + 1:
                        self.error(_("%(file)s has more than %(n)d rows.", file=fname, n=self.max_rows), file=fname)
                        return None
        except OverBudget:
            self.error(self._too_big(), file=fname)
            return None
        except LineTooLong:
            self.error(_("The line is longer than %(n)d characters.", n=MAX_LINE), file=fname,
                       line=(reader.line_num + 1) if reader else 1)
            return None
        except UnicodeDecodeError:
            self.error(_("%(file)s is not UTF-8 text (the first wrong byte is number %(n)d).", file=fname,
                         n=self._first_bad_byte(info)), file=fname)
            return None
        except csv.Error as exc:
            self.error(_("The line cannot be read as CSV: %(why)s.", why=str(exc)), file=fname,
                       line=reader.line_num if reader else None)
            return None
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
            self.error(_("%(name)s cannot be unpacked: %(why)s.", name=info.filename, why=str(exc)),
                       file=info.filename)
            return None
        return out

    def _first_bad_byte(self, info: zipfile.ZipInfo) -> int:
        """The position (from 1) of the first byte that is not UTF-8, read again in chunks."""
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        with self.archive.open(info) as fh:
            raw = Counted(fh, Budget(self.limit))
            while True:
                chunk = raw.read(CHUNK)
                pending = decoder.getstate()[0]
                try:
                    decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:
                    return offset - len(pending) + exc.start + 1
                if not chunk:
                    return offset + 1
                offset += len(chunk)

    def _manifest(self, info: zipfile.ZipInfo) -> bool:
        fname = spec.MANIFEST
        records = self._records(fname, info)
        if records is None:
            return False
        if not records or tuple(records[0][1]) != spec.MANIFEST_HEADER:
            self.error(_("The header of %(file)s must be exactly “%(expected)s”; it is “%(actual)s”.", file=fname,
                         expected=",".join(spec.MANIFEST_HEADER),
                         actual=",".join(records[0][1]) if records else ""), file=fname, line=1)
            return False
        props: dict[str, tuple[str, int]] = {}
        for line, record in records[1:]:
            if len(record) != 2:
                self.error(_("%(found)d cells where the header has %(expected)d.", found=len(record), expected=2),
                           file=fname, line=line)
                continue
            name, value = record
            if name in props:
                self.error(_("%(name)s is also on line %(n)d.", name=name, n=props[name][1]), file=fname, line=line,
                           column="propertyName")
                continue
            props[name] = (value, line)
        if not self.result.ok:
            return False
        version = props.get("oneroster.version")
        if version is None:
            self.error(_("manifest.csv has no oneroster.version row."), file=fname, column="propertyName")
        elif version[0] != spec.ONEROSTER_VERSION:
            self.error(_("This is OneRoster %(version)s; tracker reads OneRoster 1.1 CSV files.",
                         version=version[0] or "?"), file=fname, line=version[1], column="value")
        if "manifest.version" not in props:
            self.error(_("manifest.csv has no manifest.version row."), file=fname, column="propertyName")
        for name in spec.DATA_FILES:
            found = props.get(f"file.{name}")
            if found is None:
                self.error(_("manifest.csv has no file.%(name)s row; every file is listed as bulk, delta or absent.",
                             name=name), file=fname, column="propertyName")
                continue
            value, line = found
            if value not in spec.MANIFEST_VALUES:
                self.error(_("“%(value)s” is not one of %(values)s.", value=value,
                             values=", ".join(spec.MANIFEST_VALUES)), file=fname, line=line, column="value")
                continue
            self.package.manifest[name] = value
            self.package.manifest_lines[name] = line
        return self.result.ok

    # Each data file: header, cells.

    def _table(self, name: str, info: zipfile.ZipInfo) -> list[Row] | None:
        fname = spec.file_name(name)
        records = self._records(fname, info)
        if records is None:
            return None
        expected = spec.HEADERS[name]
        header = records[0][1] if records else []
        extra = header[len(expected):]
        if (tuple(header[:len(expected)]) != expected or len(set(header)) != len(header)
                or any(not c.startswith("metadata.") for c in extra)):
            wrong = next((e for e, a in zip(expected, header) if e != a),
                         expected[len(header)] if len(header) < len(expected) else None)
            self.error(_("The header of %(file)s must be exactly “%(expected)s” (extension columns named "
                         "metadata.… may follow); it is “%(actual)s”.", file=fname, expected=",".join(expected),
                         actual=",".join(header)), file=fname, line=1, column=wrong)
            return None
        rows = []
        width = len(header)
        for line, record in records[1:]:
            if len(record) != width:
                self.error(_("%(found)d cells where the header has %(expected)d.", found=len(record),
                             expected=width), file=fname, line=line)
                continue
            bad = False
            for column, cell in zip(header, record):
                if CONTROL.search(cell):
                    self.error(_("Contains a line break or another control character."), file=fname, line=line,
                               column=column)
                    bad = True
            if not bad:
                rows.append(Row(line, dict(zip(expected, record))))
        if len(records) == 1:
            self.error(_("%(file)s has a header but no rows. A file without rows is left out of the zip and marked "
                         "absent in manifest.csv.", file=fname), file=fname)
        return rows

    def _check_rows(self, name: str, rows: list[Row]) -> None:
        fname = spec.file_name(name)
        required = spec.REQUIRED[name]
        enums = spec.ENUMS.get(name, {})
        dates = spec.DATES.get(name, ())
        seen: dict[str, int] = {}
        ids: dict[str, Row] = {}
        for row in rows:
            err = lambda column, message: self.error(message, file=fname, line=row.line, column=column)  # noqa: E731
            status = row["status"]
            if status == "tobedeleted":
                err("status", _("Only delta files delete records; in a bulk file status is blank."))
            elif status and status != "active":
                err("status", _("“%(value)s” is not one of %(values)s.", value=status,
                                values=", ".join(spec.STATUSES)))
            modified = row["dateLastModified"]
            if modified and spec.parse_date_time(modified) is None:
                err("dateLastModified", _("“%(value)s” is not a date and time written as YYYY-MM-DDTHH:MM:SS.sssZ "
                                          "(UTC).", value=modified))
            for column in required:
                if row[column] == "":
                    err(column, _("Required."))
            for column, allowed in enums.items():
                value = row[column]
                if value and value not in allowed:
                    err(column, _("“%(value)s” is not one of %(values)s.", value=value, values=", ".join(allowed)))
            for column in dates:
                value = row[column]
                if value and spec.parse_date(value) is None:
                    err(column, _("“%(value)s” is not a date; write it as YYYY-MM-DD.", value=value))
            if "grades" in row.cells:
                for grade in row.list("grades"):
                    if grade not in spec.CEDS_GRADES:
                        err("grades", _("“%(value)s” is not a CEDS grade (%(values)s).", value=grade,
                                        values=", ".join(spec.CEDS_GRADES)))
            sourced_id = row["sourcedId"]
            if sourced_id:
                if sourced_id in seen:
                    err("sourcedId", _("The sourcedId “%(id)s” is also on line %(n)d.", id=sourced_id,
                                       n=seen[sourced_id]))
                else:
                    seen[sourced_id] = row.line
                    ids[sourced_id] = row
        self.package.ids[name] = ids
        check = getattr(self, f"_check_{name}", None)
        if check is not None:
            check(rows)

    def _span(self, fname: str, row: Row, first: str, last: str) -> None:
        a, b = spec.parse_date(row[first]), spec.parse_date(row[last])
        if a and b and b < a:
            self.error(_("%(last)s is before %(first)s.", last=last, first=first), file=fname, line=row.line,
                       column=last)

    def _check_academicSessions(self, rows: list[Row]) -> None:  # noqa: N802 - named after the file
        for row in rows:
            if row["schoolYear"] and not spec.SCHOOL_YEAR.match(row["schoolYear"]):
                self.error(_("“%(value)s” is not a year; schoolYear is the four-digit year in which the school year "
                             "ends.", value=row["schoolYear"]), file="academicSessions.csv", line=row.line,
                           column="schoolYear")
            self._span("academicSessions.csv", row, "startDate", "endDate")

    def _check_enrollments(self, rows: list[Row]) -> None:
        primary_teacher: dict[str, int] = {}
        for row in rows:
            self._span("enrollments.csv", row, "beginDate", "endDate")
            if row["primary"] == "true":
                if row["role"] != "teacher":
                    self.error(_("Only a teacher's enrolment may be primary."), file="enrollments.csv",
                               line=row.line, column="primary")
                elif row["classSourcedId"] in primary_teacher:
                    self.error(_("The class already has a primary teacher (line %(n)d).",
                                 n=primary_teacher[row["classSourcedId"]]), file="enrollments.csv", line=row.line,
                               column="primary")
                else:
                    primary_teacher[row["classSourcedId"]] = row.line

    # Every sourcedId a file refers to is defined in the same zip.

    def _check_references(self) -> None:
        p = self.package

        def ref(name, column, target, *, many=False, type_=None):
            fname, tname = spec.file_name(name), spec.file_name(target)
            for row in p.rows(name):
                for value in (row.list(column) if many else [row[column]] if row[column] else []):
                    found = p.get(target, value)
                    if found is None:
                        self.error(_("“%(id)s” is not a sourcedId in %(file)s.", id=value, file=tname),
                                   file=fname, line=row.line, column=column)
                    elif type_ is not None and found["type"] != type_:
                        self.error(_("“%(id)s” in %(file)s is a %(found)s, not a %(type)s.", id=value, file=tname,
                                     found=found["type"], type=type_), file=fname, line=row.line, column=column)

        ref("orgs", "parentSourcedId", "orgs")
        ref("academicSessions", "parentSourcedId", "academicSessions")
        ref("courses", "schoolYearSourcedId", "academicSessions", type_="schoolYear")
        ref("courses", "orgSourcedId", "orgs")
        ref("classes", "courseSourcedId", "courses")
        ref("classes", "schoolSourcedId", "orgs", type_="school")
        ref("classes", "termSourcedIds", "academicSessions", many=True)
        ref("users", "orgSourcedIds", "orgs", many=True)
        ref("users", "agentSourcedIds", "users", many=True)
        ref("enrollments", "classSourcedId", "classes")
        ref("enrollments", "schoolSourcedId", "orgs")
        ref("enrollments", "userSourcedId", "users")
        ref("demographics", "sourcedId", "users")


def read(data: bytes, result, *, max_bytes: int, max_rows: int, max_unpacked: int | None = None) -> Package | None:
    """The checked package, or None after adding to ``result.errors`` everything that is wrong.

    ``max_unpacked``: what the files inside may unpack to together (default: ONEROSTER_MAX_UNPACKED_BYTES).
    """
    return Reader(result, max_bytes=max_bytes, max_rows=max_rows, max_unpacked=max_unpacked).read(data)
