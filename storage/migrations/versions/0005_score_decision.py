"""What each score was decided under (the threshold and voting rule in force), and who
removed a review entry, when.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # scores stored before keep NULL: what they were decided under was not recorded
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("threshold", sa.Double(), nullable=True))
        batch.add_column(sa.Column("vote_rule", sa.String(32), nullable=True))
    with op.batch_alter_table("review_entries") as batch:
        batch.add_column(sa.Column("removed_by", sa.String(190), nullable=True))
        batch.add_column(sa.Column("removed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_entries") as batch:
        batch.drop_column("removed_at")
        batch.drop_column("removed_by")
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("vote_rule")
        batch.drop_column("threshold")
