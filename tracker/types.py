"""Column types shared by the models."""
import enum

import sqlalchemy as sa


def choice(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A string column limited to an enum's values, with the same CHECK on SQLite and PostgreSQL."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        values_callable=lambda e: [m.value for m in e],
        length=max(len(m.value) for m in enum_cls),
    )


class Level(str, enum.Enum):
    primary = "primary"
    secondary = "secondary"


GRADES = {Level.primary: range(1, 9), Level.secondary: range(1, 5)}


class Sex(str, enum.Enum):
    female = "female"
    male = "male"


class UascStatus(str, enum.Enum):
    accompanied = "accompanied"
    separated = "separated"
    unaccompanied = "unaccompanied"


class CentreKind(str, enum.Enum):
    asylum = "asylum"
    reception = "reception"


class ExitReason(str, enum.Enum):
    transferred = "transferred"
    moved_onward = "moved_onward"
    dropped_out = "dropped_out"
    completed = "completed"
    returned_to_origin = "returned_to_origin"
    other = "other"


# The exits that mean the child left Serbia: not dropping out (indicators, flags, the exit form).
LEAVING_SERBIA = (ExitReason.moved_onward, ExitReason.returned_to_origin)

class AttendanceStatus(str, enum.Enum):
    present = "present"
    late = "late"
    absent_excused = "absent_excused"
    absent_unexcused = "absent_unexcused"


class Role(str, enum.Enum):
    admin = "admin"
    liaison = "liaison"
    teacher = "teacher"
    partner = "partner"


class LegalBasis(str, enum.Enum):
    consent = "consent"
    legal_obligation = "legal_obligation"
    public_task = "public_task"
    vital_interests = "vital_interests"
