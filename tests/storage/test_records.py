"""Records declare no column twice: their fields and types come from storage.schema."""
from __future__ import annotations

import dataclasses
import typing

import pytest

from storage import records
from storage.schema import Run, Score, Verdict


def test_a_table_shaped_record_has_the_tables_columns_in_order():
    names = [f.name for f in dataclasses.fields(records.VerdictIn)]
    assert names == [c.key for c in Verdict.__table__.columns if c.key not in ("id", "recorded_at")]
    assert [f.name for f in dataclasses.fields(records.RunRecord)] == \
        [c.key for c in Run.__table__.columns]


def test_field_types_follow_the_schema_unless_the_record_says_otherwise():
    hints = typing.get_type_hints(records.ScoreIn)
    assert hints["score"] == float | None and hints["error_kind"] == str | None
    assert hints["partial"] is bool  # the column's own default, False, is the field's
    assert records.ScoreIn().partial is False and records.ScoreIn().frames == ()
    assert typing.get_type_hints(records.VerdictIn)["revid"] == int | None  # column: int, 0 = none


def test_records_are_frozen_plain_data():
    for name in records.__all__:
        record = getattr(records, name)
        if isinstance(record, type):
            assert dataclasses.is_dataclass(record) and record.__dataclass_params__.frozen
            assert not hasattr(record, "__table__") and not hasattr(record, "_sa_class_manager")
    with pytest.raises(dataclasses.FrozenInstanceError):
        records.ScoreIn().score = 1.0  # type: ignore[misc]


def test_a_column_list_names_no_column_twice():
    fields = [f.name for f in dataclasses.fields(records.FlaggedVersion)]
    assert len(fields) == len(set(fields))
    assert fields[:3] == ["version_id", "page_id", "title"] and fields[-1] == "review_state"
    assert "score" in fields and Score.__table__.columns["score"].nullable  # narrowed to float


def test_a_stored_score_is_ok_unless_it_has_an_error_kind():
    """``score TITLE`` prints the error kind only for a file that could not be scored."""
    from storage.scoring import ScoreOut

    assert ScoreOut(score=0.3, flagged=False, error_kind=None).ok
    assert not ScoreOut(score=None, flagged=False, error_kind="undecodable").ok
