"""The app under test: its settings against the fake Slack, its database, and the app serving on a free port."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from app import build_app
from server.app import public_settings, start_http
from services.settings import Settings
from services.storage.migrate import upgrade
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SIGNING_SECRET, SlackSender

# .ci/run starts a PostgreSQL server and points this at it; elsewhere the PostgreSQL half of the storage tests skips.
# Set, it must answer: its tests then fail instead of skipping (a CI run never passes with them skipped).
POSTGRES_REQUIRED = "TEST_POSTGRES_URL" in os.environ
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://channel_admin:channel_admin@127.0.0.1:5432/channel_admin_test"
)
# Set (to a PostgreSQL URL) to run the whole suite against that database instead of a SQLite file per test.
SUITE_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def settings_for(fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        bot_token=fake.bot_token,
        signing_secret=SIGNING_SECRET,
        app_token=None,
        api_url=fake.api_url,
        port=0,
        log_level="INFO",
        api_timeout=5.0,
        retry_backoff_seconds=0.02,  # 5xx and dropped-connection retries within milliseconds (production: 0.5 s)
    )
    values.update(overrides)
    return Settings(**values)


def for_this_worker(url: str) -> str:
    """Under pytest-xdist each worker gets its own PostgreSQL database (`<name>_gw0`, …): tests reset theirs freely."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not url.startswith("postgresql"):
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


# A server that answers but is busy for a moment (SQLSTATEs): CREATE DATABASE finding template1 in use while other
# workers create theirs, too many connections, the server still starting. Anything else (no server: connection
# refused) is not retried, so a machine without PostgreSQL skips its tests at once.
_BUSY = {"55006", "53300", "57P03"}


async def ensure_database(url: str) -> None:
    """Create the database of a PostgreSQL URL if it doesn't exist (the test role may create databases)."""
    parsed = make_url(url)
    engine = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(5):
            try:
                async with engine.connect() as conn:
                    query = text("SELECT 1 FROM pg_database WHERE datname = :n")
                    if (await conn.execute(query, {"n": parsed.database})).first() is None:
                        await conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
                return
            except SQLAlchemyError as e:
                if attempt == 4 or getattr(getattr(e, "orig", None), "sqlstate", None) not in _BUSY:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
    finally:
        await engine.dispose()


def _unusable(e: Exception) -> str:
    return f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"


async def _this_workers(url: str) -> str:
    """This worker's database of `url`, created first on a PostgreSQL server shared by the workers."""
    if url != for_this_worker(url):
        await ensure_database(for_this_worker(url))
    return for_this_worker(url)


async def _in_one_transaction(url: str, work: Callable[[Connection], Any]) -> tuple[Any, str | None]:
    """`work` on this worker's database of `url`, in one transaction: (what it returned, None), or (None, why the
    server can't be used)."""
    try:
        url = await _this_workers(url)
    except (OSError, SQLAlchemyError) as e:
        return None, _unusable(e)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(work), None
    except (OSError, SQLAlchemyError) as e:
        return None, _unusable(e)
    finally:
        await engine.dispose()


async def reset_database(url: str) -> str | None:
    """Drop every table in the database; returns why the server can't be used, or None."""

    def drop_all(sync_conn: Connection) -> None:
        existing = MetaData()
        existing.reflect(sync_conn)
        existing.drop_all(sync_conn)

    _, reason = await _in_one_transaction(url, drop_all)
    return reason


async def empty_at_newest_schema(url: str) -> str | None:
    """A PostgreSQL database (this worker's) with the newest schema and no rows; returns why it can't be, or None.

    A database the previous test left at the newest schema only has its tables emptied (one TRUNCATE); any other
    is dropped and migrated. Migrating itself is covered by tests/test_migrations.py, on empty databases.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect

    from services.storage.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()

    def empty_if_newest(sync_conn: Connection) -> bool:
        if MigrationContext.configure(sync_conn).get_current_revision() != head:
            return False
        tables = [t for t in inspect(sync_conn).get_table_names() if t != "alembic_version"]
        quoted = ", ".join(f'"{t}"' for t in tables)
        sync_conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        return True

    emptied, reason = await _in_one_transaction(url, empty_if_newest)
    if reason is not None or emptied:
        return reason
    reason = await reset_database(url)
    if reason is None:
        await upgrade(for_this_worker(url))
    return reason


_migrated_template: Path | None = None


async def migrated_sqlite_file(path: Path) -> str:
    """A SQLite file at `path` with the newest schema, copied from one this worker migrated once.

    The app still runs its migration check on first use (and finds nothing to do); migrating itself is covered by
    tests/test_migrations.py, on fresh databases.
    """
    global _migrated_template
    if _migrated_template is None:
        folder = tempfile.mkdtemp(prefix="migrated-schema-")
        atexit.register(shutil.rmtree, folder, True)
        template = Path(folder) / "template.db"
        await upgrade(f"sqlite+aiosqlite:///{template}")
        _migrated_template = template
    shutil.copyfile(_migrated_template, path)
    os.chmod(path, 0o600)  # as the app creates its own
    return f"sqlite+aiosqlite:///{path}"


async def suite_database(tmp_path: Path) -> str:
    """The app's database for one test: a migrated SQLite file, or the reset TEST_DATABASE_URL."""
    if SUITE_DATABASE_URL:
        reason = await empty_at_newest_schema(SUITE_DATABASE_URL)
        assert reason is None, f"TEST_DATABASE_URL is set but unusable: {reason}"
        return for_this_worker(SUITE_DATABASE_URL)
    return await migrated_sqlite_file(tmp_path / "app.db")


@asynccontextmanager
async def running_app(fake: FakeSlack, settings: Settings) -> AsyncIterator[SlackSender]:
    """The app serving on a free port, and a sender that talks to it as Slack does."""
    built = await build_app(settings)
    runner, port = await start_http(
        built.bolt,
        "127.0.0.1",
        0,
        signing_secret=settings.signing_secret,
        readiness=built.readiness,
        **public_settings(settings),
    )
    try:
        async with aiohttp.ClientSession() as session:
            yield SlackSender(f"http://127.0.0.1:{port}", fake, session, built)
    finally:
        await runner.cleanup()
        await built.close()


@dataclass
class Org:
    """An Enterprise Grid org in the fake: the home workspace, two partner workspaces, an admin token."""

    admin: str  # a user who is an Org Admin
    member: str  # a user who is not
    admin_token: str  # the Org Admin's xoxp- token the app is configured with
    alpha: str
    beta: str


@dataclass
class Partner:
    """Slack Connect partners of the `org` fixture's org: another Enterprise org (one workspace, an Org Admin and that
    admin's user token) and a standalone workspace."""

    org: str  # the partner org's E…
    workspace: str  # a workspace of that org (T…)
    admin: str  # an Org Admin of the partner org
    admin_token: str  # their xoxp- token
    standalone: str  # a standalone workspace (no Enterprise org)
