"""The README's production command: several gunicorn workers (aiohttp) in HTTP mode, one database."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import ROOT, app_env, free_port, wait_for_http
from tests.helpers.slack_requests import SlackSender


@pytest.mark.runs_long
async def test_gunicorn_workers_serve_commands(fake_slack: FakeSlack, tmp_path: Path) -> None:
    port = free_port()
    env = app_env(fake_slack, tmp_path)
    command = [sys.executable, "-m", "gunicorn", "app:web_app", "--worker-class", "aiohttp.GunicornWebWorker"]
    command += ["--workers", "2", "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5"]
    server = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT, stderr=asyncio.subprocess.PIPE)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_for_http(session, f"http://127.0.0.1:{port}/healthz", server)
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
