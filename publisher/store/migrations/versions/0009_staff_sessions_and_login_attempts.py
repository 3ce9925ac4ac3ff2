"""staff sessions and login attempts in the store (issue 10)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
