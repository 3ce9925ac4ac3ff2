"""releases held for a language mismatch (issue 9)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 19:50:00

Adds ``language_status`` (ok | held | confirmed) and ``detected_language``. From now on
``language`` is the language a release is published in. Releases stored before held nothing:
one flagged ``language-mismatch: <found>, expected <source>`` was published as <source>, so it
keeps that (``language`` = <source>, ``detected_language`` = <found>, status ok) and readers see
no change; staff may still confirm its real language.
"""
import re

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_MISMATCH = re.compile(r"^language-mismatch: (\w+), expected (\w+)$")


def upgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language_status', sa.String(length=16), server_default='ok', nullable=False))
        batch_op.add_column(sa.Column('detected_language', sa.String(length=8), nullable=True))
    releases = sa.table('releases', sa.column('id', sa.Integer), sa.column('language', sa.String),
                        sa.column('flags', sa.JSON), sa.column('detected_language', sa.String))
    connection = op.get_bind()
    connection.execute(releases.update().values(detected_language=releases.c.language))
    for rid, flags in connection.execute(sa.select(releases.c.id, releases.c.flags)).all():
        found = next((m for m in (_MISMATCH.match(str(f)) for f in (flags or ())) if m), None)
        if found is not None:
            connection.execute(releases.update().where(releases.c.id == rid).values(
                detected_language=found.group(1), language=found.group(2)))


def downgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_column('detected_language')
        batch_op.drop_column('language_status')
