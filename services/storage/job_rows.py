"""The `job` table's queries (services.jobs.queue keeps what a job is: its states, its lease, who may claim it).

The statuses are the caller's, passed in. Each write is a transaction of its own, tried again while SQLite reports the
file locked by another writer; the writes of jobs being worked go one at a time (SQLite has one writer), while a new
job's row, which a user's ack waits for, goes straight to the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.storage.database import Database, write_retrying

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Executable
    from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

# A write that found SQLite's file locked waits this many seconds, times the attempts so far, before the next attempt.
_WRITE_PAUSE = 0.05


def _claimable(waiting: str, leased: str, now: datetime) -> ColumnElement[bool]:
    """Rows in status `waiting`, or in `leased` with a lease that ran out before `now`."""
    from sqlalchemy import and_, or_

    from services.storage.tables import job

    return or_(job.c.status == waiting, and_(job.c.status == leased, job.c.lease_expires_at < now))


class JobRows:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._write_lock = asyncio.Lock()  # this process's job writes one at a time (SQLite has one writer)
        self._tuned = False

    async def _tune(self, engine: AsyncEngine) -> None:
        """SQLite: write-ahead logging, so each checkpoint is one append and one fsync, not a rollback journal's
        several (a job writes after every item). The mode is kept in the file; readers never block the writer."""
        self._tuned = True
        if engine.dialect.name != "sqlite":
            return
        try:
            async with engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        except Exception as e:  # noqa: BLE001 - the default journal still works, only slower
            logger.info("Could not switch SQLite to WAL (%s)", type(e).__name__)

    async def _write(self, statement: Executable, *, in_line: bool = True) -> int:
        """Execute one write; its row count. `in_line`: behind this process's other job writes."""
        engine = await self.database.engine()
        async with self._write_lock if in_line else contextlib.nullcontext():
            if not self._tuned:
                await self._tune(engine)
            result = await write_retrying(engine, lambda conn: conn.execute(statement), pause=_WRITE_PAUSE)
        return result.rowcount

    async def _read(self, query: Executable) -> list[dict[str, Any]]:
        engine = await self.database.engine()
        async with engine.connect() as conn:
            return [dict(row._mapping) for row in await conn.execute(query)]

    async def insert(self, values: Mapping[str, Any]) -> bool:
        """Write a new row, straight to the database; False when it breaks a constraint (its ID is taken)."""
        from sqlalchemy import insert
        from sqlalchemy.exc import IntegrityError

        from services.storage.tables import job

        try:
            await self._write(insert(job).values(**values), in_line=False)
        except IntegrityError:
            return False
        return True

    async def update(
        self,
        job_id: str,
        values: Mapping[str, Any],
        *,
        status_in: Sequence[str] | None = None,
        lease_owner: str | None = None,
        summary_unsent: bool = False,
        in_line: bool = True,
    ) -> bool:
        """Set `values` on the row if every condition given holds (its status is one of `status_in`, its lease is
        `lease_owner`'s, its summary is not claimed yet): one conditional UPDATE. Whether it changed the row."""
        from sqlalchemy import update

        from services.storage.tables import job

        statement = update(job).where(job.c.id == job_id)
        if status_in is not None:
            statement = statement.where(job.c.status.in_(status_in))
        if lease_owner is not None:
            statement = statement.where(job.c.lease_owner == lease_owner)
        if summary_unsent:
            statement = statement.where(job.c.summary_sent_at.is_(None))
        return await self._write(statement.values(**values), in_line=in_line) == 1

    async def claimable_ids(self, *, waiting: str, leased: str, now: datetime, limit: int) -> list[str]:
        """The oldest rows' IDs (at most `limit`) in status `waiting`, or `leased` with a lease run out before `now`."""
        from sqlalchemy import select

        from services.storage.tables import job

        query = select(job.c.id).where(_claimable(waiting, leased, now)).order_by(job.c.created_at).limit(limit)
        engine = await self.database.engine()
        async with engine.connect() as conn:
            return list((await conn.execute(query)).scalars().all())

    async def claim(
        self, job_id: str, *, waiting: str, leased: str, now: datetime, owner: str, lease_expires_at: datetime
    ) -> bool:
        """The row in status `leased`, leased to `owner`, if it is still claimable (`claimable_ids`' condition, in
        the UPDATE itself: of two instances racing for the row, exactly one changes it). Its attempts go up by one;
        a row taken from a lease that ran out is marked interrupted."""
        from sqlalchemy import and_, case, update

        from services.storage.tables import job

        statement = (
            update(job)
            .where(job.c.id == job_id)
            .where(_claimable(waiting, leased, now))
            .values(
                status=leased,
                lease_owner=owner,
                lease_expires_at=lease_expires_at,
                attempts=job.c.attempts + 1,
                # Leased with a lapsed lease: whoever had it died mid-job (a drain marks its release interrupted
                # itself; a release after a database outage, with no owner, is no interruption).
                interrupted=case(
                    (and_(job.c.status == leased, job.c.lease_owner.is_not(None)), True), else_=job.c.interrupted
                ),
                updated_at=now,
            )
        )
        return await self._write(statement) == 1

    async def get(self, job_id: str) -> dict[str, Any] | None:
        from sqlalchemy import select

        from services.storage.tables import job

        rows = await self._read(select(job).where(job.c.id == job_id))
        return rows[0] if rows else None

    async def holding(self, claim: str, *, finished: Sequence[str]) -> dict[str, Any] | None:
        """The row holding `claim` in no status of `finished`, if any (finishing clears a claim; a row finished by a
        process that predates the column keeps it: see give_up_finished)."""
        from sqlalchemy import select

        from services.storage.tables import job

        rows = await self._read(select(job).where(job.c.claim == claim, job.c.status.not_in(finished)))
        return rows[0] if rows else None

    async def give_up_finished(self, claim: str, *, finished: Sequence[str]) -> bool:
        """Clear `claim` on a row in one of `finished` still holding it: one finished by an instance of the version
        before the claim column (a rolling upgrade: the migration gave its running job the claim, its finish
        didn't clear it). Whether a row changed."""
        from sqlalchemy import update

        from services.storage.tables import job

        statement = update(job).where(job.c.claim == claim, job.c.status.in_(finished)).values(claim=None)
        return bool(await self._write(statement))

    async def unfinished(
        self, kind: str, enterprise_id: str, *, finished: Sequence[str], offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """An org's rows of `kind` in no status of `finished`, oldest first, from `offset` (at most `limit`); and how
        many there are in all."""
        from sqlalchemy import func, select

        from services.storage.tables import job

        where = (job.c.kind == kind, job.c.enterprise_id == enterprise_id, job.c.status.not_in(finished))
        rows = await self._read(
            select(job).where(*where).order_by(job.c.created_at, job.c.id).offset(offset).limit(limit)
        )
        engine = await self.database.engine()
        async with engine.connect() as conn:
            total = (await conn.execute(select(func.count()).select_from(job).where(*where))).scalar() or 0
        return rows, int(total)

    async def finished_since(
        self, kind: str, enterprise_id: str, *, since: datetime, limit: int
    ) -> list[dict[str, Any]]:
        """An org's rows of `kind` finished after `since`, newest first (at most `limit`)."""
        from sqlalchemy import select

        from services.storage.tables import job

        return await self._read(
            select(job)
            .where(job.c.kind == kind, job.c.enterprise_id == enterprise_id, job.c.finished_at > since)
            .order_by(job.c.finished_at.desc())
            .limit(limit)
        )

    async def all(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every row (of `kind`, when given), oldest first."""
        from sqlalchemy import select

        from services.storage.tables import job

        query = select(job).order_by(job.c.created_at)
        if kind is not None:
            query = query.where(job.c.kind == kind)
        return await self._read(query)

    async def earliest_lease_expiry(self, *, status: str, owner_not: str) -> datetime | None:
        """When the first lease of a row in `status` held by someone other than `owner_not` runs out."""
        from sqlalchemy import func, select

        from services.storage.tables import job

        engine = await self.database.engine()
        async with engine.connect() as conn:
            moment: datetime | None = (
                await conn.execute(
                    select(func.min(job.c.lease_expires_at))
                    .where(job.c.status == status)
                    .where(job.c.lease_owner != owner_not)
                )
            ).scalar()
        return moment

    async def delete_finished(self, statuses: Sequence[str], before: datetime) -> int:
        """Delete the rows in one of `statuses` finished before `before`; how many."""
        from sqlalchemy import delete

        from services.storage.tables import job

        return await self._write(delete(job).where(job.c.status.in_(statuses)).where(job.c.finished_at < before)) or 0
