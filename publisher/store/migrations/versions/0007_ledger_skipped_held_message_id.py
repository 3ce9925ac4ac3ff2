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
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('handed_at', sa.DateTime(timezone=True), nullable=True))
    # rows from before: the reason their words give, and "handed over" for rows in flight
    deliveries = sa.table('deliveries', sa.column('status', sa.String), sa.column('reason', sa.String),
                          sa.column('last_error', sa.Text), sa.column('message_id', sa.String),
                          sa.column('handed_at', sa.DateTime(timezone=True)), sa.column('lease_until',
                                                                                         sa.DateTime(timezone=True)))
    op.execute(deliveries.update().where(deliveries.c.status == 'held').values(reason='ambiguous'))
    failed = deliveries.c.status == 'failed'
    op.execute(deliveries.update().where(failed, deliveries.c.last_error.like('render:%')).values(reason='render'))
    op.execute(deliveries.update().where(failed, deliveries.c.last_error.like('gave up after%'))
               .values(reason='gave-up'))
    op.execute(deliveries.update().where(failed, deliveries.c.reason.is_(None), deliveries.c.last_error.like('5__ %'))
               .values(reason='permanent'))
    op.execute(deliveries.update().where(deliveries.c.status == 'sending', deliveries.c.message_id.isnot(None))
               .values(handed_at=deliveries.c.lease_until))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('handed_at')
        batch_op.drop_column('reason')
