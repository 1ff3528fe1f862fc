"""school administration: archived schools and classes, ranges of non-school days

Revision ID: 0014_school_admin
Revises: 0013_user_admin
Create Date: 2026-12-06 22:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_school_admin'
down_revision = '0013_user_admin'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('non_school_range',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year_id', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('first_day <= last_day', name=op.f('ck_non_school_range_first_not_after_last')),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_non_school_range_school_id_school'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['year_id'], ['academic_year.id'], name=op.f('fk_non_school_range_year_id_academic_year'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_non_school_range'))
    )
    with op.batch_alter_table('non_school_range', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_non_school_range_year_id'), ['year_id'], unique=False)

    # Nullable columns: SQLite adds them in place (school and school_class are pointed to by other
    # tables, so they are not rebuilt).
    op.add_column('school', sa.Column('archived_at', sa.DateTime(), nullable=True))
    op.add_column('school_class', sa.Column('archived_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('non_school_day', schema=None) as batch_op:
        batch_op.add_column(sa.Column('range_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_non_school_day_range_id'), ['range_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_non_school_day_range_id_non_school_range'), 'non_school_range',
                                    ['range_id'], ['id'], ondelete='CASCADE')


def downgrade():
    with op.batch_alter_table('non_school_day', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_non_school_day_range_id_non_school_range'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_non_school_day_range_id'))
        batch_op.drop_column('range_id')
    with op.batch_alter_table('school_class', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
    with op.batch_alter_table('school', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
    with op.batch_alter_table('non_school_range', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_non_school_range_year_id'))
    op.drop_table('non_school_range')
