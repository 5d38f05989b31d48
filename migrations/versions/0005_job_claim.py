"""job.claim: what a job holds alone while it is unfinished (an offboarding: its org and partner), unique.

One offboarding per partner and org, whatever the number of jobs: a second job with the same claim breaks the unique
index, on SQLite and PostgreSQL alike (both let any number of rows hold NULL, which every finished job does).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("claim", sa.String(length=120), nullable=True))
        batch.create_index("ix_job_claim", ["claim"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.drop_index("ix_job_claim")
        batch.drop_column("claim")
