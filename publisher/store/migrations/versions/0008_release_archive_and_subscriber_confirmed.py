"""releases: archive flag and publishable time; subscribers: confirmed time (issue 10)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:50:00

``releases.archive``: never mailed (a source's first-poll backlog, or dated more than
``[digest] backlog_days`` before it was ingested). ``releases.publishable_at``: when the
release became visible (ingested, or its embargo ended if later); digests and immediate mails
choose by it. ``subscribers.confirmed_at`` existed already (0003); it is filled here for
confirmed subscribers that lack it. Rows stored before: publishable_at from created_at and
embargo_until; archive by the default 7 days.
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BACKLOG = dt.timedelta(days=7)


def _aware(value):
    if value is None or isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if value else None
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def upgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archive', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('publishable_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_releases_publishable_at', ['publishable_at'], unique=False)
    connection = op.get_bind()
    sqlite = connection.dialect.name == "sqlite"
    releases = sa.table('releases', sa.column('id', sa.Integer), sa.column('published_at', sa.DateTime),
                        sa.column('created_at', sa.DateTime), sa.column('embargo_until', sa.DateTime),
                        sa.column('archive', sa.Boolean), sa.column('publishable_at', sa.DateTime))
    rows = connection.execute(sa.select(releases.c.id, releases.c.published_at, releases.c.created_at,
                                        releases.c.embargo_until)).all()
    for rid, published, created, embargo in rows:
        published, created, embargo = _aware(published), _aware(created), _aware(embargo)
        at = max(created, embargo) if embargo is not None else created
        if sqlite:
            at = at.astimezone(dt.timezone.utc).replace(tzinfo=None)
        connection.execute(releases.update().where(releases.c.id == rid).values(
            publishable_at=at, archive=bool(published is not None and published < created - BACKLOG)))
    subscribers = sa.table('subscribers', sa.column('status', sa.String), sa.column('created_at', sa.DateTime),
                           sa.column('confirmed_at', sa.DateTime))
    connection.execute(subscribers.update().where(subscribers.c.status == 'confirmed',
                                                  subscribers.c.confirmed_at.is_(None))
                       .values(confirmed_at=subscribers.c.created_at))


def downgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_index('ix_releases_publishable_at')
        batch_op.drop_column('publishable_at')
        batch_op.drop_column('archive')
