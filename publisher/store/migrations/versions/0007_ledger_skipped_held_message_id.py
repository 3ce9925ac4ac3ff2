"""ledger: skipped and held states, Message-ID per row (issue 10)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
