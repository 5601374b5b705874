"""The migrations build exactly the schema the models describe, and can be undone.

Production databases are built by `flask db upgrade`, the test suite by `db.create_all()`; if the
two drift apart, the tests pass against a schema that nobody runs. This builds a fresh database of
the suite's kind (SQLite or PostgreSQL) from the migrations alone and compares it with the models.
"""
from __future__ import annotations

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db


@pytest.fixture
def migrated_app(fresh_database_url):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": fresh_database_url})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()  # PostgreSQL cannot drop a database while connections are open


def schema_differences() -> list:
    with db.engine.connect() as connection:
        # Server defaults are not compared: Alembic reports false differences for some of them
        # on SQLite (DEFAULT '' reads back as no default).
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_migrations_build_the_schema_the_models_describe(migrated_app):
    assert table_names() == set()

    flask_migrate.upgrade()

    assert table_names() == set(db.metadata.tables) | {"alembic_version"}
    assert schema_differences() == []


def test_downgrade_to_base_removes_everything_and_upgrade_rebuilds_it(migrated_app):
    flask_migrate.upgrade()

    flask_migrate.downgrade(revision="base")
    assert table_names() == {"alembic_version"}

    flask_migrate.upgrade()
    assert table_names() == set(db.metadata.tables) | {"alembic_version"}
    assert schema_differences() == []


