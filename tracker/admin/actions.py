"""Translated labels of the audit log's actions and record types; an unknown key is shown as it is."""
from flask_babel import lazy_gettext as _l

ACTIONS = {
    "login": _l("Signed in"),
    "login_failed": _l("Sign-in failed"),
    "login_locked": _l("Sign-in refused: too many failed attempts"),
    "password_changed": _l("Password changed"),
    "password_reset": _l("One-time password given"),
    "user_created": _l("User created"),
    "user_renamed": _l("User's name changed"),
    "user_role_changed": _l("User's role changed"),
    "user_assignments_changed": _l("User's schools or classes changed"),
    "user_deactivated": _l("User deactivated"),
    "user_reactivated": _l("User reactivated"),
    "api_token_issued": _l("API token issued"),
    "api_token_revoked": _l("API token revoked"),
    "child_registered": _l("Child registered"),
    "child_viewed": _l("Child's record opened"),
    "duplicate_check": _l("Checked for duplicates"),
    "centre_changed": _l("Centre changed"),
    "uasc_changed": _l("UASC status changed"),
    "enrolled": _l("Enrolled in a school"),
    "transferred": _l("Transferred"),
    "exited": _l("Exit recorded"),
    "register_saved": _l("Register saved"),
    "attendance_imported": _l("Attendance imported"),
    "imported": _l("File imported"),
    "assessment_saved": _l("Assessment saved"),
    "assessment_viewed": _l("Assessment opened"),
    "assessment_type_enabled": _l("Assessment form switched on"),
    "assessment_type_disabled": _l("Assessment form switched off"),
    "flag_acknowledged": _l("Flag acknowledged"),
    "flag_resolved": _l("Flag resolved"),
    "follow_up_logged": _l("Follow-up recorded"),
    "integration_enabled": _l("Integration switched on"),
    "integration_disabled": _l("Integration switched off"),
    "integration_import": _l("Integration import"),
    "integration_export": _l("Integration export"),
    "integration_linked": _l("Linked to the school's system"),
    "integration_matched": _l("Matched with the school's system"),
    "report_exported": _l("Report downloaded"),
    "classes_added": _l("Classes added"),
    "non_school_day_added": _l("Day off added"),
    "non_school_day_removed": _l("Day off removed"),
    "year_added": _l("School year added"),
    "demo_loaded": _l("Demo data loaded"),
}

OBJECT_TYPES = {
    "child": _l("Child"),
    "user": _l("User"),
    "enrolment": _l("Enrolment"),
    "school": _l("School"),
    "school_class": _l("Class"),
    "flag": _l("Flag"),
    "assessment": _l("Assessment"),
    "attendance_record": _l("Attendance"),
    "api_token": _l("API token"),
    "report": _l("Report"),
    "academic_year": _l("School year"),
    "non_school_day": _l("Day off"),
    "demo": _l("Demo data"),
}


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def object_type_label(object_type: str) -> str:
    return str(OBJECT_TYPES.get(object_type, object_type))
