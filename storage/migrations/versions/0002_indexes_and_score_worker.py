"""Indexes for the review and status queries; which worker stored each score.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("worker", sa.String(190)))
    op.create_index("ix_scores_model_flagged", "scores", ["model_id", "flagged", "score"])
    op.create_index("ix_file_versions_uploaded_at", "file_versions", ["uploaded_at"])
    op.create_index("ix_verdicts_version_id", "verdicts", ["version_id"])


def downgrade() -> None:
    op.drop_index("ix_verdicts_version_id", table_name="verdicts")
    op.drop_index("ix_file_versions_uploaded_at", table_name="file_versions")
    op.drop_index("ix_scores_model_flagged", table_name="scores")
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("worker")
