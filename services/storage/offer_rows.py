"""The `rejoin_offer` table's queries (services.leaving.offers keeps what a Rejoin button can't carry)."""

from __future__ import annotations

import asyncio
import importlib
from datetime import datetime
from typing import Any

from services.storage.database import Database


async def open_offer_rows(database: Database) -> None:
    """Load SQLAlchemy and the tables, and open the database, ahead of a write (a big leave's warm-up).

    Loading SQLAlchemy is ~0.2 s of CPU: in a thread, the event loop keeps serving while it happens.
    """
    await asyncio.to_thread(importlib.import_module, "services.storage.tables")
    await database.engine()  # loads SQLAlchemy in a thread itself


async def insert_offer_row(database: Database, values: dict[str, Any], purge_before: datetime) -> None:
    """Write one offer; rows created before `purge_before` go in the same transaction."""
    from sqlalchemy import delete, insert

    from services.storage.tables import rejoin_offer

    engine = await database.engine()
    async with engine.begin() as conn:
        await conn.execute(delete(rejoin_offer).where(rejoin_offer.c.created_at < purge_before))
        await conn.execute(insert(rejoin_offer).values(**values))


async def offer_row(database: Database, offer_id: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    from services.storage.tables import rejoin_offer

    engine = await database.engine()
    async with engine.connect() as conn:
        row = (await conn.execute(select(rejoin_offer).where(rejoin_offer.c.id == offer_id))).first()
    return None if row is None else dict(row._mapping)


async def claim_offer_row(database: Database, offer_id: str, now: datetime, stale_before: datetime) -> bool:
    """Set `claimed_at` if no one holds the row (or its claim is older than `stale_before`); whether this did."""
    from sqlalchemy import or_, update

    from services.storage.tables import rejoin_offer

    engine = await database.engine()
    async with engine.begin() as conn:
        result = await conn.execute(
            update(rejoin_offer)
            .where(rejoin_offer.c.id == offer_id)
            .where(or_(rejoin_offer.c.claimed_at.is_(None), rejoin_offer.c.claimed_at < stale_before))
            .values(claimed_at=now)
        )
    return bool(result.rowcount == 1)


async def release_offer_row(database: Database, offer_id: str) -> None:
    from sqlalchemy import update

    from services.storage.tables import rejoin_offer

    engine = await database.engine()
    async with engine.begin() as conn:
        await conn.execute(update(rejoin_offer).where(rejoin_offer.c.id == offer_id).values(claimed_at=None))
