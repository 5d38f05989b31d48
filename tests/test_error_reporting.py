"""SENTRY_DSN (issue 22): errors reach Sentry with the logs' redaction applied to every event, and nothing of Sentry is
loaded without it. A fake Sentry over real HTTP receives what the SDK sends."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import ROOT, instances

SECRET = "s3cr3t-signing-value-0123456789"
TOKEN = "xoxb-1234-5678-abcdefabcdef"


@pytest.fixture
async def sentry() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A fake Sentry: the DSN to give the app, and each envelope it received (decompressed)."""
    received: list[bytes] = []

    async def envelope(request: web.Request) -> web.Response:
        received.append(await request.read())  # aiohttp inflates the SDK's gzip
        return web.json_response({"id": "0" * 32})

    app = web.Application()
    app.router.add_post("/api/1/envelope/", envelope)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://publickey@127.0.0.1:{port}/1", received
    await runner.cleanup()


SCRIPT = """
import logging, sys
import sentry_sdk
from services.telemetry.errors import configure_error_reporting
from services.telemetry.logs import configure_logging

dsn, secret, token = sys.argv[1:4]
configure_logging("INFO", [secret])
assert configure_error_reporting(dsn, [secret])
log = logging.getLogger("services.example")
log.info("A breadcrumb naming %s and https://hooks.slack.com/commands/T1/2/abc", token)

def handle(token=token, secret=secret):
    raise RuntimeError(f"Slack refused {token} with {secret}")

try:
    handle()
except RuntimeError:
    log.exception("Finishing an install failed: code=oauth-code-1 state=oauth-state-2 token %s", token)
# Strings as keys are event fields too: a log record's extras (a dict keyed by a response URL or a token) reach Sentry.
log.error("Posting failed", extra={"https://hooks.slack.com/actions/T1/2/keyed": 1, token + "-keyed": 2})
sentry_sdk.flush(10)
"""


async def test_an_error_reaches_sentry_redacted(sentry: tuple[str, list[bytes]]) -> None:
    dsn, received = sentry
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SCRIPT, dsn, SECRET, TOKEN, cwd=ROOT, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()[-2000:]
    raw = b"".join(received).decode()
    assert "RuntimeError" in raw and "Finishing an install failed" in raw  # the event, with its exception
    assert "A breadcrumb naming" in raw  # and the INFO line before it, as a breadcrumb
    assert "Posting failed" in raw
    for leak in (TOKEN, SECRET, "hooks.slack.com/commands", "hooks.slack.com/actions", "oauth-code-1", "oauth-state-2"):
        assert leak not in raw, f"{leak} reached Sentry"
    assert "[redacted]" in raw
    events = [json.loads(line) for line in raw.splitlines() if line.startswith("{") and '"exception"' in line]
    frames = [f for e in events for v in e["exception"]["values"] for f in v["stacktrace"]["frames"]]
    assert frames and all("vars" not in f for f in frames)  # no local variables: a frame's locals can hold a token


async def test_the_app_reports_to_sentry_only_when_configured(
    fake_slack: FakeSlack, sentry: tuple[str, list[bytes]], tmp_path: Path
) -> None:
    dsn, _ = sentry
    database = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    async with instances(fake_slack, database, tmp_path, SENTRY_DSN=dsn) as start:
        app = await start()
        async with aiohttp.ClientSession() as session, session.get(app.url + "/healthz") as health:
            assert health.status == 200
    log = app.log.read_text()
    assert "Error reporting to Sentry is on" in log and dsn not in log
