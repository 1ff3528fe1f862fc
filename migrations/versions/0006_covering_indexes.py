"""covering indexes for the indicators

The child's status, centre stay and enrolment on a date are read from an index alone; a
school's own days off are found by school.

Revision ID: 0006_covering_indexes
Revises: 0005_flags
Create Date: 2026-11-23 16:32:28.989153
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_covering_indexes'
down_revision = '0005_flags'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('centre_stay', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_centre_stay_child_id'))
        batch_op.create_index('ix_centre_stay_child_dates', ['child_id', 'start_date', 'end_date'], unique=False)

    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolment_child_id'))
        batch_op.create_index('ix_enrolment_child_dates', ['child_id', 'start_date', 'end_date'], unique=False)

    with op.batch_alter_table('non_school_day', schema=None) as batch_op:
        batch_op.create_index('ix_non_school_day_school_date', ['school_id', 'date'], unique=False)

    with op.batch_alter_table('uasc_period', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_uasc_period_child_id'))
        batch_op.create_index('ix_uasc_period_child_dates', ['child_id', 'start_date', 'end_date', 'status'], unique=False)



def downgrade():
    with op.batch_alter_table('uasc_period', schema=None) as batch_op:
        batch_op.drop_index('ix_uasc_period_child_dates')
        batch_op.create_index(batch_op.f('ix_uasc_period_child_id'), ['child_id'], unique=False)

    with op.batch_alter_table('non_school_day', schema=None) as batch_op:
        batch_op.drop_index('ix_non_school_day_school_date')

    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_index('ix_enrolment_child_dates')
        batch_op.create_index(batch_op.f('ix_enrolment_child_id'), ['child_id'], unique=False)

    with op.batch_alter_table('centre_stay', schema=None) as batch_op:
        batch_op.drop_index('ix_centre_stay_child_dates')
        batch_op.create_index(batch_op.f('ix_centre_stay_child_id'), ['child_id'], unique=False)

