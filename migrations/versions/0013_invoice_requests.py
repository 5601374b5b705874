"""invoice requests (发票): a registration's request for an invoice and, once issued, its PDF

invoice_requests: who asked (requester), 个人 or 企业 (kind), 抬头 (title), 税号 (tax_id, "" for a
person, required for a company: CHECK), the email it goes to, the amount (money kept when asked),
status requested / issued / cancelled, who issued it and when, the 发票号码, why staff sent it
back or voided it, and the PDF itself (an issued one always has it: CHECK). One open request
(requested or issued) per registration: a partial unique index, as registrations have.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 05:38:24.096462

"""
import sqlalchemy as sa
from alembic import op

_OPEN = "status IN ('requested', 'issued')"

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invoice_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('personal', 'company', name='invoice_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('tax_id', sa.String(length=20), server_default='', nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('status', sa.Enum('requested', 'issued', 'cancelled', name='invoice_status', native_enum=False, create_constraint=True, length=16), server_default='requested', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('invoice_number', sa.String(length=32), server_default='', nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=200), server_default='', nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('pdf_size', sa.Integer(), nullable=True),
    sa.CheckConstraint("(kind = 'company') = (tax_id <> '')", name=op.f('ck_invoice_requests_tax_id_iff_company')),
    sa.CheckConstraint("status <> 'issued' OR (pdf IS NOT NULL AND issued_at IS NOT NULL)", name=op.f('ck_invoice_requests_issued_has_pdf')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_invoice_requests_amount_positive')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_invoice_requests_issued_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_invoice_requests_registration_id_registrations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_invoice_requests_requester_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_requests'))
    )
    with op.batch_alter_table('invoice_requests', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_requests_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_invoice_requests_issued_at', ['issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_requests_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_requests_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index('ix_invoice_requests_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index('uq_invoice_requests_open_registration', ['registration_id'], unique=True, postgresql_where=sa.text(_OPEN), sqlite_where=sa.text(_OPEN))


def downgrade():
    with op.batch_alter_table('invoice_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_invoice_requests_open_registration', postgresql_where=sa.text(_OPEN), sqlite_where=sa.text(_OPEN))
        batch_op.drop_index('ix_invoice_requests_status_created')
        batch_op.drop_index(batch_op.f('ix_invoice_requests_requester_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_requests_registration_id'))
        batch_op.drop_index('ix_invoice_requests_issued_at')
        batch_op.drop_index('ix_invoice_requests_created_at')
    op.drop_table('invoice_requests')
