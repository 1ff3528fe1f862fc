"""A school's register layout: the settings form, and the checked mapping an import works from.

The settings are stored as the form's fields, all strings (``SchoolIntegration.settings``).
``parse_settings`` checks them again at import time (settings may come from elsewhere than the
form) and turns them into a :class:`Mapping`; the form uses the same checks, so what the form
accepts is what an import accepts.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from tracker.children.forms import NoControlCharacters, Strip
from tracker.labels import options
from tracker.types import AttendanceStatus

# "absent" is not a tracker status: the excused column decides between the two kinds of absence.
ABSENT = "absent"
STATUSES = tuple(s.value for s in AttendanceStatus)
TARGETS = STATUSES + (ABSENT,)
DELIMITERS = {";": ";", ",": ",", "tab": "\t", "\t": "\t"}
ENCODINGS = ("utf-8", "utf-8-sig", "windows-1250", "windows-1251")
DEFAULT_DATE_FORMAT = "%d.%m.%Y"
DEFAULT_STATUS_MAP = "prisutan=present, kasni=late, opravdano=absent_excused, neopravdano=absent_unexcused"
SAMPLE_DAY = dt.date(2025, 11, 23)  # day > 12, so a format missing the day or the month shows
COLUMN_FIELDS = ("column_child", "column_given_name", "column_family_name", "column_date", "column_status",
                 "column_excused")
FIELDS = ("delimiter", "encoding") + COLUMN_FIELDS[:4] + ("date_format", "column_status", "status_map",
                                                          "column_excused", "excused_yes", "excused_no")


def word(text: str) -> str:
    """A status word or column name as compared: NFC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFC", text or "").casefold().split())


class SettingsProblem(Exception):
    """The settings cannot be used; ``problems`` are (field name, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(m for _f, m in problems))
        self.problems = problems


def parse_status_map(text: str) -> dict[str, str]:
    """``"prisutan=present, kasni=late"`` → ``{"prisutan": "present", "kasni": "late"}`` (words normalised).

    Entries are separated by commas, semicolons or line breaks. Raises ValueError with a message."""
    out: dict[str, str] = {}
    entries = [e.strip() for e in re.split(r"[,;\n\r]+", text or "")]
    entries = [e for e in entries if e]
    if not entries:
        raise ValueError(_("List the register's words, e.g. %(example)s.", example=DEFAULT_STATUS_MAP))
    for entry in entries:
        if "=" not in entry:
            raise ValueError(_("“%(entry)s” has no “=”: write each as word=status, e.g. prisutan=present.",
                               entry=entry))
        left, _sep, right = entry.partition("=")
        key, status = word(left), right.strip()
        if not key:
            raise ValueError(_("A word is missing before “=%(status)s”.", status=status))
        if status not in TARGETS:
            raise ValueError(_("“%(value)s” is not one of %(values)s.", value=status, values=", ".join(TARGETS)))
        if key in out:
            raise ValueError(_("“%(word)s” is listed twice.", word=left.strip()))
        out[key] = status
    return out


def parse_words(text: str) -> set[str]:
    return {word(w) for w in re.split(r"[,;]+", text or "") if word(w)}


def check_date_format(fmt: str) -> None:
    """Raises ValueError unless ``fmt`` writes and reads back a day, a month and a year."""
    try:
        ok = fmt and dt.datetime.strptime(SAMPLE_DAY.strftime(fmt), fmt).date() == SAMPLE_DAY
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(_("“%(value)s” is not a date format: write it with %%d (day), %%m (month) and %%Y (year), "
                           "e.g. %%d.%%m.%%Y.", value=fmt))


def example_date(fmt: str) -> str:
    return SAMPLE_DAY.strftime(fmt)


@dataclass
class Mapping:
    delimiter: str
    encoding: str
    column_date: str
    date_format: str
    column_status: str
    statuses: dict[str, str]           # normalised word → tracker status or "absent"
    words: list[str]                   # the words as the admin wrote them, for messages
    column_child: str = ""
    column_given_name: str = ""
    column_family_name: str = ""
    column_excused: str = ""
    excused_yes: set[str] = field(default_factory=set)
    excused_no: set[str] = field(default_factory=set)

    @property
    def by_code(self) -> bool:
        return bool(self.column_child)

    def columns(self) -> dict[str, str]:
        """Role → the column name in the school's header, for the columns this layout reads."""
        roles = {"date": self.column_date, "status": self.column_status}
        if self.by_code:
            roles["child"] = self.column_child
        else:
            roles["given_name"], roles["family_name"] = self.column_given_name, self.column_family_name
        if self.column_excused:
            roles["excused"] = self.column_excused
        return roles

    @property
    def child_column(self) -> str:
        """How errors about the child name the column."""
        return self.column_child or f"{self.column_given_name} / {self.column_family_name}"


