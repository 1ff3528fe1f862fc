"""integrations: enabled per school, runs, what waits for a person, identifiers in other systems

Revision ID: 0009_integrations
Revises: 0008_assessments
Create Date: 2026-11-23 17:29:17.579296
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_integrations'
down_revision = '0008_assessments'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('integration_pending',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=50), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('candidates', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['user.id'], name=op.f('fk_integration_pending_resolved_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_integration_pending_school_id_school'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_pending')),
    sa.UniqueConstraint('school_id', 'slug', 'kind', 'key', name='uq_integration_pending_key')
    )
    with op.batch_alter_table('integration_pending', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_pending_school_id'), ['school_id'], unique=False)

    op.create_table('integration_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=50), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("direction IN ('import', 'export')", name=op.f('ck_integration_run_direction_known')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_integration_run_school_id_school'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_integration_run_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_run'))
    )
    with op.batch_alter_table('integration_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_run_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_integration_run_school_id'), ['school_id'], unique=False)

    op.create_table('school_integration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=50), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('allowed_fields', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_school_integration_school_id_school'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_school_integration_updated_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_integration')),
    sa.UniqueConstraint('school_id', 'slug', name='uq_school_integration_school_slug')
    )
    with op.batch_alter_table('school_integration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_school_integration_school_id'), ['school_id'], unique=False)

    op.create_table('external_id',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('system', sa.String(length=100), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_external_id_child_id_child'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_id')),
    sa.UniqueConstraint('system', 'value', name='uq_external_id_system_value')
    )
    with op.batch_alter_table('external_id', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_id_child_id'), ['child_id'], unique=False)



def downgrade():
    with op.batch_alter_table('external_id', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_id_child_id'))

    op.drop_table('external_id')
    with op.batch_alter_table('school_integration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_school_integration_school_id'))

    op.drop_table('school_integration')
    with op.batch_alter_table('integration_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_run_school_id'))
        batch_op.drop_index(batch_op.f('ix_integration_run_at'))

    op.drop_table('integration_run')
    with op.batch_alter_table('integration_pending', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_pending_school_id'))

    op.drop_table('integration_pending')
