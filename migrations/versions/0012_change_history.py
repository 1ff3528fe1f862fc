"""change history: corrected values of children and enrolments, the fields an audit event names, merged codes

Revision ID: 0012_change_history
Revises: 0011_record_keys
Create Date: 2026-12-06 22:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_change_history'
down_revision = '0011_record_keys'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'record_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('child_id', sa.Integer(), nullable=False),
        sa.Column('object_type', sa.String(length=20), nullable=False),
        sa.Column('object_id', sa.Integer(), nullable=False),
        sa.Column('field', sa.String(length=40), nullable=False),
        sa.Column('old_value', sa.String(length=200), nullable=True),
        sa.Column('new_value', sa.String(length=200), nullable=True),
        sa.Column('changed_by_id', sa.Integer(), nullable=True),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_record_change_child_id_child'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['changed_by_id'], ['user.id'], name=op.f('fk_record_change_changed_by_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_record_change')),
    )
    op.create_index('ix_record_change_child_at', 'record_change', ['child_id', 'changed_at'], unique=False)
    op.create_index('ix_record_change_object', 'record_change', ['object_type', 'object_id'], unique=False)
    op.create_table(
        'merged_code',
        sa.Column('code', sa.String(length=12), nullable=False),
        sa.Column('child_id', sa.Integer(), nullable=False),
        sa.Column('merged_at', sa.DateTime(), nullable=False),
        sa.Column('merged_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_merged_code_child_id_child'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['merged_by_id'], ['user.id'], name=op.f('fk_merged_code_merged_by_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_merged_code')),
    )
    op.create_index(op.f('ix_merged_code_child_id'), 'merged_code', ['child_id'], unique=False)
    # A nullable column: SQLite adds it in place (no rebuild of a table others point to).
    op.add_column('audit_event', sa.Column('fields', sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_event') as batch:
        batch.drop_column('fields')
    op.drop_index(op.f('ix_merged_code_child_id'), table_name='merged_code')
    op.drop_table('merged_code')
    op.drop_index('ix_record_change_object', table_name='record_change')
    op.drop_index('ix_record_change_child_at', table_name='record_change')
    op.drop_table('record_change')
