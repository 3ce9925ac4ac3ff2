"""releases and translations: structured (HTML) body beside the plain text (issue 9)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_html', sa.Text(), nullable=True))
    with op.batch_alter_table('translations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_html', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('translations', schema=None) as batch_op:
        batch_op.drop_column('body_html')
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_column('body_html')
