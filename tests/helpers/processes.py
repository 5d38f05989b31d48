"""The app as a real process (python app.py, gunicorn, the CLI's start hook): its environment, a port, its readiness."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[2]


# App processes get ports from a range of their worker's own, below the kernel's ephemeral ports (32768 and up here),
# which the in-process servers and every client use. A port the kernel picked, then freed for the process to bind,
# could be taken meanwhile by another worker's process (seen in CI: a test talked to another test's app).
# TEST_PORTS_FROM / TEST_PORTS_PER_WORKER move the range, for suites run side by side on one machine.
PORTS_FROM = int(os.environ.get("TEST_PORTS_FROM", "20000"))
PORTS_PER_WORKER = int(os.environ.get("TEST_PORTS_PER_WORKER", "1000"))
_turn = itertools.count()


def free_port() -> int:
    """A port for an app process to bind: this worker's next one that is free now."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    base = PORTS_FROM + PORTS_PER_WORKER * (int(worker) if worker.isdigit() else 0)
    for _ in range(PORTS_PER_WORKER):
        port = base + next(_turn) % PORTS_PER_WORKER
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))  # as the app binds: taken on any address means taken
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {base}..{base + PORTS_PER_WORKER - 1}")


def app_env(fake: FakeSlack, tmp_path: Path, **settings: str) -> dict[str, str]:
    """The settings a process of the app gets: the fake Slack, the tests' signing secret, a throwaway database;
    `settings` add or replace (None-free strings, as in a real environment)."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/app.db",
        **settings,
    }


async def wait_for_http(
    session: aiohttp.ClientSession,
    url: str,
    process: asyncio.subprocess.Process,
    attempts: int = 1500,
    log: Path | None = None,
) -> None:
    """Poll `url` (bounded) until it answers 200; fail at once if the process exits, with the end of its log."""
    for _ in range(attempts):
        if process.returncode is not None:
            break
        try:
            async with session.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.02)
    tail = log.read_text()[-2000:] if log is not None and log.exists() else ""
    raise AssertionError(f"{url} never answered 200 (process exit code {process.returncode}) {tail}")


# The app as real processes on one database, for the job tests (a short lease: takeovers within seconds).
LEASE = 2.0


@dataclass
class Instance:
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@asynccontextmanager
async def instances(
    fake: FakeSlack, database_url: str, tmp_path: Path, **env: str
) -> AsyncIterator[Callable[[], Awaitable[Instance]]]:
    started: list[Instance] = []

    async def start() -> Instance:
        port = free_port()
        log = tmp_path / f"app-{port}.log"
        defaults = {"JOB_LEASE_SECONDS": str(LEASE), "JOB_POLL_SECONDS": "0.1", "SHUTDOWN_GRACE_SECONDS": "10"}
        settings = {**defaults, "METRICS_ENABLED": "false", **env}  # a test's own settings win
        environment = app_env(fake, tmp_path, DATABASE_URL=database_url, PORT=str(port), **settings)
        with open(log, "wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "app.py", env=environment, cwd=ROOT, stdout=out, stderr=out
            )
        instance = Instance(process, port, log)
        started.append(instance)
        async with aiohttp.ClientSession() as session:
            await wait_for_http(session, f"{instance.url}/healthz", process, log=log)
        return instance

    try:
        yield start
    finally:
        for instance in started:
            if instance.process.returncode is None:
                instance.process.kill()
                await instance.process.wait()
