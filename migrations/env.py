"""Alembic's environment: the app's tables and slack_sdk's installation and OAuth-state tables (services.storage.migrate).

services.storage.migrate passes the connection it holds the lock on; the `alembic` command line (new revisions, with
`alembic revision --autogenerate -m "…"`) connects to DATABASE_URL, from the environment or .env.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from services.storage.migrate import _migration_engine, database_url_from_environment, target_metadata


def run_migrations(connection: Connection) -> None:
    # Batch mode lets later revisions alter SQLite tables (SQLite's ALTER TABLE can't change a column).
    context.configure(connection=connection, target_metadata=target_metadata(), render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def from_command_line() -> None:
    engine = _migration_engine(database_url_from_environment())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=database_url_from_environment(), target_metadata=target_metadata(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif context.config.attributes.get("connection") is not None:
    run_migrations(context.config.attributes["connection"])
else:
    asyncio.run(from_command_line())
