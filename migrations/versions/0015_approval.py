"""报名审核 (approval): sessions that review applications before giving seats

camp_sessions: requires_approval (default false). registrations: three statuses (pending_review:
an application, which takes no seat and is not on the waiting list; rejected: staff said no;
withdrawn: its applicant took it back while pending) and who reviewed it, when, with what message.
The partial unique index of active registrations now counts a pending application, so a person has
one application or registration per session (a second booking returns the application).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 02:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

_OLD_STATUSES = ('confirmed', 'waitlisted', 'cancelled', 'pending_payment', 'offered', 'expired')
_NEW_STATUSES = _OLD_STATUSES + ('pending_review', 'rejected', 'withdrawn')
_OLD_OPEN = "status IN ('confirmed', 'pending_payment', 'offered', 'waitlisted')"
_NEW_OPEN = "status IN ('confirmed', 'pending_payment', 'offered', 'waitlisted', 'pending_review')"


def _status_enum(statuses):
    return sa.Enum(*statuses, name='registration_status', native_enum=False, create_constraint=True, length=16)


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('camp_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requires_approval', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('review_message', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_registrations_reviewed_by_id_users'), 'users', ['reviewed_by_id'],
                                    ['id'], ondelete='SET NULL')
        # Alembic drops the old list's CHECK and writes the new one.
        batch_op.alter_column('status', existing_type=_status_enum(_OLD_STATUSES), type_=_status_enum(_NEW_STATUSES),
                              existing_nullable=False)
        batch_op.drop_index('uq_registrations_active_user_session', postgresql_where=sa.text(_OLD_OPEN),
                            sqlite_where=sa.text(_OLD_OPEN))
        batch_op.create_index('uq_registrations_active_user_session', ['session_id', 'user_id'], unique=True,
                              postgresql_where=sa.text(_NEW_OPEN), sqlite_where=sa.text(_NEW_OPEN))


def downgrade():
    # Applications have no place in the old schema: pending, rejected or withdrawn, they go back
    # as cancelled (none of them held a seat or a place in the queue).
    op.execute("UPDATE registrations SET status = 'cancelled', cancelled_at = coalesce(cancelled_at, reviewed_at, "
               "created_at) WHERE status IN ('pending_review', 'rejected', 'withdrawn')")
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index('uq_registrations_active_user_session', postgresql_where=sa.text(_NEW_OPEN),
                            sqlite_where=sa.text(_NEW_OPEN))
        batch_op.create_index('uq_registrations_active_user_session', ['session_id', 'user_id'], unique=True,
                              postgresql_where=sa.text(_OLD_OPEN), sqlite_where=sa.text(_OLD_OPEN))
        batch_op.alter_column('status', existing_type=_status_enum(_NEW_STATUSES), type_=_status_enum(_OLD_STATUSES),
                              existing_nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_registrations_reviewed_by_id_users'), type_='foreignkey')
        batch_op.drop_column('review_message')
        batch_op.drop_column('reviewed_by_id')
        batch_op.drop_column('reviewed_at')

    with op.batch_alter_table('camp_sessions', schema=None) as batch_op:
        batch_op.drop_column('requires_approval')
