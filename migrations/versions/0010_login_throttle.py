"""login throttle: one counter row per email, so parallel sign-ins cannot outrun the lockout

Revision ID: 0010_login_throttle
Revises: 0009_integrations
Create Date: 2026-12-04 18:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_login_throttle'
down_revision = '0009_integrations'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttle',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('email', name=op.f('pk_login_throttle'))
    )


def downgrade():
    op.drop_table('login_throttle')
