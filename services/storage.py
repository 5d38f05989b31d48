"""One database for everything the app keeps: installations, OAuth state, the audit log."""

from __future__ import annotations

import asyncio
import logging
import os

from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

logger = logging.getLogger(__name__)

# Any fixed number: PostgreSQL serialises every instance's schema creation on this advisory lock.
_SCHEMA_LOCK_KEY = 7_261_902_511
_SCHEMA_ATTEMPTS = 5


def create_engine_for(url: str) -> AsyncEngine:
    """An asyncio engine; a SQLite file's folder is created on first use."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
    return create_async_engine(url, pool_pre_ping=True)


async def create_schema(engine: AsyncEngine, *metadatas: MetaData) -> None:
    """Create missing tables; idempotent, and safe when several instances start at once."""
    for attempt in range(1, _SCHEMA_ATTEMPTS + 1):
        try:
            async with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
                for metadata in metadatas:
                    await conn.run_sync(metadata.create_all, checkfirst=True)
            return
        except DBAPIError as e:
            # Another process created a table between our check and our CREATE (SQLite has no advisory lock).
            if attempt == _SCHEMA_ATTEMPTS or (
                "already exists" not in str(e.orig).lower() and "locked" not in str(e.orig).lower()
            ):
                raise
            logger.info("Schema creation raced another instance; retrying")
            await asyncio.sleep(0.05 * attempt)
