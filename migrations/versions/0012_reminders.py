"""reminders before a session, and refunds leased while a worker sends them

registrations.reminded_at: when the reminder email before the session was queued (null: not yet),
set in the transaction that queues it, so that several workers, or one restarted, send it once.
refund_requests.leased_until: while one worker asks the provider for a refund, the end of its
lease (a worker killed mid-call leaves the refund to the next after it); once the provider has
answered, that moment, so a worker that read the refund before then does not ask again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-12 01:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('refund_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('refund_requests', schema=None) as batch_op:
        batch_op.drop_column('leased_until')

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')
