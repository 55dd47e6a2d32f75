"""Initial schema: files, versions, scores, score tasks, cursors, runs, review entries, verdicts.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# ToolsDB's default collation ignores case: user names, titles and page names are
# case-sensitive on the wiki, so compare bytes (ignored by SQLite and PostgreSQL)
MARIADB = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("page_id", sa.BigInteger, nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("current_version_id", sa.Integer),
        sa.Column("current_since", UTCDateTime()),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("page_id", name="uq_files_page_id"),
        **MARIADB,
    )
    op.create_index("ix_files_title", "files", ["title"])
    op.create_table(
        "file_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sha1", sa.String(40), nullable=False),
        sa.Column("mime", sa.String(100)),
        sa.Column("media_type", sa.String(32)),
        sa.Column("size", sa.BigInteger),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("duration", sa.Double),
        sa.Column("uploader", sa.String(255)),
        sa.Column("uploaded_at", UTCDateTime()),
        sa.Column("url", sa.Text),
        sa.Column("thumb_url", sa.Text),
        sa.Column("categories", sa.JSON),
        sa.Column("source", sa.String(255)),
        sa.Column("log_id", sa.BigInteger),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("file_id", "sha1", name="uq_file_versions_file_sha1"),
        **MARIADB,
    )
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("file_versions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("model_id", sa.String(190), nullable=False),
        sa.Column("flagged", sa.Boolean),
        sa.Column("score", sa.Double),
        sa.Column("media_type", sa.String(32)),
        sa.Column("frames", sa.JSON),
        sa.Column("flagged_share", sa.Double),
        sa.Column("evidence_index", sa.Integer),
        sa.Column("evidence_time", sa.Double),
        sa.Column("error_kind", sa.String(64)),
        sa.Column("error_message", sa.Text),
        sa.Column("partial", sa.Boolean, nullable=False),
        sa.Column("timings", sa.JSON),
        sa.Column("scored_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("version_id", "model_id", name="uq_scores_version_model"),
        **MARIADB,
    )
    op.create_table(
        "score_tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("file_versions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("model_id", sa.String(190), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("available_at", UTCDateTime(), nullable=False),
        sa.Column("worker", sa.String(190)),
        sa.Column("claims", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_stage", sa.String(32)),
        sa.Column("last_kind", sa.String(64)),
        sa.Column("last_message", sa.Text),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("version_id", "model_id", name="uq_score_tasks_version_model"),
        **MARIADB,
    )
    op.create_index("ix_score_tasks_claimable", "score_tasks", ["model_id", "state", "available_at"])
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(190), primary_key=True),
        sa.Column("value", sa.JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        **MARIADB,
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("worker", sa.String(190), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("counts", sa.JSON),
        sa.Column("error", sa.Text),
        **MARIADB,
    )
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_table(
        "review_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("file_versions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("page", sa.String(190), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("revid", sa.BigInteger),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("version_id", "page", name="uq_review_entries_version_page"),
        **MARIADB,
    )
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("file_versions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("reviewer", sa.String(190), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("revid", sa.BigInteger, nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.Column("trusted", sa.Boolean, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("version_id", "reviewer", "revid", name="uq_verdicts_version_reviewer_revid"),
        **MARIADB,
    )


def downgrade() -> None:
    for table in ("verdicts", "review_entries", "runs", "cursors", "score_tasks", "scores",
                  "file_versions", "files"):
        op.drop_table(table)
