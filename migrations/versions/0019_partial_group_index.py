"""registrations.group_id indexed only where it is set

Only a group's attendees have a group_id: a booking of one's own (every booking of a rush) no longer
writes an entry in ix_registrations_group_id. Queries by group (`group_id = ?`) use the partial index
on both databases.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 12:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

_SET = sa.text("group_id IS NOT NULL")


def upgrade():
    op.drop_index('ix_registrations_group_id', table_name='registrations')
    op.create_index('ix_registrations_group_id', 'registrations', ['group_id'], unique=False,
                    postgresql_where=_SET, sqlite_where=_SET)


def downgrade():
    op.drop_index('ix_registrations_group_id', table_name='registrations')
    op.create_index('ix_registrations_group_id', 'registrations', ['group_id'], unique=False)
