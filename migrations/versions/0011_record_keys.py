"""record keys: a fixed random number per child, for the perturbation of partners' counts

Revision ID: 0011_record_keys
Revises: 0010_login_throttle
Create Date: 2026-12-04 21:50:00
"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0011_record_keys'
down_revision = '0010_login_throttle'
branch_labels = None
depends_on = None

MODULUS = 2 ** 20  # tracker.children.models.RECORD_KEY_MODULUS at the time of this migration
BATCH = 10_000


def upgrade():
    # NOT NULL with a temporary default: SQLite adds such a column in place (a batch rebuild of child
    # would have to drop a table other tables point to).
    op.add_column('child', sa.Column('record_key', sa.Integer(), nullable=False, server_default=sa.text('0')))
    bind = op.get_bind()
    child = sa.table('child', sa.column('id', sa.Integer), sa.column('record_key', sa.Integer))
    ids = [row[0] for row in bind.execute(sa.select(child.c.id).order_by(child.c.id))]
    update = sa.update(child).where(child.c.id == sa.bindparam('child_id')).values(record_key=sa.bindparam('key'))
    for i in range(0, len(ids), BATCH):
        bind.execute(update, [{'child_id': cid, 'key': secrets.randbelow(MODULUS)} for cid in ids[i:i + BATCH]])
    if bind.dialect.name != 'sqlite':  # SQLite cannot drop a default in place; the application always sets one
        op.alter_column('child', 'record_key', server_default=None)


def downgrade():
    op.drop_column('child', 'record_key')