def test_0007_counts_the_people_already_waiting_and_keeps_queued_mail(migrated_app):
    """Sessions migrated with a waitlist get their waitlisted_count from the registrations; on
    the way back down, composed messages stay and messages not composed yet are dropped."""
    flask_migrate.upgrade(revision="0006")
    with db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO courses (id, slug, title, platform, duration_label, summary, outcomes, audience,"
            " is_published, hours_of_study, created_at) VALUES (1, 'c', '课程', '', '', '', '', '', true, 24,"
            " CURRENT_TIMESTAMP)"))
        connection.execute(text(
            "INSERT INTO camp_sessions (id, course_id, label, starts_at, ends_at, city, venue, address, price,"
            " capacity, seats_taken, waitlist_issued, certificates_issued, is_published, created_at) VALUES"
            " (1, 1, '', '2027-09-17 01:00:00', '2027-09-19 10:00:00', '', '', '', 3980, 1, 1, 3, 0, true,"
            " CURRENT_TIMESTAMP), (2, 1, '', '2027-10-17 01:00:00', '2027-10-19 10:00:00', '', '', '', 3980, 5,"
            " 0, 0, 0, true, CURRENT_TIMESTAMP)"))
        for user_id in (1, 2, 3, 4):
            connection.execute(text(
                "INSERT INTO users (id, email, password_hash, role, is_active, session_version, created_at)"
                f" VALUES ({user_id}, 'u{user_id}@example.com', 'x', 'student', true, 1, CURRENT_TIMESTAMP)"))
        connection.execute(text(
            "INSERT INTO registrations (session_id, user_id, status, waitlist_number, source, created_at) VALUES"
            " (1, 1, 'confirmed', NULL, 'web', CURRENT_TIMESTAMP), (1, 2, 'waitlisted', 1, 'web', CURRENT_TIMESTAMP),"
            " (1, 3, 'cancelled', NULL, 'web', CURRENT_TIMESTAMP), (1, 4, 'waitlisted', 3, 'web', CURRENT_TIMESTAMP)"))

    flask_migrate.upgrade()

    with db.engine.begin() as connection:
        counts = dict(connection.execute(text("SELECT id, waitlisted_count FROM camp_sessions")).all())
        assert counts == {1: 2, 2: 0}
        connection.execute(text(
            "INSERT INTO outbox_messages (to_address, subject, body_text, attachments, status, attempts,"
            " next_attempt_at, created_at) VALUES ('a@example.com', '主题', '正文', '[]', 'pending', 0,"
            " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        connection.execute(text(
            "INSERT INTO outbox_messages (to_address, template, context, attachments, status, attempts,"
            " next_attempt_at, created_at) VALUES ('b@example.com', 'booking_waitlisted', '{}', '[]', 'pending',"
            " 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))

    flask_migrate.downgrade(revision="0006")

    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT to_address FROM outbox_messages")).scalars().all() == ["a@example.com"]


def test_0008_fills_the_search_keys_of_existing_people_and_gives_walk_ins_an_address_on_the_way_down(
        migrated_app):
    flask_migrate.upgrade(revision="0007")
    with db.engine.begin() as connection:
        for user_id, name in ((1, "'王𠮷'"), (2, "'司马·光'"), (3, "NULL")):
            connection.execute(text(
                "INSERT INTO users (id, email, name, password_hash, role, is_active, session_version, created_at)"
                f" VALUES ({user_id}, 'u{user_id}@example.com', {name}, 'x', 'student', true, 1, CURRENT_TIMESTAMP)"))

    flask_migrate.upgrade()

    with db.engine.begin() as connection:
        keys = dict(connection.execute(text("SELECT id, search_key FROM users")).all())
        assert keys == {1: "王𠮷 wangji wj", 2: "司马光 simaguang smg", 3: None}
        connection.execute(text(
            "INSERT INTO users (id, email, name, phone, password_hash, role, is_active, session_version, created_at)"
            " VALUES (4, NULL, '赵六', '13900000004', 'x', 'student', true, 1, CURRENT_TIMESTAMP)"))

    flask_migrate.downgrade(revision="0007")

    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT email FROM users WHERE id = 4")).scalar() == "walk-in-4@example.invalid"


def test_0010_names_the_account_and_the_article_of_the_entries_already_written(migrated_app):
    flask_migrate.upgrade(revision="0009")
    with db.engine.begin() as connection:
        run = lambda sql: connection.execute(text(sql))  # noqa: E731
        for user_id in (1, 2):
            run("INSERT INTO users (id, email, name, password_hash, role, is_active, session_version, created_at)"
                f" VALUES ({user_id}, 'u{user_id}@example.com', '王𠮷', 'x', 'student', true, 1, CURRENT_TIMESTAMP)")
        run("INSERT INTO articles (id, slug, title) VALUES (7, 'xiaohongshu', '小红书电商')")
        run("INSERT INTO courses (id, slug, title) VALUES (1, 'xhs', '快速玩转小红书成长特训营')")
        run("INSERT INTO camp_sessions (id, course_id, starts_at, ends_at, price, capacity)"
            " VALUES (1, 1, '2027-09-17 01:00:00+00', '2027-09-19 09:00:00+00', 3980, 60)")
        run("INSERT INTO registrations (id, session_id, user_id, status, ticket_code)"
            " VALUES (5, 1, 2, 'confirmed', 'ABCDEFGHJK')")
        entries = [
            (1, "account.role", None, '{"user_id": 1, "role": "staff"}', ""),
            (2, "account.deactivate", None, '{"user_id": 99, "active": false}', "离职"),  # an account since deleted
            (3, "article.publish", None, '{"article_id": 7, "status": "published"}', "article:7 小红书电商"),
            (4, "registration.cancel", 5, '{"status": "cancelled", "session_id": 1}', ""),
            (5, "session.capacity", None, '{"capacity": 70}', ""),
        ]
        for entry_id, action, registration_id, after, note in entries:
            run("INSERT INTO audit_entries (id, action, registration_id, after, note, created_at) VALUES"
                f" ({entry_id}, '{action}', {registration_id or 'NULL'}, '{after}', '{note}', CURRENT_TIMESTAMP)")

    flask_migrate.upgrade()

    with db.engine.connect() as connection:
        subjects = {row.id: (row.account_id, row.article_id, row.note) for row in connection.execute(
            text("SELECT id, account_id, article_id, note FROM audit_entries"))}
    assert subjects == {1: (1, None, ""), 2: (None, None, "离职"), 3: (None, 7, "小红书电商"), 4: (2, None, ""),
                        5: (None, None, "")}
