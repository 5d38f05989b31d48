"""job.claim: what a job holds alone while it is unfinished (an offboarding: its org and partner), unique.

One offboarding per partner and org, whatever the number of jobs: a second job with the same claim breaks the unique
index, on SQLite and PostgreSQL alike (both let any number of rows hold NULL, which every finished job does).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("claim", sa.String(length=120), nullable=True))
        batch.create_index("ix_job_claim", ["claim"], unique=True)
    # Offboardings unfinished at the upgrade (channel by channel, or everything) take their claim
    # (services.disconnecting.offboarding.offboard_claim), so none is started again beside them; of two already
    # running for one partner (the bug this fixes), the older.
    job = sa.table("job", sa.column("id"), sa.column("kind"), sa.column("status"), sa.column("created_at"),
                   sa.column("enterprise_id"), sa.column("payload"), sa.column("claim"))  # fmt: skip
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(job.c.id, job.c.enterprise_id, job.c.payload)
        .where(job.c.kind.in_(("offboard", "offboard_everything")), job.c.status.in_(("queued", "running")))
        .order_by(job.c.created_at)
    ).all()
    taken: set[str] = set()
    for job_id, enterprise_id, payload in rows:
        try:
            partner = json.loads(payload or "{}").get("partner")
        except (ValueError, AttributeError):
            continue
        claim = f"offboard:{enterprise_id or ''}:{partner or ''}"
        if partner and claim not in taken:
            taken.add(claim)
            bind.execute(sa.update(job).where(job.c.id == job_id).values(claim=claim))


def downgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.drop_index("ix_job_claim")
        batch.drop_column("claim")