def parse_settings(settings: dict | None) -> Mapping:
    """The checked mapping, or SettingsProblem listing every problem (field, message)."""
    settings = settings or {}
    problems: list[tuple[str, str]] = []

    def text(name: str, default: str = "") -> str:
        value = settings.get(name)
        return value.strip() if isinstance(value, str) else default

    def required(name: str) -> str:
        value = text(name)
        if not value:
            problems.append((name, _("Required.")))
        return value

    raw_delimiter = settings.get("delimiter") if isinstance(settings.get("delimiter"), str) else ";"
    delimiter = DELIMITERS.get(raw_delimiter or ";")
    if delimiter is None:
        problems.append(("delimiter", _("“%(value)s” is not one of %(values)s.", value=raw_delimiter,
                                         values="; , tab")))
    encoding = text("encoding", "utf-8").lower() or "utf-8"
    if encoding not in ENCODINGS:
        problems.append(("encoding", _("“%(value)s” is not one of %(values)s.", value=encoding,
                                       values=", ".join(ENCODINGS))))
    child, given, family = text("column_child"), text("column_given_name"), text("column_family_name")
    if not child:
        if not given and not family:
            problems.append(("column_child", _("Give the column with the child code, or both name columns.")))
        elif not given:
            problems.append(("column_given_name", _("Required when matching children by name.")))
        elif not family:
            problems.append(("column_family_name", _("Required when matching children by name.")))
    column_date, column_status = required("column_date"), required("column_status")
    date_format = text("date_format", DEFAULT_DATE_FORMAT) or DEFAULT_DATE_FORMAT
    try:
        check_date_format(date_format)
    except ValueError as exc:
        problems.append(("date_format", str(exc)))
    statuses: dict[str, str] = {}
    words: list[str] = []
    try:
        statuses = parse_status_map(text("status_map"))
        words = [e.partition("=")[0].strip() for e in re.split(r"[,;\n\r]+", text("status_map")) if e.strip()]
    except ValueError as exc:
        problems.append(("status_map", str(exc)))
    excused = text("column_excused")
    yes, no = parse_words(text("excused_yes", "da")), parse_words(text("excused_no", "ne"))
    if ABSENT in statuses.values() and not excused:
        problems.append(("column_excused", _("The word for “absent” needs the column that says whether an absence "
                                             "is excused.")))
    if excused:
        if not yes:
            problems.append(("excused_yes", _("Required.")))
        if not no:
            problems.append(("excused_no", _("Required.")))
        if yes & no:
            problems.append(("excused_no", _("“%(word)s” cannot mean both excused and unexcused.",
                                             word=sorted(yes & no)[0])))
    used: dict[str, str] = {}
    for name, value in (("column_child", child), ("column_given_name", "" if child else given),
                        ("column_family_name", "" if child else family), ("column_date", column_date),
                        ("column_status", column_status), ("column_excused", excused)):
        if value and word(value) in used:
            problems.append((name, _("The column “%(name)s” is already used for another field.", name=value)))
        elif value:
            used[word(value)] = name
    if problems:
        raise SettingsProblem(problems)
    return Mapping(delimiter=delimiter, encoding=encoding, column_date=column_date, date_format=date_format,
                   column_status=column_status, statuses=statuses, words=words, column_child=child,
                   column_given_name="" if child else given, column_family_name="" if child else family,
                   column_excused=excused, excused_yes=yes, excused_no=no)


# DataRequired, not InputRequired: settings given on the command line (tracker integrations enable --setting)
# leave out what keeps its default, and the form must then use the default.
def _column(label, description, required=False):
    validators = [DataRequired()] if required else [Optional()]
    return StringField(label, description=description, filters=[Strip()],
                       validators=validators + [Length(max=100), NoControlCharacters()])


class SchoolRegisterSettingsForm(FlaskForm):
    """How one school's register file is laid out. The field names are the keys of the stored settings."""

    delimiter = SelectField(_l("Column separator"), default=";",
                            choices=options([(";", _l("Semicolon (;)")), (",", _l("Comma (,)")), ("tab", _l("Tab"))]))
    encoding = SelectField(_l("Encoding"), default="utf-8",
                           choices=options([("utf-8", "UTF-8"),
                                            ("windows-1250", _l("Windows-1250 (older Excel, Serbian Latin)")),
                                            ("windows-1251", _l("Windows-1251 (older Excel, Serbian Cyrillic)"))]))
    column_child = _column(_l("Column with the child code"),
                           _l("The column holding tracker's child code. Leave it empty to match children by name."))
    column_given_name = _column(_l("Column with the given name"),
                                _l("For example “Ime”. Used when there is no child code column."))
    column_family_name = _column(_l("Column with the family name"),
                                 _l("For example “Prezime”. Used when there is no child code column."))
    column_date = _column(_l("Column with the date"), _l("For example “Datum”."), required=True)
    date_format = StringField(_l("Date format"), default=DEFAULT_DATE_FORMAT, filters=[Strip()],
                              description=_l("%(day)s day, %(month)s month, %(year)s year: %(example)s reads "
                                             "03.11.2025. (a trailing dot is accepted).", day="%d", month="%m",
                                             year="%Y", example="%d.%m.%Y"),
                              validators=[DataRequired(), Length(max=40), NoControlCharacters()])
    column_status = _column(_l("Column with the attendance"), _l("For example “Status”."), required=True)
    status_map = TextAreaField(_l("The register's words"), default=DEFAULT_STATUS_MAP, filters=[Strip()],
                               description=_l("word=status, separated by commas. Statuses: present, late, "
                                              "absent_excused, absent_unexcused, and absent when a separate "
                                              "column says whether the absence is excused."),
                               validators=[DataRequired(), Length(max=2000), NoControlCharacters(multiline=True)])
    column_excused = _column(_l("Column saying whether an absence is excused (optional)"),
                             _l("For example “Opravdano”. Read only for rows whose word means absent."))
    excused_yes = StringField(_l("Words for excused"), default="da", filters=[Strip()],
                              validators=[Optional(), Length(max=200), NoControlCharacters()])
    excused_no = StringField(_l("Words for unexcused"), default="ne", filters=[Strip()],
                             validators=[Optional(), Length(max=200), NoControlCharacters()])

    def to_settings(self) -> dict:
        """The settings to store: every field as typed (strings)."""
        return {name: (self[name].data or "") for name in FIELDS}

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        try:
            parse_settings(self.to_settings())
        except SettingsProblem as exc:
            for name, message in exc.problems:
                if not self[name].errors:  # one message per field: the field's own check comes first
                    self[name].errors = list(self[name].errors) + [message]
            ok = False
        return ok
