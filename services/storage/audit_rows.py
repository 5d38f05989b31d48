"""The `audit_log` table's queries: append a row, read the newest, one org's page, the dangling ones (services.audit.log)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.storage.database import Database


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
