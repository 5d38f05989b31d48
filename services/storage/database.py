"""One database for everything the app keeps: installations, OAuth state, the audit log.

SQLAlchemy is imported only when the database is first used, so an app that only leaves channels never loads it. Its
schema is Alembic's (services.storage.migrate), brought up to date on first use.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


def create_engine_for(url: str) -> AsyncEngine:
    """An asyncio engine; a SQLite file (and its folder) is created on first use, private to the app's user."""
    from sqlalchemy.ext.asyncio import create_async_engine

    path = sqlite_file(url)
    if path is not None:
        prepare_private_file(path)
    return create_async_engine(url, pool_pre_ping=True)


def prepare_private_file(path: str) -> None:
    """Under OAuth the database holds bot and admin tokens: a folder and file the app creates are 0700 / 0600.

    SQLite creates its journal and WAL files with the database file's permissions, so they follow. Existing files and
    folders are left as the operator set them.
    """
    folder = os.path.dirname(os.path.abspath(path))
    missing: list[str] = []
    while not os.path.isdir(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for created in reversed(missing):  # each folder the app creates, parents first (makedirs' mode skips parents)
        os.makedirs(created, mode=0o700, exist_ok=True)
        os.chmod(created, 0o700)  # the mode is filtered by the umask
    if not os.path.exists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)


class Database:
    """The engine at DATABASE_URL, its schema brought up to date on first use (or at start-up with OAuth)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: AsyncEngine | None = None
        self._ready = False
        self._lock = asyncio.Lock()

    @property
    def opened(self) -> bool:
        """Whether anything has used the database yet (a leave-only workload never does)."""
        return self._engine is not None

    def raw_engine(self) -> AsyncEngine:
        """The engine without migrating (the OAuth stores need it before start-up finishes)."""
        if self._engine is None:
            self._engine = create_engine_for(self.url)
        return self._engine

    async def engine(self) -> AsyncEngine:
        if not self._ready:
            async with self._lock:
                if not self._ready:
                    from services.storage.migrate import upgrade

                    # Alembic migrations (the app's tables and slack_sdk's), under a lock across instances.
                    await upgrade(self.url)
                    self._ready = True
        return self.raw_engine()

    async def ping(self, timeout: float) -> tuple[str, str] | None:
        """None if the database answers `SELECT 1` within `timeout` seconds; else (a short reason, the details).

        The short reason names no host, file or user (a readiness endpoint may be reachable from outside); the details
        are for the log. A SQLite file deleted under a running app still answers on the connections already open
        (they hold the old file) while new ones would quietly start an empty database, so its path is checked too.
        """
        from sqlalchemy import text

        try:
            created = self._engine is not None
            engine = self.raw_engine()
            path = sqlite_file(self.url)
            if created and path is not None and not os.path.exists(path):
                return "the database file is gone", f"the SQLite file {path} is gone"
            async with asyncio.timeout(timeout), engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except TimeoutError:
            return "the database did not answer in time", f"no answer within {timeout:g} s"
        except Exception as e:  # noqa: BLE001 - any failure is a reason not to be ready, said in one line
            cause = getattr(e, "orig", None) or e
            return f"the database is unreachable ({type(cause).__name__})", " ".join(str(cause).split())[:300]
        return None

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()


def sqlite_file(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return parsed.database
    return None
