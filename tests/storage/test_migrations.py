"""Alembic: from an empty database, from the previous revision with data in it, and back."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import datetime, timezone

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

import storage
from storage.engine import make_engine
from storage.migrate import alembic_config, head_revision, upgrade_engine
from storage.schema import Base

from .workload import MODEL, score_for, version


def test_head_revision_constant_matches_the_migration_scripts():
    # storage knows its head without importing Alembic; it must be the scripts' head,
    # and upgrading "from the previous revision" below is only real with two of them
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == head_revision()
    assert head_revision() == "0005"


def test_upgrade_from_empty_database_matches_the_models(db_url):
    engine = make_engine(db_url)
    with engine.connect() as connection:
        assert inspect(connection).get_table_names() == []
    store = storage.open_store(db_url)
    assert store.revision() == head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            # MariaDB reports JSON as LONGTEXT and BOOLEAN as TINYINT: compare types elsewhere
            "compare_type": engine.dialect.name != "mysql"})
        assert compare_metadata(context, Base.metadata) == []
    store.close()
    engine.dispose()


def test_upgrade_from_previous_revision_keeps_the_data(db_url):
    engine = make_engine(db_url)
    upgrade_engine(engine, "0001")
    now = datetime.now(timezone.utc)
    naive = now.replace(tzinfo=None)
    with engine.begin() as connection:  # rows as revision 0001 knew them
        connection.execute(text(
            "INSERT INTO files (page_id, title, first_seen_at, updated_at) "
            "VALUES (42, 'File:Old.jpg', :now, :now)"), {"now": naive})
        file_id = connection.scalar(text("SELECT id FROM files WHERE page_id = 42"))
        connection.execute(text(
            "INSERT INTO file_versions (file_id, sha1, ingested_at) VALUES (:f, :sha1, :now)"),
            {"f": file_id, "sha1": "a" * 40, "now": naive})
        old_id = connection.scalar(text("SELECT id FROM file_versions WHERE file_id = :f"),
                                   {"f": file_id})
        connection.execute(text(
            "INSERT INTO scores (version_id, model_id, flagged, score, partial, scored_at) "
            "VALUES (:v, 'old-model@1', :t, 0.75, :f, :now)"),
            {"v": old_id, "t": True, "f": False, "now": naive})
    with engine.connect() as connection:
        assert "worker" not in {c["name"] for c in inspect(connection).get_columns("scores")}
    store = storage.open_store(db_url)  # migrates 0001 -> 0002 -> 0003 -> 0004 -> 0005
    assert store.revision() == "0005"
    (flagged,) = store.flagged_for_review("old-model@1", threshold=0.5, limit=5)
    assert (flagged.version_id, flagged.title, flagged.score) == (old_id, "File:Old.jpg", 0.75)
    # and the new column is used
    (vid,) = store.add_file_versions([version(1)])
    assert store.record_score(vid, MODEL, score_for(vid), worker="w1")
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT worker FROM scores WHERE version_id = :v"),
                                 {"v": vid}) == "w1"
    store.close()
    engine.dispose()


def test_downgrade_to_base_and_up_again(db_url):
    engine = make_engine(db_url)
    upgrade_engine(engine)
    with engine.connect() as connection:
        command.downgrade(alembic_config(connection), "base")
        connection.commit()
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    upgrade_engine(engine)
    with engine.connect() as connection:
        assert "score_tasks" in inspect(connection).get_table_names()
    engine.dispose()


def test_workers_starting_together_migrate_once(db_url):
    code = "import storage, sys; storage.open_store(sys.argv[1]).close()"
    processes = [subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE)
                 for _ in range(2)]
    errors = [p.communicate(timeout=120)[1].decode() for p in processes]
    assert [p.returncode for p in processes] == [0, 0], errors
    store = storage.open_store(db_url, migrate=False)
    assert store.revision() == head_revision()
    store.close()


def test_upgrade_from_0002_keeps_files_and_adds_deleted_at(db_url):
    engine = make_engine(db_url)
    upgrade_engine(engine, "0002")
    naive = datetime.now(timezone.utc).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO files (page_id, title, first_seen_at, updated_at) "
            "VALUES (7, 'File:Kept.jpg', :now, :now)"), {"now": naive})
    with engine.connect() as connection:
        assert "deleted_at" not in {c["name"] for c in inspect(connection).get_columns("files")}
    store = storage.open_store(db_url)
    assert store.revision() == "0005"
    assert store.mark_deleted(page_ids=[7]) == []  # the old row takes the new column
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT deleted_at FROM files WHERE page_id = 7")) is not None
    store.close()
    engine.dispose()


def test_upgrade_from_0003_keeps_scores_and_records_what_new_ones_were_decided_under(db_url):
    engine = make_engine(db_url)
    upgrade_engine(engine, "0003")
    naive = datetime.now(timezone.utc).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO files (page_id, title, first_seen_at, updated_at) "
            "VALUES (9, 'File:Before.jpg', :now, :now)"), {"now": naive})
        file_id = connection.scalar(text("SELECT id FROM files WHERE page_id = 9"))
        connection.execute(text(
            "INSERT INTO file_versions (file_id, sha1, ingested_at) VALUES (:f, :sha1, :now)"),
            {"f": file_id, "sha1": "b" * 40, "now": naive})
        old_id = connection.scalar(text("SELECT id FROM file_versions WHERE file_id = :f"),
                                   {"f": file_id})
        connection.execute(text(
            "INSERT INTO scores (version_id, model_id, flagged, score, partial, scored_at) "
            "VALUES (:v, :m, :t, 0.9, :f, :now)"),
            {"v": old_id, "m": MODEL, "t": True, "f": False, "now": naive})
    store = storage.open_store(db_url)
    assert store.revision() == "0005"
    before = store.latest_scores(MODEL, ["File:Before.jpg"])["File:Before.jpg"]
    assert (before.score, before.threshold, before.vote_rule) == (0.9, None, None)  # not known
    (vid,) = store.add_file_versions([version(1)])
    store.record_score(vid, MODEL, dataclasses.replace(score_for(vid), threshold=0.7,
                                                       vote_rule="any-k k=2"))
    with engine.connect() as connection:
        assert tuple(connection.execute(text(
            "SELECT threshold, vote_rule FROM scores WHERE version_id = :v"), {"v": vid}).one()) \
            == (0.7, "any-k k=2")
    store.upsert_review_entry(old_id, page="P", state="removed", revid=5, removed_by="Patty",
                              removed_at=datetime(2026, 11, 29, 12, tzinfo=timezone.utc))
    (entry,) = store.review_entries("P")
    assert (entry.removed_by, entry.removed_at) == ("Patty", datetime(2026, 11, 29, 12,
                                                                       tzinfo=timezone.utc))
    store.upsert_review_entry(old_id, page="P", state="listed", revid=6)   # put back
    (entry,) = store.review_entries("P")
    assert (entry.removed_by, entry.removed_at) == (None, None)
    store.close()
    engine.dispose()
