"""catalogue and booking: courses, camp sessions, registrations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:21:03.232809

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('platform', sa.String(length=20), server_default='', nullable=False),
    sa.Column('duration_label', sa.String(length=20), server_default='', nullable=False),
    sa.Column('summary', sa.Text(), server_default='', nullable=False),
    sa.Column('outcomes', sa.Text(), server_default='', nullable=False),
    sa.Column('audience', sa.Text(), server_default='', nullable=False),
    sa.Column('is_published', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses')),
    sa.UniqueConstraint('slug', name=op.f('uq_courses_slug'))
    )
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_is_published'), ['is_published'], unique=False)

    op.create_table('camp_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=60), server_default='', nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('city', sa.String(length=40), server_default='', nullable=False),
    sa.Column('venue', sa.String(length=120), server_default='', nullable=False),
    sa.Column('address', sa.String(length=200), server_default='', nullable=False),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('seats_taken', sa.Integer(), server_default='0', nullable=False),
    sa.Column('waitlist_issued', sa.Integer(), server_default='0', nullable=False),
    sa.Column('registration_opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registration_closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancellation_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_published', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint('capacity >= 0', name=op.f('ck_camp_sessions_capacity_not_negative')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_camp_sessions_ends_after_start')),
    sa.CheckConstraint('seats_taken >= 0 AND seats_taken <= capacity', name=op.f('ck_camp_sessions_seats_within_capacity')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_camp_sessions_course_id_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_camp_sessions'))
    )
    with op.batch_alter_table('camp_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_camp_sessions_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_camp_sessions_is_published'), ['is_published'], unique=False)
        batch_op.create_index(batch_op.f('ix_camp_sessions_starts_at'), ['starts_at'], unique=False)

    op.create_table('registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('confirmed', 'waitlisted', 'cancelled', name='registration_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('waitlist_number', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=40), server_default='web', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status = 'waitlisted') = (waitlist_number IS NOT NULL)", name=op.f('ck_registrations_waitlist_number_iff_waitlisted')),
    sa.ForeignKeyConstraint(['session_id'], ['camp_sessions.id'], name=op.f('fk_registrations_session_id_camp_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_registrations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registrations'))
    )
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index('ix_registrations_session_status', ['session_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_registrations_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_registrations_active_user_session', ['session_id', 'user_id'], unique=True, postgresql_where=sa.text("status IN ('confirmed', 'waitlisted')"), sqlite_where=sa.text("status IN ('confirmed', 'waitlisted')"))
        batch_op.create_index('uq_registrations_session_waitlist_number', ['session_id', 'waitlist_number'], unique=True)



def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index('uq_registrations_session_waitlist_number')
        batch_op.drop_index('uq_registrations_active_user_session', postgresql_where=sa.text("status IN ('confirmed', 'waitlisted')"), sqlite_where=sa.text("status IN ('confirmed', 'waitlisted')"))
        batch_op.drop_index(batch_op.f('ix_registrations_user_id'))
        batch_op.drop_index('ix_registrations_session_status')

    op.drop_table('registrations')
    with op.batch_alter_table('camp_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_camp_sessions_starts_at'))
        batch_op.drop_index(batch_op.f('ix_camp_sessions_is_published'))
        batch_op.drop_index(batch_op.f('ix_camp_sessions_course_id'))

    op.drop_table('camp_sessions')
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_is_published'))

    op.drop_table('courses')
