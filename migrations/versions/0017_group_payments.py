"""团体报名 paid once, and invoiced: group orders with their lines, one payment row per attendee

payment_orders.group_booking_id: an order for a group (its booker pays once), beside a now nullable
registration_id (a CHECK: exactly one). payment_order_lines: which registration each part of a
group's order pays for. payments' unique key becomes (provider, transaction_id, registration_id):
a group's payment is one row per attendee, all with the provider's one transaction id.
invoice_requests.group_booking_id: a 发票 of what a group paid, beside a now nullable
registration_id (a CHECK: exactly one; one open request per group, as per registration).

Downgrading refuses while any group order or group invoice request exists: their rows are part of
the ledger and of finance's record, and the older schema cannot hold them.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 02:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

_OPEN = "status IN ('requested', 'issued')"


def upgrade():
    with op.batch_alter_table('payment_orders', schema=None) as batch_op:
        batch_op.alter_column('registration_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('group_booking_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_payment_orders_group_booking_id'), ['group_booking_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_payment_orders_group_booking_id_group_bookings'), 'group_bookings',
                                    ['group_booking_id'], ['id'], ondelete='CASCADE')
        batch_op.create_check_constraint(batch_op.f('ck_payment_orders_registration_or_group'),
                                         '(registration_id IS NULL) <> (group_booking_id IS NULL)')

    op.create_table(
        'payment_order_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
        sa.CheckConstraint('amount > 0', name=op.f('ck_payment_order_lines_amount_positive')),
        sa.ForeignKeyConstraint(['order_id'], ['payment_orders.id'],
                                name=op.f('fk_payment_order_lines_order_id_payment_orders'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'],
                                name=op.f('fk_payment_order_lines_registration_id_registrations'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_order_lines')),
        sa.UniqueConstraint('order_id', 'registration_id', name=op.f('uq_payment_order_lines_order_id')),
    )
    with op.batch_alter_table('payment_order_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_order_lines_registration_id'), ['registration_id'],
                              unique=False)

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint('uq_payments_provider', type_='unique')
        batch_op.create_unique_constraint('uq_payments_provider', ['provider', 'transaction_id', 'registration_id'])

    with op.batch_alter_table('invoice_requests', schema=None) as batch_op:
        batch_op.alter_column('registration_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('group_booking_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_invoice_requests_group_booking_id'), ['group_booking_id'],
                              unique=False)
        batch_op.create_index('uq_invoice_requests_open_group', ['group_booking_id'], unique=True,
                              postgresql_where=sa.text(_OPEN), sqlite_where=sa.text(_OPEN))
        batch_op.create_foreign_key(batch_op.f('fk_invoice_requests_group_booking_id_group_bookings'),
                                    'group_bookings', ['group_booking_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_check_constraint(batch_op.f('ck_invoice_requests_registration_or_group'),
                                         '(registration_id IS NULL) <> (group_booking_id IS NULL)')


def downgrade():
    connection = op.get_bind()
    groups_paid = connection.execute(sa.text(
        "SELECT (SELECT count(*) FROM payment_orders WHERE group_booking_id IS NOT NULL)"
        " + (SELECT count(*) FROM invoice_requests WHERE group_booking_id IS NOT NULL)")).scalar()
    if groups_paid:
        raise RuntimeError("0017 cannot be undone: group orders or group invoice requests exist")

    with op.batch_alter_table('invoice_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_invoice_requests_registration_or_group'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_invoice_requests_group_booking_id_group_bookings'),
                                 type_='foreignkey')
        batch_op.drop_index('uq_invoice_requests_open_group', postgresql_where=sa.text(_OPEN),
                            sqlite_where=sa.text(_OPEN))
        batch_op.drop_index(batch_op.f('ix_invoice_requests_group_booking_id'))
        batch_op.drop_column('group_booking_id')
        batch_op.alter_column('registration_id', existing_type=sa.Integer(), nullable=False)

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint('uq_payments_provider', type_='unique')
        batch_op.create_unique_constraint('uq_payments_provider', ['provider', 'transaction_id'])

    with op.batch_alter_table('payment_order_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_order_lines_registration_id'))
    op.drop_table('payment_order_lines')

    with op.batch_alter_table('payment_orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payment_orders_registration_or_group'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_payment_orders_group_booking_id_group_bookings'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_payment_orders_group_booking_id'))
        batch_op.drop_column('group_booking_id')
        batch_op.alter_column('registration_id', existing_type=sa.Integer(), nullable=False)
