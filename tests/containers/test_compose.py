"""compose.yaml with podman-compose: PostgreSQL, the migration step, the app serving a signed command on PostgreSQL.

The file runs unchanged, with tests/containers/compose.host.yaml on top (this sandbox's only network is the host's:
every service on it, each on its own port). podman 4.3 can't evaluate compose's health conditions (podman-compose
says so and skips them), so the test brings the services up in the order compose.yaml declares — the database, once
it answers the migration, once that exited 0 the app — as `docker compose up` does by itself."""

from __future__ import annotations

import asyncio
import os
import time

import aiohttp

from tests.helpers.containers import ROOT, command, podman, unique, wait_until_serving
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import free_port
from tests.helpers.slack_requests import SIGNING_SECRET, SlackSender


async def test_compose_serves_with_postgresql(image: str, fake_slack: FakeSlack) -> None:
    project = unique("cacompose").replace("-", "")
    db_port, app_port = free_port(), free_port()
    env = {
        **os.environ,
        "POSTGRES_PASSWORD": unique("pw"),
        "DATABASE_HOST": "127.0.0.1",
        "DATABASE_PORT": str(db_port),
        "PORT": str(app_port),
        "APP_IMAGE": image,
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
    }
    compose = [
        "podman-compose",
        "-f",
        str(ROOT / "compose.yaml"),
        "-f",
        str(ROOT / "tests/containers/compose.host.yaml"),
    ]
    compose += ["-p", project]

    async def run(*args: str) -> str:
        code, out = await command(*compose, *args, env=env)
        assert code == 0, out[-3000:]
        return out

    db, app = f"{project}_db_1", f"{project}_app_1"
    try:
        await run("up", "-d", "db")
        ready = ["pg_isready", "-h", "127.0.0.1", "-p", str(db_port), "-U", "channel_admin"]
        deadline = time.monotonic() + 60
        while "accepting connections" not in await podman("exec", db, *ready, check=False):
            assert time.monotonic() < deadline, await podman("logs", db, check=False)
            await asyncio.sleep(0.3)
        assert "upgraded from nothing to" in await run("run", "--rm", "migrate")
        await run("up", "-d", "--no-deps", "app")
        url = f"http://127.0.0.1:{app_port}"
        await wait_until_serving(f"{url}/readyz", app)

        async with aiohttp.ClientSession() as session:
            sender = SlackSender(url, fake_slack, session)
            channels = [fake_slack.add_channel(f"compose{i}") for i in range(3)]
            reply, body = await sender.command(
                "/leave-channel", " ".join(f"<#{c}>" for c in channels), channel_id=channels[0]
            )
            assert reply.status == 200 and "Leaving 3 channels" in reply.text
            summary = await fake_slack.next_post(body["response_url"], timeout=30)
            assert summary["text"].startswith("Left 3 channels")
        # The job was kept in PostgreSQL, not in a file in the container.
        psql = ["psql", "-U", "channel_admin", "-d", "channel_admin", "-p", str(db_port), "-tAc"]
        assert (await podman("exec", db, *psql, "SELECT status FROM job")).split() == ["done"]
        assert "channel-admin.db" not in await podman("exec", app, "ls", "-a", "/data")
    finally:
        await command(*compose, "down", "-v", "-t", "15", env=env)
