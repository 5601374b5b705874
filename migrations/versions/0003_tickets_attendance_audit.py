"""tickets, attendance and audit log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:55:14.883563

"""
import secrets

from alembic import op
import sqlalchemy as sa

# The ticket alphabet and length of app/booking/tickets.py, copied so this revision never changes.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_LENGTH = 12


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attendances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('checked_in_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['checked_in_by_id'], ['users.id'], name=op.f('fk_attendances_checked_in_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_attendances_registration_id_registrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendances')),
    sa.UniqueConstraint('registration_id', 'day', name='uq_attendances_registration_day')
    )
    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('note', sa.String(length=200), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_entries_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_audit_entries_registration_id_registrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['camp_sessions.id'], name=op.f('fk_audit_entries_session_id_camp_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entries_registration', ['registration_id', 'created_at'], unique=False)
        batch_op.create_index('ix_audit_entries_session', ['session_id', 'created_at'], unique=False)

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_code', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_registrations_ticket_code'), ['ticket_code'])

    # Registrations made before tickets existed get their code now.
    registrations = sa.table("registrations", sa.column("id", sa.Integer), sa.column("ticket_code", sa.String))
    connection = op.get_bind()
    missing = connection.execute(sa.select(registrations.c.id).where(registrations.c.ticket_code.is_(None)))
    for registration_id in missing.scalars().all():
        code = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
        connection.execute(registrations.update().where(registrations.c.id == registration_id).values(ticket_code=code))



def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_registrations_ticket_code'), type_='unique')
        batch_op.drop_column('ticket_code')

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_session')
        batch_op.drop_index('ix_audit_entries_registration')

    op.drop_table('audit_entries')
    op.drop_table('attendances')
