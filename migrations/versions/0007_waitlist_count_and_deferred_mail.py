"""waitlist count on sessions; emails composed when sent

camp_sessions.waitlisted_count: how many people wait for a seat, kept by the booking service
with seats_taken under the session's lock. A new waitlisted booking's place in the queue is the
count after it, which PostgreSQL's one-statement booking can read from the locked row (a count of
registrations there would use a snapshot taken before the lock was granted).

outbox_messages.template and .context: a message queued as a template name and its context (a
registration id, the place in the queue, the locale) and composed by the sender, so that a booking
does not render emails, calendar entries and QR codes while its session is locked. subject and
body_text are filled in when the message is composed; a row has them or a template.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('camp_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waitlisted_count', sa.Integer(), server_default='0', nullable=False))
    op.execute(
        "UPDATE camp_sessions SET waitlisted_count = (SELECT count(*) FROM registrations"
        " WHERE registrations.session_id = camp_sessions.id AND registrations.status = 'waitlisted')"
    )
    with op.batch_alter_table('camp_sessions', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_camp_sessions_waitlisted_count_not_negative'),
                                         'waitlisted_count >= 0')

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('context', sa.JSON(), nullable=True))
        batch_op.alter_column('subject', existing_type=sa.String(length=200), nullable=True)
        batch_op.alter_column('body_text', existing_type=sa.Text(), nullable=True)
        batch_op.create_check_constraint(op.f('ck_outbox_messages_composed_or_template'),
                                         'body_text IS NOT NULL OR template IS NOT NULL')


def downgrade():
    # Messages still waiting to be composed cannot be kept without a body: compose them first
    # (flask outbox send) or they are dropped here.
    op.execute("DELETE FROM outbox_messages WHERE body_text IS NULL")
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_messages_composed_or_template'), type_='check')
        batch_op.alter_column('body_text', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('subject', existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_column('context')
        batch_op.drop_column('template')

    with op.batch_alter_table('camp_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_camp_sessions_waitlisted_count_not_negative'), type_='check')
        batch_op.drop_column('waitlisted_count')
