"""One database for everything the app keeps: installations, OAuth state, the audit log, jobs.

SQLAlchemy is imported only when the database is first used, so an app that only leaves channels never loads it. Its
schema is Alembic's (services.storage.migrate), brought up to date on first use. A SQLite file is read with the
standard library's sqlite3 first (is the schema at the newest revision? is there a job to resume?), so a restarted app
with nothing to do loads no SQLAlchemy; when its schema must change (a new file, an upgrade), the migrations run in a
child process (`prepare`, first thing in `python app.py`), so the serving process never loads Alembic for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_T = TypeVar("_T")

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
# How long a read of the SQLite file with the standard library waits for a writer's lock before giving up (and then
# leaving the question to SQLAlchemy, as before): briefly, since a writer is likely this process writing a job its
# runner should claim at once.
_PEEK_TIMEOUT_SECONDS = 0.05
# SQLAlchemy's way of writing a DateTime into SQLite (its default storage format): text that sorts as time does.
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
# SQLite lets one writer at a time: a write that finds the file locked is tried this many times in all.
_WRITE_ATTEMPTS = 6


def create_engine_for(url: str) -> AsyncEngine:
    """An asyncio engine; a SQLite file (and its folder) is created on first use, private to the app's user."""
    from sqlalchemy.ext.asyncio import create_async_engine

    path = sqlite_path(url)
    if path is not None:
        prepare_private_file(path)
    return create_async_engine(url, pool_pre_ping=True)


