"""The pace table (services.storage.pace_rows): a method's learned pace per installation, shared by every instance.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pace",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("interval", sa.Float(), nullable=False),
        sa.Column("next_free", sa.Float(), nullable=False),
        sa.Column("resume_at", sa.Float(), nullable=False),
        sa.Column("limited_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("pace")
