"""The package as an operator installs it outside a container: a fresh virtual environment, the lock with
`--require-hashes`, then `pip install .`; the installed `channel-admin` and each of its subcommands, run from another
folder with no SLACK_* setting (and `serve` with them, against the fake Slack)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp

from tests.helpers.containers import ROOT, command
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import app_env, free_port, wait_for_http
from tests.helpers.slack_requests import SlackSender


async def test_a_fresh_venv_installs_the_lock_and_the_package(fake_slack: FakeSlack, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    bare = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
    for key in ("PIP_CERT", "PIP_FIND_LINKS", "PIP_DEFAULT_TIMEOUT", "PIP_DISABLE_PIP_VERSION_CHECK"):
        if key in os.environ:
            bare[key] = os.environ[key]
    code, out = await command(sys.executable, "-m", "venv", str(venv), env=bare)
    assert code == 0, out
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    code, out = await command(*pip, "--require-hashes", "-r", str(ROOT / "requirements.txt"), env=bare, timeout=600)
    assert code == 0, out[-3000:]
    code, out = await command(*pip, str(ROOT), env=bare, timeout=600)
    assert code == 0, out[-3000:]

    cli = str(venv / "bin" / "channel-admin")
    work = tmp_path / "elsewhere"
    work.mkdir()
    database_url = f"sqlite+aiosqlite:///{work}/app.db"

    async def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            cli, *args, env=env or bare, cwd=work, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await asyncio.wait_for(process.communicate(), 120)
        return process.returncode or 0, out.decode()

    code, out = await run("--help")
    assert code == 0 and all(word in out for word in ("serve", "migrate", "audit", "jobs"))
    for args in (["serve", "--help"], ["migrate", "--help"], ["audit", "--help"], ["jobs", "list", "--help"]):
        code, out = await run(*args)
        assert code == 0 and "usage:" in out, (args, out)
    code, out = await run("migrate", "--database-url", database_url)  # the migrations shipped in the package
    assert code == 0 and "upgraded from nothing to" in out, out
    code, out = await run("audit", "--last", "5", "--database-url", database_url)
    assert code == 0, out
    code, out = await run("jobs", "--database-url", database_url, "list")
    assert code == 0 and out.startswith("id"), out
    for action in ("show", "cancel"):
        code, out = await run("jobs", "--database-url", database_url, action, "no-such-job")
        assert code == 1 and "No job no-such-job" in out, out

    port = free_port()
    env = {
        **bare,
        **app_env(fake_slack, tmp_path, PORT=str(port), DATABASE_URL=database_url, SHUTDOWN_GRACE_SECONDS="3"),
    }
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    server = await asyncio.create_subprocess_exec(cli, "serve", "--host", "127.0.0.1", env=env, cwd=work)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_for_http(session, f"http://127.0.0.1:{port}/readyz", server)
            sender = SlackSender(f"http://127.0.0.1:{port}", fake_slack, session)
            channel = fake_slack.add_channel("general")
            reply, body = await sender.command("/leave-channel", "", channel_id=channel)
            assert reply.status == 200
            assert (await fake_slack.next_post(body["response_url"], timeout=20))["text"] == f"I left <#{channel}>."
        server.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.wait(), timeout=10) == 0
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
