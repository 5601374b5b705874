"""The migrations build exactly the schema the models describe, and can be undone.

Production databases are built by `flask db upgrade`, the test suite by `db.create_all()`; if the
two drift apart, the tests pass against a schema that nobody runs. This builds a fresh database of
the suite's kind (SQLite or PostgreSQL) from the migrations alone and compares it with the models.
"""
from __future__ import annotations

import uuid

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db


@pytest.fixture
def fresh_database_url(app, tmp_path):
    """The URL of a new, empty database on the same kind of server as the suite's."""
    with app.app_context():
        suite_url = db.engine.url
    if suite_url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return

    name = f"migration_check_{uuid.uuid4().hex[:12]}"
    server = create_engine(suite_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield suite_url.set(database=name).render_as_string(hide_password=False)
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


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
