"""The database schema, managed by Alembic migrations (migrations/): applied at start-up, or from a shell.

    python -m services.storage.migrate              # upgrade DATABASE_URL (from the environment or .env) to the newest schema
    python -m services.storage.migrate --current    # print the revision it is at, and the newest one
    python -m services.storage.migrate --database-url postgresql+psycopg://…

Every instance upgrades on start (with OAuth; with a pasted bot token, on the database's first use), under a lock:
PostgreSQL's advisory lock on one key, SQLite's exclusive transaction on the file. The first instance migrates, the
others wait and then find nothing to do. On PostgreSQL and SQLite the DDL runs in that one transaction, so a failed
upgrade changes nothing.

A database made by the release before migrations (its tables, no `alembic_version`) is adopted: the first revision
creates only the tables that are missing, and leaves the existing ones and their rows as they are.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import functools
import importlib
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import MetaData
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
# Any fixed number: PostgreSQL serialises every instance's migrations on this advisory lock.
LOCK_KEY = 7_261_902_511
# How long a SQLite migrator waits for another process's exclusive transaction on the same file.
SQLITE_LOCK_WAIT_SECONDS = 60.0
# Tables of the release before migrations: with one of them and no alembic_version, the database is adopted.
APP_TABLES = ("audit_log", "rejoin_offer", "handled_request")
SLACK_TABLES = ("slack_installations", "slack_bots", "slack_oauth_states")


@functools.cache
def head_revision() -> str | None:
    """The newest revision in migrations/versions, read without Alembic (which takes a while to import and stays in
    memory): each revision file's `revision` and `down_revision`, and the one revision nothing revises. None when
    that isn't a single revision (branches: then only Alembic can say). tests/test_migrations_head.py checks it
    against Alembic's own head."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                if names & {"revision", "down_revision"}:
                    value = ast.literal_eval(node.value)
                    found = [value] if isinstance(value, str) else list(value or ())
                    (revisions if "revision" in names else revised).update(found)
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


