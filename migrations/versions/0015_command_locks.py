"""command locks: one run at a time of a periodic command (the SQLite lock row; PostgreSQL uses advisory locks)

Revision ID: 0015_command_locks
Revises: 0014_school_admin
Create Date: 2026-12-06 22:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_command_locks'
down_revision = '0014_school_admin'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('command_lock',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_command_lock'))
    )


def downgrade():
    op.drop_table('command_lock')
