"""The SQL building blocks the booking statement builds its email and audit rows with
(app/common/sql.py), on the suite's database."""
from __future__ import annotations

import pytest
from sqlalchemy import literal, select

from app.common.sql import constant, json_object, json_value
from app.extensions import db


def test_a_json_object_built_in_sql_reads_back_as_the_same_dict(app):
    with app.app_context():
        built = db.session.scalar(select(json_object(registration_id=literal(7), waitlist_position=None,
                                                     status=literal("waitlisted"), name=literal("王𠮷"))))
    assert built == {"registration_id": 7, "waitlist_position": None, "status": "waitlisted", "name": "王𠮷"}


def test_plain_values_stay_a_dict_and_sql_values_make_a_json_object():
    assert json_value({"a": 1, "b": None}) == {"a": 1, "b": None}
    assert isinstance(json_value({"a": literal(1)}), json_object)


@pytest.mark.parametrize("value", ["it's", "a b", "x;--", "名", 1.5, True, None])
def test_only_plain_words_and_integers_are_written_into_the_sql(value):
    with pytest.raises((TypeError, ValueError)):
        constant(value)


def test_constants_are_written_as_they_are(app):
    with app.app_context():
        row = db.session.execute(select(constant("booking_confirmed"), constant(3))).one()
    assert tuple(row) == ("booking_confirmed", 3)
