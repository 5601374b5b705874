"""One user action, one transaction: service functions called inside another `@write_transaction`
function are steps of its transaction (app/common/db.py). They commit once, together, or not at
all; a step cannot commit or roll back the action half-way."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from app.catalog import service as catalog
from app.catalog.models import CampSession, Course
from app.common.db import begin_write, in_write_transaction, write_transaction
from app.common.time import utcnow
from app.extensions import db


@contextmanager
def counted_commits():
    commits: list[None] = []

    def count(_connection) -> None:
        commits.append(None)

    event.listen(db.engine, "commit", count)
    try:
        yield commits
    finally:
        event.remove(db.engine, "commit", count)


def _course_and_session(title: str = "抖音电商爆单特训营 䶮") -> int:
    """Two service functions, each a write transaction of its own when called alone."""
    course = catalog.create_course(title=title, platform="抖音", duration_label="3天2夜", is_published=True)
    starts_at = utcnow().replace(microsecond=0)
    return catalog.create_session(course.id, capacity=3, starts_at=starts_at, ends_at=starts_at + timedelta(days=2),
                                  city="杭州", price=Decimal("3980.00"), is_published=True).id


class Refused(Exception):
    pass


@write_transaction
def _both() -> int:
    assert in_write_transaction()
    return _course_and_session()


@write_transaction
def _both_then_refused() -> None:
    _course_and_session()
    raise Refused()


@write_transaction
def _a_step_that_commits() -> None:
    _course_and_session()
    db.session.commit()


@write_transaction
def _a_step_that_rolls_back() -> None:
    catalog.create_course(title="先写的课程", platform="抖音", duration_label="1天", is_published=True)
    db.session.rollback()
    catalog.create_course(title="后写的课程", platform="抖音", duration_label="1天", is_published=True)


def _rows() -> tuple[int, int]:
    db.session.rollback()  # a fresh look at what was committed
    return (db.session.scalar(select(func.count()).select_from(Course)),
            db.session.scalar(select(func.count()).select_from(CampSession)))


def test_steps_commit_once_together(ctx):
    with counted_commits() as commits:
        session_id = _both()

    assert len(commits) == 1
    assert db.session.get(CampSession, session_id).course.title == "抖音电商爆单特训营 䶮"
    assert not in_write_transaction()


def test_a_refusal_after_the_steps_undoes_them_all(ctx):
    with pytest.raises(Refused):
        _both_then_refused()
    assert _rows() == (0, 0)
    assert not in_write_transaction()


def test_a_step_that_commits_half_way_is_refused_and_nothing_is_kept(ctx):
    with pytest.raises(RuntimeError, match="commit inside a write transaction"):
        _a_step_that_commits()
    assert _rows() == (0, 0)


def test_a_step_that_rolls_back_half_way_is_refused_and_nothing_after_it_is_kept(ctx):
    with pytest.raises(RuntimeError, match="ended the write transaction"):
        _a_step_that_rolls_back()
    assert _rows() == (0, 0)


def test_begin_write_inside_a_write_transaction_goes_on_with_it(ctx):
    """begin_write() used to start afresh (on SQLite, by rolling back what the request had read),
    which inside an action would have dropped its earlier steps."""

    @write_transaction
    def course_then_begin_write() -> None:
        catalog.create_course(title="小红书种草营", platform="小红书", duration_label="2天", is_published=True)
        begin_write()
        catalog.create_course(title="私域运营营", platform="私域", duration_label="2天", is_published=True)

    with counted_commits() as commits:
        course_then_begin_write()
    assert len(commits) == 1 and _rows() == (2, 0)


def test_each_function_alone_still_commits_its_own_work(ctx):
    with counted_commits() as commits:
        _course_and_session()
    assert len(commits) == 2 and _rows() == (1, 1)
