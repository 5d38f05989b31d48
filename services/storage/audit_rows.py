"""The `audit_log` table's queries: append a row, read the newest, one org's page, the dangling ones, the rows matching
export filters in batches, a retention purge (services.audit.log)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.storage.database import Database

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_audit_row(database: Database, values: dict[str, Any]) -> None:
    from sqlalchemy import insert

    from services.storage.tables import audit_log

    engine = await database.engine()
    async with engine.begin() as conn:
        await conn.execute(insert(audit_log).values(**values))


async def newest_audit_rows(database: Database, limit: int) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from services.storage.tables import audit_log

    engine = await database.engine()
    async with engine.connect() as conn:
        rows = await conn.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(limit))
        return [dict(row._mapping) for row in rows]


async def audit_rows_page(
    database: Database, enterprise_id: str | None, team_id: str | None, before_id: int | None, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """One org's (else one workspace's) rows, newest first, older than `before_id`; and whether more exist."""
    from sqlalchemy import select

    from services.storage.tables import audit_log

    query = select(audit_log)
    if enterprise_id:
        query = query.where(audit_log.c.enterprise_id == enterprise_id)
    else:
        query = query.where(audit_log.c.enterprise_id.is_(None), audit_log.c.team_id == team_id)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    engine = await database.engine()
    async with engine.connect() as conn:
        rows = [dict(r._mapping) for r in await conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit + 1))]
    return rows[:limit], len(rows) > limit


async def dangling_audit_rows(
    database: Database, *, action: str, pending: tuple[str, str], results: Sequence[str], before: datetime
) -> list[dict[str, Any]]:
    """Rows of `action` with (event, outcome) == `pending`, written before `before`, with no later row of the same
    user, channel and leaving team whose event is one of `results`."""
    from sqlalchemy import and_, exists, select

    from services.storage.tables import audit_log

    later = audit_log.alias("later")
    result_after = exists().where(
        and_(
            later.c.id > audit_log.c.id,
            later.c.user_id == audit_log.c.user_id,
            later.c.channel_id == audit_log.c.channel_id,
            later.c.leaving_team_id == audit_log.c.leaving_team_id,
            later.c.event.in_(list(results)),
        )
    )
    query = (
        select(audit_log)
        .where(audit_log.c.action == action)
        .where(audit_log.c.event == pending[0])
        .where(audit_log.c.outcome == pending[1])
        .where(audit_log.c.at < before)
        .where(~result_after)
        .order_by(audit_log.c.id)
    )
    engine = await database.engine()
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(query)]


async def job_audit_rows(database: Database, job_id: str, event: str | None) -> list[dict[str, Any]]:
    """A job's rows, oldest first (only `event` ones when given)."""
    from sqlalchemy import select

    from services.storage.tables import audit_log

    query = select(audit_log).where(audit_log.c.job_id == job_id)
    if event is not None:
        query = query.where(audit_log.c.event == event)
    engine = await database.engine()
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(query.order_by(audit_log.c.id))]


def _utc_naive_for_sqlite(moment: datetime, sqlite: bool) -> datetime:
    """SQLite stores a DateTime as its text without the zone (the app writes UTC): compare in UTC there too."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(tzinfo=None) if sqlite else moment.astimezone(UTC)


async def audit_row_batches(
    database: Database,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    org: str | None = None,
    events: Sequence[str] = (),
    channel_id: str | None = None,
    job_id: str | None = None,
    batch_size: int = 1000,
    limit: int | None = None,
    newest_first: bool = False,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The rows matching every filter given, oldest first (or newest first), `batch_size` at a time (keyset paging on the ID: each batch
    is one short query, memory stays one batch, no transaction is held between batches); at most `limit` rows.

    `since` is inclusive and `until` exclusive; `org` is an Enterprise org's ID (E…) or a standalone workspace's (T…)."""
    from sqlalchemy import or_, select

    from services.storage.tables import audit_log

    engine = await database.engine()
    sqlite = engine.dialect.name == "sqlite"
    query = select(audit_log)
    if since is not None:
        query = query.where(audit_log.c.at >= _utc_naive_for_sqlite(since, sqlite))
    if until is not None:
        query = query.where(audit_log.c.at < _utc_naive_for_sqlite(until, sqlite))
    if org:
        query = query.where(or_(audit_log.c.enterprise_id == org, audit_log.c.team_id == org))
    if events:
        query = query.where(audit_log.c.event.in_(list(events)))
    if channel_id:
        query = query.where(audit_log.c.channel_id == channel_id)
    if job_id:
        query = query.where(audit_log.c.job_id == job_id)
    after: int | None = None
    left = limit
    while left is None or left > 0:
        size = batch_size if left is None else min(batch_size, left)
        if newest_first:
            page_query = query.order_by(audit_log.c.id.desc())
            page_query = page_query if after is None else page_query.where(audit_log.c.id < after)
        else:
            page_query = query.order_by(audit_log.c.id).where(audit_log.c.id > (after or 0))
        async with engine.connect() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(page_query.limit(size))]
        if not rows:
            return
        yield rows
        after = rows[-1]["id"]
        if left is not None:
            left -= len(rows)
        if len(rows) < size:
            return


async def purge_audit_rows(database: Database, before: datetime, record: Callable[[int], dict[str, Any]]) -> int:
    """Delete the rows written before `before` and, when any were, write `record(count)` as a row in the same
    transaction (a purge is never unrecorded, nor recorded without having happened); returns the count.

    Several instances purging at once delete each row once: the one that finds none writes no record."""
    from sqlalchemy import delete, insert

    from services.storage.database import write_retrying
    from services.storage.tables import audit_log

    engine = await database.engine()
    cutoff = _utc_naive_for_sqlite(before, engine.dialect.name == "sqlite")

    async def purge(conn: AsyncConnection) -> int:
        count = (await conn.execute(delete(audit_log).where(audit_log.c.at < cutoff))).rowcount
        if count:
            await conn.execute(insert(audit_log).values(**record(count)))
        return int(count or 0)

    return await write_retrying(engine, purge, pause=0.2)
