"""The pace table: a Web API method's pace per installation token, shared through the database by every instance.

services.slack.pacing.Pacer learns an interval from Slack's 429s (Retry-After); with this, what one instance learns
every instance uses, and the starts are reserved here, so N instances or gunicorn workers together call at the
learned rate, not N times it. Rate limits are per method, per workspace, per app
(https://docs.slack.dev/apis/web-api/rate-limits; ../shared/slack-facts.md, "Tokens, installs, retries").

A start is reserved by one statement, `UPDATE pace SET next_free = max(next_free, resume_at, now) + interval …
RETURNING next_free`: atomic on both databases (PostgreSQL locks the row for the UPDATE and re-reads it, SQLite has
one writer at a time), so two instances never get the same start. Nothing here is used before the database is open
(a single-channel leave never opens it).
"""

from __future__ import annotations

import logging
from typing import Any

from services.storage.database import Database, write_retrying

logger = logging.getLogger(__name__)


class PaceRows:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def _run(self, build: Any) -> Any:
        """One statement in its own transaction; retried while SQLite reports the file locked, and after a row
        inserted by another instance at the same moment (IntegrityError). None if the database is not open."""
        from sqlalchemy.exc import IntegrityError

        if not self.database.opened:
            return None
        engine = await self.database.engine()
        dialect = engine.dialect.name
        return await write_retrying(engine, lambda conn: build(conn, dialect), pause=0.02, retry_on=(IntegrityError,))

    @staticmethod
    async def _ensure(conn: Any, key: str) -> None:
        from sqlalchemy import insert, select

        from services.storage.tables import pace

        if (await conn.execute(select(pace.c.key).where(pace.c.key == key))).first() is None:
            await conn.execute(insert(pace).values(key=key, interval=0.0, next_free=0.0, resume_at=0.0, limited_at=0.0))

    async def learned(self, key: str) -> tuple[float, float, float] | None:
        """(interval, resume_at, limited_at) as every instance knows them; None when there is no row or no database."""
        from sqlalchemy import select

        from services.storage.tables import pace

        async def build(conn: Any, _: str) -> tuple[float, float, float] | None:
            row = (
                await conn.execute(
                    select(pace.c.interval, pace.c.resume_at, pace.c.limited_at).where(pace.c.key == key)
                )
            ).first()
            return None if row is None else (float(row[0]), float(row[1]), float(row[2]))

        result: tuple[float, float, float] | None = await self._run(build)
        return result

    async def publish(self, key: str, *, interval: float, resume_at: float, limited_at: float) -> None:
        """What this instance learned from a 429: never lowers another instance's pause; the interval is the newest."""
        from sqlalchemy import case, update

        from services.storage.tables import pace

        async def build(conn: Any, _: str) -> None:
            await self._ensure(conn, key)
            await conn.execute(
                update(pace)
                .where(pace.c.key == key)
                .values(
                    interval=case((pace.c.interval > interval, pace.c.interval), else_=interval)
                    if interval
                    else pace.c.interval,
                    resume_at=case((pace.c.resume_at > resume_at, pace.c.resume_at), else_=resume_at),
                    limited_at=case((pace.c.limited_at > limited_at, pace.c.limited_at), else_=limited_at),
                )
            )

        await self._run(build)

    async def reserve(self, key: str, interval: float, now: float, count: int = 1) -> tuple[float, float] | None:
        """`count` starts reserved for this instance in the pace every instance shares: (the first, in Unix seconds;
        the interval between them, the larger of `interval` and the shared one)."""
        from sqlalchemy import func, update

        from services.storage.tables import pace

        async def build(conn: Any, dialect: str) -> tuple[float, float] | None:
            greatest = func.greatest if dialect == "postgresql" else func.max  # SQLite's max() of several is scalar
            start = greatest(pace.c.next_free, pace.c.resume_at, now)
            step = greatest(pace.c.interval, interval)
            statement = (
                update(pace)
                .where(pace.c.key == key)
                .values(next_free=start + step * count)
                .returning(pace.c.next_free, step)
            )
            row = (await conn.execute(statement)).first()
            if row is None:
                await self._ensure(conn, key)
                row = (await conn.execute(statement)).first()
            return None if row is None else (float(row[0]) - float(row[1]) * count, float(row[1]))

        try:
            result: tuple[float, float] | None = await self._run(build)
        except Exception as e:  # noqa: BLE001 - the local pace still holds; the database is not worth failing a call for
            logger.info("Shared pace unavailable (%s); pacing this instance alone", type(e).__name__)
            return None
        return result