async def write_retrying(
    engine: AsyncEngine,
    write: Callable[[AsyncConnection], Awaitable[_T]],
    *,
    pause: float,
    retry_on: tuple[type[Exception], ...] = (),
) -> _T:
    """`write(conn)` in a transaction of its own, tried again while SQLite reports the file locked by another writer
    (after `pause` seconds times the attempts so far) and at once after an exception in `retry_on`; the last of the
    attempts raises what it meets."""
    from sqlalchemy.exc import OperationalError

    for attempt in range(1, _WRITE_ATTEMPTS):
        try:
            async with engine.begin() as conn:
                return await write(conn)
        except retry_on:
            continue
        except OperationalError as e:
            if "locked" not in str(e.orig).lower():
                raise
            await asyncio.sleep(pause * attempt)
    async with engine.begin() as conn:
        return await write(conn)


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


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL, read without SQLAlchemy (which this must not load); None for another database or an
    in-memory one."""
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    path = unquote(url.split(":///", 1)[1].split("?", 1)[0])  # as sqlalchemy.engine.make_url reads it
    return path if path and path != ":memory:" else None


class Database:
    """The engine at DATABASE_URL, its schema brought up to date on first use (or at start-up with OAuth)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: AsyncEngine | None = None
        self._ready = False
        self._lock = asyncio.Lock()
        self._preparing: asyncio.Task[None] | None = None
        self._migrator: asyncio.subprocess.Process | None = None
        self._closing = False

    @property
    def opened(self) -> bool:
        """Whether anything has used the database yet (a leave-only workload never does)."""
        return self._engine is not None

    @property
    def migrating(self) -> bool:
        """Whether the schema is being brought up to date in the child process (a first start, an upgrade)."""
        return self._preparing is not None and not self._preparing.done() and not self._ready

    def raw_engine(self) -> AsyncEngine:
        """The engine without migrating (the OAuth stores need it before start-up finishes)."""
        if self._engine is None:
            self._engine = create_engine_for(self.url)
        return self._engine

    async def engine(self) -> AsyncEngine:
        if not self._ready:
            async with self._lock:
                # SQLAlchemy loads in a thread (the event loop keeps serving), meanwhile any migrations already under
                # way in the background finish.
                loading = asyncio.to_thread(_import_sqlalchemy)
                if self._preparing is not None and not self._preparing.done():
                    await asyncio.gather(asyncio.shield(self._preparing), loading)
                else:
                    await loading
                if not self._ready:
                    from services.storage.migrate import upgrade

                    # Alembic migrations (the app's tables and slack_sdk's), under a lock across instances; none, and
                    # no Alembic, when the database is at the newest revision already (one SELECT).
                    await upgrade(self.url, engine=self.raw_engine())
                    self._ready = True
        return self.raw_engine()

    def prepare(self) -> asyncio.Task[None] | None:
        """Get a SQLite file's schema ready in the background (`python app.py` starts it first thing): nothing to do
        when it is at the newest revision already (read with sqlite3); else the migrations run in a child process
        (`python -m services.storage.migrate`), so Alembic never loads in this one. The first use waits for it, then
        checks for itself; if the child failed, it migrates as it always did and says what is wrong. Another database
        is left to its first use, as before (one SELECT when it is at the newest revision). Returns the preparation
        under way, if any."""
        if self._preparing is None and not self._ready and self._engine is None and sqlite_path(self.url):
            self._preparing = asyncio.create_task(self._prepare())
            self._preparing.add_done_callback(_quietly)
        return self._preparing

    async def _prepare(self) -> None:
        from services.storage.migrate import head_revision

        path = sqlite_path(self.url)
        if path is None:
            return
        if os.path.exists(path):
            rows = await asyncio.to_thread(_sqlite_rows, path, "SELECT version_num FROM alembic_version", ())
            if rows is not None and [r[0] for r in rows] == [head_revision()]:
                self._ready = True
                return
        environment = {**os.environ, "DATABASE_URL": self.url}  # never on the command line: it may hold a password
        environment["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        self._migrator = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.storage.migrate",
            env=environment, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        code = await self._migrator.wait()
        if code == 0:
            self._ready = True
        elif not self._closing:  # not stopped by close()
            logger.info("Background migrations exited with %s; the database's first use migrates instead", code)

    async def sqlite_holds_jobs(self, unfinished: Sequence[str], purge_before: datetime) -> bool:
        """Whether the database may hold a job to work (status in `unfinished`) or one finished before `purge_before`.

        A SQLite file not opened yet is read with the standard library (no SQLAlchemy): False when the file, its job
        table or any such row doesn't exist. True whenever that can't tell: another database, one already opened, a
        file locked by a writer.
        """
        path = sqlite_path(self.url)
        if path is None:
            return True
        if self._preparing is not None and not self._preparing.done():
            await asyncio.shield(self._preparing)  # migrations under way hold the file: read it once they are done
        if self._engine is not None:
            return True
        if not os.path.exists(path):
            return False
        marks = ", ".join("?" for _ in unfinished)
        cutoff = purge_before.astimezone(UTC).strftime(_SQLITE_DATETIME)
        rows = await asyncio.to_thread(
            _sqlite_rows,
            path,
            f"SELECT 1 FROM job WHERE status IN ({marks}) OR (finished_at IS NOT NULL AND finished_at < ?) LIMIT 1",
            (*unfinished, cutoff),
        )
        return rows is None or bool(rows)

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
            path = sqlite_path(self.url)
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
        self._closing = True
        if self._migrator is not None and self._migrator.returncode is None:
            self._migrator.terminate()  # its one transaction rolls back; the next start migrates
        if self._preparing is not None:
            await asyncio.gather(self._preparing, return_exceptions=True)
        if self._engine is not None:
            await self._engine.dispose()


def _import_sqlalchemy() -> None:
    import sqlalchemy.ext.asyncio  # noqa: F401 - imported for its side effect: loaded once, off the event loop


def _quietly(task: asyncio.Task[None]) -> None:
    """A background preparation that failed is retried by the first use, which reports what is wrong."""
    if not task.cancelled() and task.exception() is not None:
        logger.info("Preparing the database in the background failed (%s)", type(task.exception()).__name__)


def _sqlite_rows(path: str, query: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]] | None:
    """The rows of a read-only query on a SQLite file with the standard library; [] when its table doesn't exist yet,
    None when the file can't be read now (locked, not a database)."""
    import sqlite3

    try:
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"  # read-only: never creates the file
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=_PEEK_TIMEOUT_SECONDS)) as connection:
            return connection.execute(query, params).fetchall()
    except sqlite3.OperationalError as e:
        return [] if "no such table" in str(e) else None
    except sqlite3.Error:
        return None
