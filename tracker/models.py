"""Every model, imported in one place for Alembic and the shell."""
from tracker.api.models import ApiToken  # noqa: F401 - personal API tokens
from tracker.assessments.models import (Assessment, AssessmentRevision, AssessmentRound,  # noqa: F401
                                        AssessmentTypeSetting)
from tracker.attendance.models import AttendanceChange, AttendanceMonth, AttendanceRecord
from tracker.audit.models import AuditEvent
from tracker.auth.models import LoginAttempt, LoginThrottle, User, user_schools
from tracker.integrations.models import ExternalId, IntegrationPending, IntegrationRun, SchoolIntegration  # noqa: F401
from tracker.children.models import CentreStay, Child, Guardian, MergedCode, RecordChange, UascPeriod
from tracker.enrolment.models import Enrolment
from tracker.flags.models import Flag, FollowUp
from tracker.locks import CommandLock  # noqa: F401 - periodic commands running now (SQLite)
from tracker.ratelimit.models import RateLimit  # noqa: F401 - requests counted per key and window
from tracker.schools.models import (AcademicYear, CalendarDay, CalendarState, Centre, NonSchoolDay, NonSchoolRange,
                                    School, SchoolClass, class_teachers)

__all__ = [
    "ApiToken", "Assessment", "AssessmentRevision", "AssessmentRound", "AssessmentTypeSetting",
    "AcademicYear", "AttendanceChange", "CalendarDay", "CalendarState", "AttendanceMonth", "AttendanceRecord", "AuditEvent", "Centre", "CentreStay", "Child", "Enrolment", "Flag", "FollowUp", "Guardian",
    "LoginAttempt", "LoginThrottle", "MergedCode", "NonSchoolDay", "NonSchoolRange", "RecordChange", "School",
    "SchoolClass", "UascPeriod", "User", "class_teachers", "user_schools",
]
