"""The `offboard_plan` table's queries (services.disconnecting.partners.PlanStore keeps what a plan is)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.storage.database import Database


async def write_plan_row(database: Database, values: dict[str, Any], purge_before: datetime) -> None:
    """Insert or replace one plan; plans created before `purge_before` go in the same transaction."""
    from sqlalchemy import delete, insert

    from services.storage.tables import offboard_plan

    engine = await database.engine()
    async with engine.begin() as conn:
        await conn.execute(delete(offboard_plan).where(offboard_plan.c.created_at < purge_before))
        await conn.execute(delete(offboard_plan).where(offboard_plan.c.id == values["id"]))
        await conn.execute(insert(offboard_plan).values(**values))


async def plan_row(database: Database, plan_id: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    from services.storage.tables import offboard_plan

    engine = await database.engine()
    async with engine.connect() as conn:
        row = (await conn.execute(select(offboard_plan).where(offboard_plan.c.id == plan_id))).first()
    return None if row is None else dict(row._mapping)
