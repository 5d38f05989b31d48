"""A database made unavailable for a while, without touching a server other tests share.

PostgreSQL: the app reaches the server through a TCP proxy in the test process; cutting it drops every connection in
flight and refuses new ones (its listening socket closed), which is what the app sees of a server that stopped; the
server itself, shared by the suite's workers, keeps serving the others. SQLite: another process holds the file's
write lock (BEGIN EXCLUSIVE), as a backup or an operator's sqlite3 shell does; the app's writes wait or fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url

from tests.helpers.processes import free_port


class CuttableProxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def cut(self) -> None:
        """The server is gone: connections dropped, new ones refused."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        await self.start()

    def url_for(self, url: str) -> str:
        return make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)


@asynccontextmanager
async def postgres_proxy(url: str) -> AsyncIterator[CuttableProxy]:
    parsed = make_url(url)
    proxy = CuttableProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.cut()


_HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


@asynccontextmanager
async def sqlite_locked(path: str) -> AsyncIterator[None]:
    """Another process holds the SQLite file's write lock for as long as the block runs."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLD_LOCK, path, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)  # type: ignore[union-attr]
        assert line.strip() == b"locked", line
        yield
    finally:
        process.stdin.close()  # type: ignore[union-attr]
        await asyncio.wait_for(process.wait(), timeout=30)
