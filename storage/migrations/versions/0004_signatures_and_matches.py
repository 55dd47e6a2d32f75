"""Match signatures of scored frames, and the matches found with them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("file_versions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("model_id", sa.String(190), nullable=False),
        sa.Column("frame_index", sa.Integer(), nullable=False),
        sa.Column("pdq", sa.LargeBinary(32), nullable=False),
        sa.Column("pdq_quality", sa.SmallInteger(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("version_id", "model_id", "frame_index", name="uq_signatures_version_model_frame"),
    )
    op.create_table(
        "matches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("file_versions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("model_id", sa.String(190), nullable=False),
        sa.Column("reference_version_id", sa.Integer(),
                  sa.ForeignKey("file_versions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("frame_index", sa.Integer(), nullable=False),
        sa.Column("reference_frame_index", sa.Integer(), nullable=False),
        sa.Column("pdq_distance", sa.SmallInteger(), nullable=True),
        sa.Column("cosine", sa.Double(), nullable=True),
        sa.Column("found_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("version_id", "model_id", "reference_version_id",
                            name="uq_matches_version_model_reference"),
    )
    op.create_index("ix_matches_version_id", "matches", ["version_id"])


def downgrade() -> None:
    op.drop_index("ix_matches_version_id", table_name="matches")
    op.drop_table("matches")
    op.drop_table("signatures")
