"""translation_memory: who made a human entry and when it last changed (issue 11: staff edits, TMX)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 12:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('translation_memory') as batch_op:
        batch_op.add_column(sa.Column('created_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('translation_memory') as batch_op:
        batch_op.drop_column('changed_at')
        batch_op.drop_column('created_by')
