"""a search key per account; accounts without an email (walk-ins)

users.search_key: the name as staff search for it on the roster (folded, full pinyin, initials;
app/accounts/search.py), kept by the User model whenever a name is written and filled in here for
the accounts that exist. Not indexed: the roster matches it with LIKE '%...%' on one session's
rows, which a B-tree index cannot serve and which the session's own index already narrows.

users.email nullable: staff may add a walk-in who gives only a name and a mobile number. NULLs do
not collide in the unique index (PostgreSQL and SQLite alike).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 21:45:00.000000

"""
import sqlalchemy as sa
from alembic import op

from app.accounts.search import name_search_key

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_key', sa.String(length=400), nullable=True))
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=True)

    users = sa.table('users', sa.column('id', sa.Integer), sa.column('name', sa.String),
                     sa.column('search_key', sa.String))
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(users.c.id, users.c.name).where(users.c.id > last_id, users.c.name.is_not(None))
            .order_by(users.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            users.update().where(users.c.id == sa.bindparam('user_id')).values(search_key=sa.bindparam('key')),
            [{'user_id': row.id, 'key': name_search_key(row.name)} for row in rows],
        )
        last_id = rows[-1].id


def downgrade():
    # The old schema needs an email for everyone: a walk-in gets an address under the reserved
    # .invalid domain, which no message is ever delivered to.
    op.execute("UPDATE users SET email = 'walk-in-' || id || '@example.invalid' WHERE email IS NULL")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=False)
        batch_op.drop_column('search_key')
