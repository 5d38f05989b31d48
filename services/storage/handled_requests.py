"""Act on a request once, whichever instance it reaches: a replayed confirmation or button press does nothing twice.

Each HTTP instance also drops byte-identical replays it has seen (server.request_guard); this table covers the
others, and replays that differ only outside the part the app acts on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.storage.database import Database

KEEP_FOR = timedelta(days=1)  # Slack refuses a request more than five minutes old: a day is plenty


class HandledRequests:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def first_time(self, key: str) -> bool:
        """Record `key`; False if it was recorded before (by this or any instance sharing the database)."""
        from sqlalchemy import delete, insert
        from sqlalchemy.exc import IntegrityError

        from services.storage.tables import handled_request

        engine = await self._database.engine()
        now = datetime.now(UTC)
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(handled_request).values(key=key[:120], at=now))
        except IntegrityError:
            return False
        async with engine.begin() as conn:
            await conn.execute(delete(handled_request).where(handled_request.c.at < now - KEEP_FOR))
        return True
