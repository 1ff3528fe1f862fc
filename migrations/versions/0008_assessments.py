"""assessments: rounds, forms filled per child and round, their earlier versions, switched-off types

Revision ID: 0008_assessments
Revises: 0007_api_tokens
Create Date: 2026-11-23 17:08:42.555557
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_assessments'
down_revision = '0007_api_tokens'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assessment_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('opens', sa.Date(), nullable=False),
    sa.Column('closes', sa.Date(), nullable=False),
    sa.CheckConstraint("kind IN ('baseline', 'midline', 'endline')", name=op.f('ck_assessment_round_kind_known')),
    sa.CheckConstraint('opens <= closes', name=op.f('ck_assessment_round_opens_before_closes')),
    sa.ForeignKeyConstraint(['year_id'], ['academic_year.id'], name=op.f('fk_assessment_round_year_id_academic_year'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_round')),
    sa.UniqueConstraint('year_id', 'kind', name='uq_assessment_round_year_kind')
    )
    with op.batch_alter_table('assessment_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_round_year_id'), ['year_id'], unique=False)

    op.create_table('assessment_type_setting',
    sa.Column('slug', sa.String(length=50), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['changed_by_id'], ['user.id'], name=op.f('fk_assessment_type_setting_changed_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('slug', name=op.f('pk_assessment_type_setting'))
    )
    op.create_table('assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('type_slug', sa.String(length=50), nullable=False),
    sa.Column('type_version', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('band', sa.String(length=30), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'submitted')", name=op.f('ck_assessment_status_known')),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_assessment_child_id_child'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_assessment_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], name=op.f('fk_assessment_enrolment_id_enrolment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['assessment_round.id'], name=op.f('fk_assessment_round_id_assessment_round'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['user.id'], name=op.f('fk_assessment_submitted_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_assessment_updated_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment')),
    sa.UniqueConstraint('child_id', 'round_id', 'type_slug', name='uq_assessment_child_round_type')
    )
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index('ix_assessment_round_type', ['round_id', 'type_slug', 'status'], unique=False)

    op.create_table('assessment_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('band', sa.String(length=30), nullable=True),
    sa.Column('saved_at', sa.DateTime(), nullable=False),
    sa.Column('saved_by_id', sa.Integer(), nullable=True),
    sa.Column('replaced_at', sa.DateTime(), nullable=False),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], name=op.f('fk_assessment_revision_assessment_id_assessment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['user.id'], name=op.f('fk_assessment_revision_replaced_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['saved_by_id'], ['user.id'], name=op.f('fk_assessment_revision_saved_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_revision'))
    )
    with op.batch_alter_table('assessment_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_revision_assessment_id'), ['assessment_id'], unique=False)



def downgrade():
    with op.batch_alter_table('assessment_revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_revision_assessment_id'))

    op.drop_table('assessment_revision')
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_index('ix_assessment_round_type')
        batch_op.drop_index(batch_op.f('ix_assessment_enrolment_id'))
        batch_op.drop_index(batch_op.f('ix_assessment_child_id'))

    op.drop_table('assessment')
    op.drop_table('assessment_type_setting')
    with op.batch_alter_table('assessment_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_round_year_id'))

    op.drop_table('assessment_round')
