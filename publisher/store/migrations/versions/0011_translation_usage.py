"""translations: token usage per translation (issue 12: cost of model engines)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 20:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # engine → {"requests", "prompt_tokens", "completion_tokens", "total_tokens"}, summed over attempts
    with op.batch_alter_table('translations') as batch_op:
        batch_op.add_column(sa.Column('usage', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('translations') as batch_op:
        batch_op.drop_column('usage')
