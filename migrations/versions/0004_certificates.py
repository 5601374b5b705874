"""certificates: certificates table, certificate counter per session, hours and attendance rule per course

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 11:53:50.599065

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('verify_token', sa.String(length=43), nullable=False),
    sa.Column('status', sa.Enum('valid', 'revoked', name='certificate_status', native_enum=False, create_constraint=True, length=16), server_default='valid', nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('course_title', sa.String(length=120), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('hours', sa.Integer(), nullable=False),
    sa.Column('place', sa.String(length=40), server_default='', nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('manual_reason', sa.String(length=200), nullable=True),
    sa.Column('revoked_reason', sa.String(length=200), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_certificates_issued_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_certificates_registration_id_registrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_certificates_registration_id')),
    sa.UniqueConstraint('serial', name=op.f('uq_certificates_serial')),
    sa.UniqueConstraint('verify_token', name=op.f('uq_certificates_verify_token'))
    )
    with op.batch_alter_table('camp_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certificates_issued', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hours_of_study', sa.Integer(), server_default='24', nullable=False))
        batch_op.add_column(sa.Column('min_attendance_days', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_column('min_attendance_days')
        batch_op.drop_column('hours_of_study')

    with op.batch_alter_table('camp_sessions', schema=None) as batch_op:
        batch_op.drop_column('certificates_issued')

    op.drop_table('certificates')
