"""audit entries name what they are about: the account and the article

audit_entries.account_id: the person an entry is about (an account's change, or the person of a
registration's change); audit_entries.article_id: the article of an article's change. Until now
accounts were found through the entries' JSON ({"user_id": ...}) and articles through the note's
text ("article:12 ...", which loses that prefix here). Both are filled in here for the entries that exist, and indexed with the
time, like the registration's and the session's columns: each history is one index range (the
article's index only over the entries that name one: most are about registrations). An entry
outlives the account or article it names (SET NULL), as it outlives its actor.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 01:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('article_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_audit_entries_account_id_users', 'users', ['account_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_foreign_key('fk_audit_entries_article_id_articles', 'articles', ['article_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index('ix_audit_entries_account', ['account_id', 'created_at'], unique=False)
        batch_op.create_index('ix_audit_entries_article', ['article_id', 'created_at'], unique=False,
                              postgresql_where=sa.text('article_id IS NOT NULL'),
                              sqlite_where=sa.text('article_id IS NOT NULL'))

    # Accounts and articles that no longer exist are left unnamed (the foreign keys would refuse them).
    if op.get_bind().dialect.name == 'postgresql':
        user_id = "CAST(after->>'user_id' AS INTEGER)"
        article_id = "CAST(after->>'article_id' AS INTEGER)"
    else:
        user_id = "json_extract(after, '$.user_id')"
        article_id = "json_extract(after, '$.article_id')"
    op.execute(f"UPDATE audit_entries SET account_id = {user_id} WHERE action LIKE 'account.%' "
               f"AND {user_id} IN (SELECT id FROM users)")
    op.execute(f"UPDATE audit_entries SET article_id = {article_id} WHERE action LIKE 'article.%' "
               f"AND {article_id} IN (SELECT id FROM articles)")
    op.execute("UPDATE audit_entries SET account_id = (SELECT user_id FROM registrations "
               "WHERE registrations.id = audit_entries.registration_id) WHERE registration_id IS NOT NULL")
    # The article's id leaves the note, which keeps what followed it (the title then, or 恢复自第 N 版).
    entries = sa.table('audit_entries', sa.column('id', sa.Integer), sa.column('note', sa.String))
    connection = op.get_bind()
    notes = connection.execute(sa.select(entries.c.id, entries.c.note).where(entries.c.note.like('article:%'))).all()
    if notes:
        connection.execute(entries.update().where(entries.c.id == sa.bindparam('entry_id'))
                           .values(note=sa.bindparam('new_note')),
                           [{'entry_id': row.id, 'new_note': row.note.partition(' ')[2]} for row in notes])


def downgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_article')
        batch_op.drop_index('ix_audit_entries_account')
        batch_op.drop_constraint('fk_audit_entries_article_id_articles', type_='foreignkey')
        batch_op.drop_constraint('fk_audit_entries_account_id_users', type_='foreignkey')
        batch_op.drop_column('article_id')
        batch_op.drop_column('account_id')
