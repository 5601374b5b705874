"""dashboard indexes: registrations.created_at, certificates.status

The admin dashboard's registrations-per-day chart filters a range of created_at, and its
certificate totals group by status; without these indexes both read the whole table
(docs/performance.md, "Admin dashboard").

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registrations_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_status'))

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registrations_created_at'))
