"""The README's production command: several gunicorn workers (aiohttp) in HTTP mode, one database."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from tests.fake_slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, SlackSender

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_gunicorn_workers_serve_commands(fake_slack: FakeSlack, tmp_path: Path) -> None:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/app.db",
    }
    command = [sys.executable, "-m", "gunicorn", "app:web_app", "--worker-class", "aiohttp.GunicornWebWorker"]
    command += ["--workers", "2", "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5"]
    server = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT, stderr=asyncio.subprocess.PIPE)
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(1000):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.02)
            else:
                raise AssertionError("gunicorn never answered /healthz")
            sender = SlackSender(f"http://127.0.0.1:{port}", fake_slack, session)
            channels = [fake_slack.add_channel(f"c{i}") for i in range(6)]
            bodies = [sender.command_body("/leave-channel", "", c) for c in channels]
            replies = await asyncio.gather(*(sender.post(urlencode(b).encode()) for b in bodies))
            assert [r.status for r in replies] == [200] * 6
            posts = [await fake_slack.next_post(b["response_url"], timeout=10) for b in bodies]
            assert [p["text"] for p in posts] == [f"I left <#{c}>." for c in channels]
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=20)
