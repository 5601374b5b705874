"""团体报名 (group bookings): one booker, several named attendees, all seats or none

group_bookings: the group (session, booker, size). registrations.group_id: each attendee's own
registration points at its group. camp_sessions.max_group_size: the most seats one group may book
(5 by default; 1 turns group bookings off for a session).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 02:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'group_bookings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('booker_id', sa.Integer(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=40), server_default='web', nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.CheckConstraint('size >= 2', name=op.f('ck_group_bookings_group_size_at_least_two')),
        sa.ForeignKeyConstraint(['booker_id'], ['users.id'], name=op.f('fk_group_bookings_booker_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['camp_sessions.id'],
                                name=op.f('fk_group_bookings_session_id_camp_sessions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_group_bookings')),
    )
    with op.batch_alter_table('group_bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_bookings_booker_id'), ['booker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_bookings_session_id'), ['session_id'], unique=False)

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_registrations_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_registrations_group_id_group_bookings'), 'group_bookings',
                                    ['group_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('camp_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_group_size', sa.Integer(), server_default='5', nullable=False))
        batch_op.create_check_constraint(batch_op.f('ck_camp_sessions_max_group_size_range'),
                                         'max_group_size >= 1 AND max_group_size <= 50')


def downgrade():
    with op.batch_alter_table('camp_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_camp_sessions_max_group_size_range'), type_='check')
        batch_op.drop_column('max_group_size')

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_registrations_group_id_group_bookings'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_registrations_group_id'))
        batch_op.drop_column('group_id')

    with op.batch_alter_table('group_bookings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_bookings_session_id'))
        batch_op.drop_index(batch_op.f('ix_group_bookings_booker_id'))
    op.drop_table('group_bookings')