async def at_head(engine: AsyncEngine) -> bool:
    """Whether the database's alembic_version is the newest revision: one SELECT, no Alembic. False when it can't
    tell (no such table yet, unreachable): the caller then migrates with Alembic, which says what is wrong."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    head = head_revision()
    if head is None:
        return False
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except (OSError, SQLAlchemyError):
        return False
    return list(rows) == [head]


def target_metadata() -> MetaData:
    """What the migrations must produce: the app's tables, and slack_sdk's installation and OAuth-state tables."""
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
    from sqlalchemy import MetaData

    from services.storage.tables import metadata

    combined = MetaData()  # one MetaData, as alembic's compare_metadata takes
    for table in metadata.tables.values():
        table.to_metadata(combined)
    SQLAlchemyInstallationStore.build_installations_table(
        combined, SQLAlchemyInstallationStore.default_installations_table_name
    )
    SQLAlchemyInstallationStore.build_bots_table(combined, SQLAlchemyInstallationStore.default_bots_table_name)
    SQLAlchemyOAuthStateStore.build_oauth_states_table(combined, SQLAlchemyOAuthStateStore.default_table_name)
    # Encrypted tokens are longer than slack_sdk's String(200): Text since revision 0005 (services.storage.secrets).
    from sqlalchemy import Text

    from services.storage.secrets import SECRET_COLUMNS

    for table_name, columns in SECRET_COLUMNS.items():
        for name in columns:
            combined.tables[table_name].c[name].type = Text()
    return combined


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for migrations/ (no alembic.ini needed); with a connection, env.py uses it."""
    from alembic.config import Config

    config = Config(str(MIGRATIONS.parent / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _import_alembic() -> None:
    """Alembic and its dialects take a while to import: done in a thread, so the event loop keeps serving."""
    for module in ("alembic.command", "alembic.runtime.migration", "alembic.script"):
        importlib.import_module(module)


def _upgrade(connection: Connection, revision: str) -> tuple[str | None, str | None]:
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    if connection.dialect.name == "postgresql":
        from sqlalchemy import text

        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    before = MigrationContext.configure(connection).get_current_revision()
    if before is None:
        existing = [t for t in (*APP_TABLES, *SLACK_TABLES) if connection.dialect.has_table(connection, t)]
        if existing:
            logger.info("Adopting a database made before migrations (tables: %s); no row changes", ", ".join(existing))
    command.upgrade(alembic_config(connection), revision)
    after = MigrationContext.configure(connection).get_current_revision()
    return before, after


def _migration_engine(url: str) -> Any:
    """An engine of its own for migrating: one connection, and on SQLite a transaction that locks the file.

    SQLite's Python driver doesn't start a transaction before DDL, so the lock is taken explicitly (SQLAlchemy's
    recipe for SQLite transactions): BEGIN EXCLUSIVE makes a second migrator wait until the first commits.
    """
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from services.storage.database import sqlite_path

    if sqlite_path(url) is None:
        return create_async_engine(url, poolclass=NullPool)
    engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": SQLITE_LOCK_WAIT_SECONDS})

    @event.listens_for(engine.sync_engine, "connect")
    def no_implicit_transactions(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def begin_exclusive(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN EXCLUSIVE")

    return engine


async def upgrade(url: str, revision: str = "head", engine: AsyncEngine | None = None) -> tuple[str | None, str | None]:
    """Bring the database at `url` to `revision`, under the lock; returns (revision before, revision after).

    A database already at the newest revision is recognised with one SELECT (through `engine` when given, the app's
    own), and then Alembic isn't imported at all.
    """
    from services.storage.database import prepare_private_file, sqlite_path

    path = sqlite_path(url)
    if revision == "head" and (path is None or os.path.exists(path)):
        checker = engine if engine is not None else _migration_engine(url)
        try:
            if await at_head(checker):
                return head_revision(), head_revision()
        finally:
            if engine is None:
                await checker.dispose()

    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("alembic").setLevel(logging.WARNING)  # its per-step INFO lines; ours says what changed
    await asyncio.to_thread(_import_alembic)
    if path is not None:
        prepare_private_file(path)
    migrator = _migration_engine(url)
    try:
        async with migrator.begin() as conn:
            before, after = await conn.run_sync(_upgrade, revision)
    finally:
        await migrator.dispose()
    if before != after:
        logger.info("Database schema upgraded from %s to %s", before or "nothing", after)
    return before, after


async def current(url: str) -> tuple[str | None, str]:
    """(The revision the database is at, the newest revision in migrations/)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    await asyncio.to_thread(_import_alembic)
    engine = _migration_engine(url)
    try:
        async with engine.connect() as conn:
            at = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return at, head or ""


def database_url_from_environment() -> str:
    """DATABASE_URL as the app reads it (the environment, then .env), without needing the Slack settings."""
    from dotenv import dotenv_values

    from services.settings import DEFAULT_DATABASE_URL, async_database_url

    values = dict(dotenv_values(".env")) if os.path.exists(".env") else {}
    values.update(os.environ)
    return async_database_url((values.get("DATABASE_URL") or "").strip() or DEFAULT_DATABASE_URL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.storage.migrate", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: DATABASE_URL from the environment or .env")
    parser.add_argument("--current", action="store_true", help="print the current and newest revisions; change nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from services.settings import async_database_url

    url = async_database_url(args.database_url) if args.database_url else database_url_from_environment()
    try:
        if args.current:
            at, head = asyncio.run(current(url))
            print(f"at {at or 'nothing (no migrations applied)'}; newest {head}")
            return
        before, after = asyncio.run(upgrade(url))
    except Exception as e:  # noqa: BLE001 - one line for the operator, not a traceback
        cause = getattr(e, "orig", None) or e
        sys.exit(f"Migration failed ({type(cause).__name__}): {' '.join(str(cause).split())[:300]}")
    print(f"upgraded from {before or 'nothing'} to {after}" if before != after else f"already at {after}")


if __name__ == "__main__":
    main()
