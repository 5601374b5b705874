"""paid seats: holds, waiting-list offers, the payment ledger

registrations: three statuses (pending_payment: a seat held while its person pays; offered: a seat
freed for the head of the waiting list, held while they pay; expired: a hold or an offer that ran
out), the hold's end, the amount due (the price when held) and the sums paid and refunded, with
CHECKs that a hold has an end and that refunds never exceed what was paid. The partial unique
index of active registrations now counts holds and offers as active. camp_sessions: a per-session
hold length and holds_lapse_at (no hold runs past it unnoticed: the booking service releases lapsed
holds before the next booking). courses: the refund policy (full refund until N days before the
start, a percentage until M days before, none after). users: the WeChat openid WeChat Pay needs inside WeChat.
New tables: payment_orders (what we asked a provider to collect), payments and refunds (the
ledger, written once, never edited), refund_requests (refunds decided, queued for the provider
like emails in the outbox).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 03:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

_OLD_STATUSES = ('confirmed', 'waitlisted', 'cancelled')
_NEW_STATUSES = _OLD_STATUSES + ('pending_payment', 'offered', 'expired')
_OLD_ACTIVE = "status IN ('confirmed', 'waitlisted')"
_NEW_ACTIVE = "status IN ('confirmed', 'pending_payment', 'offered', 'waitlisted')"
_HOLD = "status IN ('pending_payment', 'offered')"


def _status_enum(statuses):
    return sa.Enum(*statuses, name='registration_status', native_enum=False, create_constraint=True, length=16)


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('payment_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.Enum('wechat', 'alipay', 'bank', name='payment_order_provider', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('out_trade_no', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_orders_amount_positive')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_payment_orders_registration_id_registrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_orders')),
    sa.UniqueConstraint('out_trade_no', name=op.f('uq_payment_orders_out_trade_no'))
    )
    with op.batch_alter_table('payment_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_orders_registration_id'), ['registration_id'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('provider', sa.Enum('wechat', 'alipay', 'bank', name='payment_provider', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=200), server_default='', nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payments_amount_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['payment_orders.id'], name=op.f('fk_payments_order_id_payment_orders'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_payments_recorded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_payments_registration_id_registrations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('provider', 'transaction_id', name=op.f('uq_payments_provider'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_paid_at', ['paid_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_registration_id'), ['registration_id'], unique=False)

    op.create_table('refund_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('out_refund_no', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('reason', sa.String(length=200), server_default='', nullable=False),
    sa.Column('status', sa.Enum('pending', 'done', 'failed', name='refund_status', native_enum=False, create_constraint=True, length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.String(length=500), server_default='', nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refund_requests_amount_positive')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refund_requests_payment_id_payments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_refund_requests_registration_id_registrations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_refund_requests_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_requests')),
    sa.UniqueConstraint('out_refund_no', name=op.f('uq_refund_requests_out_refund_no'))
    )
    with op.batch_alter_table('refund_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_requests_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_requests_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index('ix_refund_requests_status', ['status', 'created_at'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('provider_refund_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('reason', sa.String(length=200), server_default='', nullable=False),
    sa.Column('refunded_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_refunds_recorded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_refunds_registration_id_registrations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['request_id'], ['refund_requests.id'], name=op.f('fk_refunds_request_id_refund_requests'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('request_id', name=op.f('uq_refunds_request_id'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index('ix_refunds_refunded_at', ['refunded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_registration_id'), ['registration_id'], unique=False)

    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_full_days', sa.Integer(), server_default='7', nullable=True))
        batch_op.add_column(sa.Column('refund_partial_days', sa.Integer(), server_default='3', nullable=True))
        batch_op.add_column(sa.Column('refund_partial_percent', sa.Integer(), server_default='50', nullable=False))
        batch_op.create_check_constraint(op.f('ck_courses_refund_percent_range'), 'refund_partial_percent BETWEEN 0 AND 100')
        batch_op.create_check_constraint(op.f('ck_courses_refund_full_days_not_negative'),
                                         'refund_full_days IS NULL OR refund_full_days >= 0')
        batch_op.create_check_constraint(op.f('ck_courses_refund_partial_days_not_negative'),
                                         'refund_partial_days IS NULL OR refund_partial_days >= 0')

    with op.batch_alter_table('camp_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_hold_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('holds_lapse_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(op.f('ck_camp_sessions_price_not_negative'), 'price >= 0')
        batch_op.create_check_constraint(op.f('ck_camp_sessions_hold_seconds_positive'),
                                         'payment_hold_seconds IS NULL OR payment_hold_seconds > 0')

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amount_due', sa.Numeric(precision=10, scale=2), nullable=True))
        batch_op.add_column(sa.Column('hold_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('amount_paid', sa.Numeric(precision=10, scale=2), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('amount_refunded', sa.Numeric(precision=10, scale=2), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True))
        # Alembic drops the old list's CHECK and writes the new one.
        batch_op.alter_column('status', existing_type=_status_enum(_OLD_STATUSES), type_=_status_enum(_NEW_STATUSES),
                              existing_nullable=False)
        batch_op.drop_index('uq_registrations_active_user_session', postgresql_where=sa.text(_OLD_ACTIVE),
                            sqlite_where=sa.text(_OLD_ACTIVE))
        batch_op.create_index('uq_registrations_active_user_session', ['session_id', 'user_id'], unique=True,
                              postgresql_where=sa.text(_NEW_ACTIVE), sqlite_where=sa.text(_NEW_ACTIVE))
        batch_op.create_check_constraint(op.f('ck_registrations_hold_has_end'),
                                         f'NOT ({_HOLD}) OR hold_expires_at IS NOT NULL')
        batch_op.create_check_constraint(op.f('ck_registrations_amount_due_not_negative'),
                                         'amount_due IS NULL OR amount_due >= 0')
        batch_op.create_check_constraint(op.f('ck_registrations_refunds_within_paid'),
                                         'amount_paid >= 0 AND amount_refunded >= 0 AND amount_refunded <= amount_paid')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wechat_openid', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_wechat_openid'), ['wechat_openid'])



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_wechat_openid'), type_='unique')
        batch_op.drop_column('wechat_openid')

    # Registrations in the new states have no place in the old schema: an unpaid hold or offer
    # goes back as cancelled (its seat freed), an expired one as cancelled.
    op.execute("UPDATE camp_sessions SET seats_taken = seats_taken - (SELECT count(*) FROM registrations r "
               f"WHERE r.session_id = camp_sessions.id AND r.{_HOLD})")
    op.execute("UPDATE registrations SET status = 'cancelled', cancelled_at = coalesce(cancelled_at, hold_expires_at) "
               "WHERE status IN ('pending_payment', 'offered', 'expired')")
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_registrations_refunds_within_paid'), type_='check')
        batch_op.drop_constraint(op.f('ck_registrations_amount_due_not_negative'), type_='check')
        batch_op.drop_constraint(op.f('ck_registrations_hold_has_end'), type_='check')
        batch_op.drop_index('uq_registrations_active_user_session', postgresql_where=sa.text(_NEW_ACTIVE),
                            sqlite_where=sa.text(_NEW_ACTIVE))
        batch_op.create_index('uq_registrations_active_user_session', ['session_id', 'user_id'], unique=True,
                              postgresql_where=sa.text(_OLD_ACTIVE), sqlite_where=sa.text(_OLD_ACTIVE))
        batch_op.alter_column('status', existing_type=_status_enum(_NEW_STATUSES), type_=_status_enum(_OLD_STATUSES),
                              existing_nullable=False)
        batch_op.drop_column('paid_at')
        batch_op.drop_column('amount_refunded')
        batch_op.drop_column('amount_paid')
        batch_op.drop_column('hold_expires_at')
        batch_op.drop_column('amount_due')

    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_courses_refund_partial_days_not_negative'), type_='check')
        batch_op.drop_constraint(op.f('ck_courses_refund_full_days_not_negative'), type_='check')
        batch_op.drop_constraint(op.f('ck_courses_refund_percent_range'), type_='check')
        batch_op.drop_column('refund_partial_percent')
        batch_op.drop_column('refund_partial_days')
        batch_op.drop_column('refund_full_days')

    with op.batch_alter_table('camp_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_camp_sessions_hold_seconds_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_camp_sessions_price_not_negative'), type_='check')
        batch_op.drop_column('holds_lapse_at')
        batch_op.drop_column('payment_hold_seconds')

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_registration_id'))
        batch_op.drop_index('ix_refunds_refunded_at')
        batch_op.drop_index(batch_op.f('ix_refunds_payment_id'))

    op.drop_table('refunds')
    with op.batch_alter_table('refund_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_refund_requests_status')
        batch_op.drop_index(batch_op.f('ix_refund_requests_registration_id'))
        batch_op.drop_index(batch_op.f('ix_refund_requests_payment_id'))

    op.drop_table('refund_requests')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_registration_id'))
        batch_op.drop_index('ix_payments_paid_at')

    op.drop_table('payments')
    with op.batch_alter_table('payment_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_orders_registration_id'))

    op.drop_table('payment_orders')
