"""OneRoster 1.1 CSV facts: file names, exact headers in order, enumerations, grades (../shared/oneroster-1.1.md)."""
from __future__ import annotations

import datetime as dt
import re

from tracker.types import GRADES, Level

ONEROSTER_VERSION = "1.1"
MANIFEST_VERSION = "1.0"
MANIFEST = "manifest.csv"
MANIFEST_HEADER = ("propertyName", "value")

# Every data file of the 1.1 CSV binding, in the order the manifest lists them.
DATA_FILES = ("academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
              "demographics", "enrollments", "lineItems", "orgs", "resources", "results", "users")

HEADERS: dict[str, tuple[str, ...]] = {
    "academicSessions": ("sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
                         "parentSourcedId", "schoolYear"),
    "orgs": ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"),
    "courses": ("sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode", "grades",
                "orgSourcedId", "subjects", "subjectCodes"),
    "classes": ("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode",
                "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"),
    "users": ("sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username",
              "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
              "agentSourcedIds", "grades", "password"),
    "enrollments": ("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId",
                    "role", "primary", "beginDate", "endDate"),
    "demographics": ("sourcedId", "status", "dateLastModified", "birthDate", "sex", "americanIndianOrAlaskaNative",
                     "asian", "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white",
                     "demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity", "countryOfBirthCode",
                     "stateOfBirthAbbreviation", "cityOfBirth", "publicSchoolResidenceStatus"),
}

# Columns that must not be blank (status and dateLastModified are "required for delta" only).
REQUIRED: dict[str, tuple[str, ...]] = {
    "academicSessions": ("sourcedId", "title", "type", "startDate", "endDate", "schoolYear"),
    "orgs": ("sourcedId", "name", "type"),
    "courses": ("sourcedId", "title", "orgSourcedId"),
    "classes": ("sourcedId", "title", "courseSourcedId", "classType", "schoolSourcedId", "termSourcedIds"),
    "users": ("sourcedId", "enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName"),
    "enrollments": ("sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"),
    "demographics": ("sourcedId",),
}

DATES: dict[str, tuple[str, ...]] = {
    "academicSessions": ("startDate", "endDate"),
    "enrollments": ("beginDate", "endDate"),
    "demographics": ("birthDate",),
}

LISTS = {"orgSourcedIds", "termSourcedIds", "grades", "subjects", "subjectCodes", "periods", "agentSourcedIds",
         "userIds"}

STATUSES = ("active", "tobedeleted")
ORG_TYPES = ("department", "school", "district", "local", "state", "national")
SESSION_TYPES = ("gradingPeriod", "semester", "schoolYear", "term")
CLASS_TYPES = ("homeroom", "scheduled")
USER_ROLES = ("administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher")
ENROLLMENT_ROLES = ("administrator", "proctor", "student", "teacher")
SEXES = ("male", "female")
BOOLEANS = ("true", "false")
RACE_FLAGS = ("americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
              "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces",
              "hispanicOrLatinoEthnicity")
MANIFEST_VALUES = ("absent", "bulk", "delta")
# CEDS v5 Entry Grade Level.
CEDS_GRADES = ("IT", "PR", "PK", "TK", "KG", *(f"{n:02d}" for n in range(1, 14)), "PS", "UG", "Other")

ENUMS: dict[str, dict[str, tuple[str, ...]]] = {
    "orgs": {"type": ORG_TYPES},
    "academicSessions": {"type": SESSION_TYPES},
    "classes": {"classType": CLASS_TYPES},
    "users": {"role": USER_ROLES, "enabledUser": BOOLEANS},
    "enrollments": {"role": ENROLLMENT_ROLES, "primary": BOOLEANS},
    "demographics": {"sex": SEXES, **{flag: BOOLEANS for flag in RACE_FLAGS}},
}

SCHOOL_YEAR = re.compile(r"\d{4}\Z")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\Z")


def file_name(name: str) -> str:
    return f"{name}.csv"


def parse_date(text: str) -> dt.date | None:
    """A date written YYYY-MM-DD, or None."""
    if DATE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return None
    return None


def parse_date_time(text: str) -> dt.datetime | None:
    """A dateLastModified written YYYY-MM-DDTHH:MM:SS.sssZ (UTC), or None."""
    if DATE_TIME.match(text):
        try:
            return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
        except ValueError:
            return None
    return None


def split_list(text: str) -> list[str]:
    """The values of a multi-valued cell ("05,06"); blank: none."""
    return [v.strip() for v in text.split(",") if v.strip()] if text else []


# tracker's levels and grades as CEDS grades: primary 1-8 are 01-08, secondary 1-4 are 09-12.
def ceds_grade(level: Level | str, grade: int) -> str:
    level = Level(level)
    return f"{grade:02d}" if level == Level.primary else f"{grade + 8:02d}"


def tracker_grade(ceds: str) -> tuple[Level, int] | None:
    """(level, grade) of a CEDS grade 01-12, or None for any other grade."""
    if re.fullmatch(r"\d{2}", ceds or ""):
        n = int(ceds)
        if n in GRADES[Level.primary]:
            return Level.primary, n
        if n - 8 in GRADES[Level.secondary]:
            return Level.secondary, n - 8
    return None


def school_year(last_day: dt.date) -> str:
    """The schoolYear of an academic year: the year in which it ends (2025/26 → 2026)."""
    return f"{last_day.year:04d}"


# sourcedIds, from tracker's stable keys.
def year_id(year) -> str:
    return f"ay-{year.id}"


def course_id(school_code: str, level: Level | str, grade: int) -> str:
    return f"course-{school_code}-{Level(level).value}-{grade}"


def class_id(school_class) -> str:
    return f"class-{school_class.id}"


def teacher_id(user) -> str:
    return f"user-{user.id}"


def student_enrollment_id(enrolment) -> str:
    return f"enr-{enrolment.id}"


def teacher_enrollment_id(school_class, user) -> str:
    return f"enr-class-{school_class.id}-user-{user.id}"
