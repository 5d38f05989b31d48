"""`channel-admin`, the operators' command line (channel_admin/cli.py), run as an operator runs it: a process with no
SLACK_* setting for everything but `serve`. The installed console script itself is checked by .ci/containers (a fresh
virtual environment, `pip install .`)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from channel_admin import __version__
from channel_admin.cli import gunicorn_argv
from services.audit.log import AuditEvent, AuditLog
from services.disconnecting.offboarding import OFFBOARD
from services.jobs.queue import CANCELLED, JobStore
from services.storage.database import Database
from tests.helpers.app import migrated_sqlite_file
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import ROOT, app_env, free_port, wait_for_http
from tests.helpers.slack_requests import SlackSender


def cli(*args: str, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "")}  # no SLACK_* at all
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "channel_admin", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_help_and_version_need_no_slack_settings() -> None:
    top = cli("--help")
    assert top.returncode == 0, top.stderr
    for command in ("serve", "migrate", "audit", "jobs"):
        assert command in top.stdout
    for args in (["serve", "--help"], ["jobs", "--help"], ["jobs", "cancel", "--help"], ["migrate", "--help"]):
        done = cli(*args)
        assert done.returncode == 0, (args, done.stderr)
        assert "usage:" in done.stdout
    audit = cli("audit", "--help")  # the audit reader's own arguments, passed through as they are
    assert audit.returncode == 0 and "--last" in audit.stdout
    version = cli("--version")
    assert version.stdout.strip() == f"channel-admin {__version__}"
    with (ROOT / "pyproject.toml").open("rb") as f:
        assert __version__ == tomllib.load(f)["project"]["version"]  # the one place it is written


def test_serve_without_settings_says_what_is_missing() -> None:
    done = cli("serve")
    assert done.returncode == 2
    assert "Configuration error" in done.stderr and "SLACK_" in done.stderr


def test_gunicorn_outlives_the_apps_own_grace() -> None:
    argv = gunicorn_argv(host="0.0.0.0", port=3000, grace_seconds=7.5, workers=None)
    assert argv[argv.index("--graceful-timeout") + 1] == "9"
    assert "--workers" not in argv  # WEB_CONCURRENCY, read by gunicorn
    assert argv[argv.index("--bind") + 1] == "0.0.0.0:3000"


async def test_migrate_audit_and_jobs(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    migrated = cli("migrate", database_url=url)
    assert migrated.returncode == 0, migrated.stderr
    assert "upgraded from nothing to" in migrated.stdout
    assert "already at" in cli("migrate", database_url=url).stdout
    assert cli("migrate", "--current", database_url=url).stdout.startswith("at ")

    database = Database(url)
    try:
        store = JobStore(database)
        items = [{"channel_id": f"C{i}"} for i in range(3)]
        leave = await store.create("leave", user_id="U1", items=items, response_url="https://hooks.example/x")
        offboard = await store.create(
            OFFBOARD, user_id="U2", items=items, enterprise_id="E1", payload={"partner": "T9"}
        )
        running = await store.create("rejoin", user_id="U3", items=items)
        await store._rows.update(running, {"status": "running"})

        listed = cli("jobs", "list", database_url=url)
        assert listed.returncode == 0, listed.stderr
        assert {leave, offboard, running} <= set(listed.stdout.split())
        assert "hooks.example" not in listed.stdout
        shown = cli("jobs", "show", leave, database_url=url)
        assert shown.returncode == 0 and "3 not done yet" in shown.stdout and "hooks.example" not in shown.stdout
        assert cli("jobs", "show", "nope", database_url=url).returncode == 1

        assert cli("jobs", "cancel", leave, database_url=url).returncode == 0  # queued: cancelled before it starts
        cancelled = await store.get(leave)
        assert cancelled is not None and cancelled.status == CANCELLED
        again = cli("jobs", "cancel", leave, database_url=url)
        assert again.returncode == 0 and "already finished" in again.stdout
        # An offboarding: the Home tab's request (its audit row), which the instance working it reads.
        assert cli("jobs", "cancel", offboard, database_url=url).returncode == 0
        assert len(await AuditLog(database).of_job(offboard, AuditEvent.CANCELLED)) == 1
        refused = cli("jobs", "cancel", running, database_url=url)
        assert refused.returncode == 1 and "only an offboarding job stops mid-way" in refused.stderr

        audit = cli("audit", "--last", "5", database_url=url)
        assert audit.returncode == 0 and "cancelled" in audit.stdout
    finally:
        await database.close()


@pytest.mark.runs_long
async def test_serve_runs_gunicorn_and_drains_on_sigterm(fake_slack: FakeSlack, tmp_path: Path) -> None:
    """`channel-admin serve`: gunicorn in HTTP mode in this very process (exec), answering a signed command, and
    exiting 0 at SIGTERM within the grace."""
    port = free_port()
    database_url = await migrated_sqlite_file(tmp_path / "app.db")
    env = app_env(
        fake_slack, tmp_path, PORT=str(port), DATABASE_URL=database_url, SHUTDOWN_GRACE_SECONDS="3", WEB_CONCURRENCY="2"
    )
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "channel_admin", "serve", "--host", "127.0.0.1", env=env, cwd=ROOT
    )
    try:
        async with aiohttp.ClientSession() as session:
            await wait_for_http(session, f"http://127.0.0.1:{port}/readyz", server)
            sender = SlackSender(f"http://127.0.0.1:{port}", fake_slack, session)
            channel = fake_slack.add_channel("general")
            body = sender.command_body("/leave-channel", "", channel)
            assert (await sender.post(urlencode(body).encode())).status == 200
            assert (await fake_slack.next_post(body["response_url"], timeout=10))["text"] == f"I left <#{channel}>."
        server.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.wait(), timeout=3 + 5) == 0
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
