"""rate limits: one counter row per key (sign-in source address, API token) and fixed window

Revision ID: 0016_rate_limits
Revises: 0015_command_locks
Create Date: 2026-12-06 22:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_rate_limits'
down_revision = '0015_command_locks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rate_limit',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit'))
    )


def downgrade():
    op.drop_table('rate_limit')
