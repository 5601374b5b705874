"""团体报名: the name the booker typed for each attendee

registrations.attendee_name: what a group's booker is shown for the attendee (pages, emails, API),
never the name on the account a phone number found. Existing group registrations get their
account's name, which is what their bookers were shown until now.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 03:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attendee_name', sa.String(length=60), nullable=True))
    op.execute("UPDATE registrations SET attendee_name = (SELECT name FROM users WHERE users.id = registrations.user_id) "
               "WHERE group_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('attendee_name')
