"""user administration: one-time passwords, last sign-in, and sign-in failures counted per email and source address

Revision ID: 0013_user_admin
Revises: 0012_change_history
Create Date: 2026-12-06 21:55:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_user_admin'
down_revision = '0012_change_history'
branch_labels = None
depends_on = None


def upgrade():
    # Added in place (no batch rebuild: other tables point to "user"); NOT NULL with a temporary default.
    op.add_column('user', sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                    server_default=sa.false()))
    op.add_column('user', sa.Column('last_login_at', sa.DateTime(), nullable=True))
    if op.get_bind().dialect.name != 'sqlite':  # SQLite cannot drop a default in place; the application sets one
        op.alter_column('user', 'must_change_password', server_default=None)
    # The counters only live for the lockout window: the table is made again with its new key, empty.
    op.drop_table('login_throttle')
    op.create_table('login_throttle',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('email', 'source', name=op.f('pk_login_throttle'))
    )


def downgrade():
    op.drop_table('login_throttle')
    op.create_table('login_throttle',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('email', name=op.f('pk_login_throttle'))
    )
    op.drop_column('user', 'last_login_at')
    op.drop_column('user', 'must_change_password')
