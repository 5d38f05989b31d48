"""audit_log.job_id: the job an audit entry belongs to (an offboarding: its start, each channel, its end, a cancel).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A database adopted by 0001 from tables made with today's models already has the column: leave it as it is.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("audit_log")}
    if "job_id" in columns:
        return
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("job_id", sa.String(length=32), nullable=True))
        batch.create_index("ix_audit_log_job_id", ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_job_id")
        batch.drop_column("job_id")
