"""staff_users.role (existing users become admin) and the audit_log table (issue 13: roles, audit)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_users') as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=16), nullable=False, server_default='admin'))
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=120), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('target', sa.String(length=255), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'])
    op.create_index(op.f('ix_audit_log_actor'), 'audit_log', ['actor'])


def downgrade() -> None:
    op.drop_index(op.f('ix_audit_log_actor'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')
    op.drop_table('audit_log')
    with op.batch_alter_table('staff_users') as batch_op:
        batch_op.drop_column('role')
