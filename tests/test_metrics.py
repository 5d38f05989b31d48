"""GET /metrics scraped as Prometheus does, after commands, Web API errors and audit entries happen."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.error_texts import ADMIN_ONLY
from services.telemetry import metrics
from tests.helpers.app import Org, running_app, settings_for, suite_database
from tests.helpers.fake_slack import FakeSlack, Scripted
from tests.helpers.metrics import Samples, scrape, value
from tests.helpers.processes import ROOT, app_env, free_port, wait_for_http
from tests.helpers.slack_requests import SlackSender

# Anything shaped like a Slack ID or token: never a label value.
SLACK_ID = re.compile(r"^[TUWCGDEB][A-Z0-9]{6,}$|xox|xapp")


class Scraper:
    """Differences between two scrapes: the suite's processes share one registry, so counts are compared, not read."""

    def __init__(self, slack: SlackSender) -> None:
        self.slack = slack
        self.before: Samples = {}

    async def start(self) -> Scraper:
        self.before, _ = await scrape(self.slack.session, self.slack.base_url)
        return self

    async def delta(self) -> tuple[dict, str]:
        after, text = await scrape(self.slack.session, self.slack.base_url)
        return {k: v - self.before.get(k, 0.0) for k, v in after.items() if v != self.before.get(k, 0.0)}, text


def changed(delta: dict, name: str, **labels: str) -> float:
    return delta.get((name, frozenset(labels.items())), 0.0)


def no_ids_in_labels(text: str) -> None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for label_value in sample.labels.values():
                assert not SLACK_ID.search(label_value), (sample.name, label_value)


async def leave(slack: SlackSender, fake: FakeSlack, user: str, *channels: str) -> str:
    text = " ".join(f"<#{c}>" for c in channels[1:])
    _, body = await slack.command("/leave-channel", text, channel_id=channels[0], user_id=user)
    return (await fake.next_post(body["response_url"], timeout=10))["text"]


async def test_commands_and_web_api_outcomes_are_counted(slack: SlackSender, fake_slack: FakeSlack) -> None:
    admin = fake_slack.add_user(workspace_admin=True)
    scraper = await Scraper(slack).start()

    assert (await leave(slack, fake_slack, admin, fake_slack.add_channel("fine"))).startswith("I left")
    fake_slack.fail("conversations.leave", "cant_leave_general")
    await leave(slack, fake_slack, admin, fake_slack.add_channel("general"))
    fake_slack.fail("conversations.leave", "a_code_nobody_documented")
    await leave(slack, fake_slack, admin, fake_slack.add_channel("odd"))
    fake_slack.script("conversations.leave", Scripted(text="<html>maintenance</html>"))
    await leave(slack, fake_slack, admin, fake_slack.add_channel("html"))
    # A 429 waited out, then the retry goes through.
    fake_slack.script(
        "conversations.leave",
        Scripted(body={"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"}),
    )
    assert (await leave(slack, fake_slack, admin, fake_slack.add_channel("busy"))).startswith("I left")
    fake_slack.script("conversations.leave", *[Scripted(status=503, text="busy")] * 3)  # past the two retries
    await leave(slack, fake_slack, admin, fake_slack.add_channel("down"))

    delta, text = await scraper.delta()
    leaves = {
        outcome: changed(delta, "channel_admin_slack_api_calls_total", method="conversations.leave", outcome=outcome)
        for outcome in ("ok", "cant_leave_general", "other_error", "unexpected_response", "5xx")
    }
    assert leaves == {"ok": 2, "cant_leave_general": 1, "other_error": 1, "unexpected_response": 1, "5xx": 1}
    assert changed(delta, "channel_admin_requests_total", kind="command", outcome="acked") == 6
    assert changed(delta, "channel_admin_ack_seconds_count", kind="command") == 6
    assert changed(delta, "channel_admin_ack_seconds_bucket", kind="command", le="3.0") == 6
    assert changed(delta, "channel_admin_slack_retry_after_waits_total", method="conversations.leave") == 1
    assert "a_code_nobody_documented" not in text
    no_ids_in_labels(text)


async def test_a_timeout_is_its_own_outcome(fake_slack: FakeSlack, tmp_path: Path) -> None:
    settings = settings_for(fake_slack, api_timeout=0.5, database_url=await suite_database(tmp_path))
    admin = fake_slack.add_user(workspace_admin=True)
    async with running_app(fake_slack, settings) as slack:
        scraper = await Scraper(slack).start()
        fake_slack.script("conversations.leave", Scripted(body={"ok": True}, delay=1.0))
        await leave(slack, fake_slack, admin, fake_slack.add_channel("slow"))
        delta, _ = await scraper.delta()
    assert changed(delta, "channel_admin_slack_api_calls_total", method="conversations.leave", outcome="timeout") == 1


async def test_interactions_events_and_unsigned_requests_by_kind(slack: SlackSender, fake_slack: FakeSlack) -> None:
    user = fake_slack.add_user()
    scraper = await Scraper(slack).start()
    await slack.home_opened(user)
    await fake_slack.wait_for(lambda: fake_slack.home_of(user), what="the Home tab")
    body = urlencode(slack.command_body("/leave-channel", "help")).encode()
    assert (await slack.post(body, secret="not-the-signing-secret")).status == 401
    assert (await slack.post(b"payload=%7B%22type%22%3A%20%22block_actions%22")).status == 400

    delta, _ = await scraper.delta()
    assert changed(delta, "channel_admin_requests_total", kind="event", outcome="acked") == 1
    assert changed(delta, "channel_admin_requests_total", kind="other", outcome="unauthorized") == 1
    assert changed(delta, "channel_admin_requests_total", kind="other", outcome="bad_request") == 1
    assert changed(delta, "channel_admin_slack_api_calls_total", method="views.publish", outcome="ok") == 1


@pytest.fixture
def audit_channel(fake_slack: FakeSlack) -> str:
    return fake_slack.add_channel("admin-audit", bot_member=False)  # posts there fail: not_in_channel


async def test_audit_rows_and_failed_audit_channel_posts(
    fake_slack: FakeSlack, org: Org, audit_channel: str, tmp_path: Path
) -> None:
    settings = settings_for(
        fake_slack,
        admin_token=org.admin_token,
        audit_channel_id=audit_channel,
        database_url=await suite_database(tmp_path),
    )
    async with running_app(fake_slack, settings) as slack:
        scraper = await Scraper(slack).start()
        channel = fake_slack.add_shared_channel("vendors", connected=[org.alpha])
        _, body = await slack.command("/disconnect-shared", "", channel_id=channel, user_id=org.member)
        assert (await fake_slack.next_post(body["response_url"]))["text"] == ADMIN_ONLY
        await slack.built.audit_feed.drain()
        delta, text = await scraper.delta()
    assert changed(delta, "channel_admin_audit_rows_written_total", event="refused") == 1
    assert changed(delta, "channel_admin_audit_channel_posts_failed_total", error="not_in_channel") == 1
    no_ids_in_labels(text)


async def test_metrics_off_by_setting(fake_slack: FakeSlack, tmp_path: Path) -> None:
    settings = settings_for(fake_slack, metrics_enabled=False, database_url=await suite_database(tmp_path))
    try:
        async with running_app(fake_slack, settings) as slack:
            async with slack.session.get(slack.base_url + "/metrics") as response:
                assert response.status == 404
            assert not metrics.enabled()
            await slack.home_opened(fake_slack.add_user())  # recording is a no-op, not an error
            assert (await slack.session.get(slack.base_url + "/healthz")).status == 200
    finally:
        metrics.configure(True)


@pytest.mark.runs_long
async def test_gunicorn_workers_add_up_in_one_scrape(fake_slack: FakeSlack, tmp_path: Path) -> None:
    """Multi-process mode (gunicorn.conf.py): whichever worker answers, the scrape counts every worker's requests, and
    an empty file left by a killed worker doesn't fail it."""
    port = free_port()
    env = app_env(fake_slack, tmp_path, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    command = [sys.executable, "-m", "gunicorn", "app:web_app", "--worker-class", "aiohttp.GunicornWebWorker"]
    command += ["--workers", "2", "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5"]
    server = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT, stderr=asyncio.subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            await wait_for_http(session, base + "/healthz", server)
            # A worker killed between creating its file and sizing it leaves it empty for good: the scrapes still
            # read every other file (prometheus/client_python#1199).
            (tmp_path / "metrics" / "counter_4194303.db").touch()
            sender = SlackSender(base, fake_slack, session)
            bodies = [sender.command_body("/leave-channel", "help") for _ in range(12)]
            replies = await asyncio.gather(*(sender.post(urlencode(b).encode()) for b in bodies))
            assert [r.status for r in replies] == [200] * 12
            for _ in range(6):  # each scrape may reach either worker
                samples, _ = await scrape(session, base)
                assert value(samples, "channel_admin_requests_total", kind="command", outcome="acked") == 12
                assert value(samples, "channel_admin_ack_seconds_count", kind="command") == 12
        assert len(list((tmp_path / "metrics").glob("*.db"))) >= 2  # one file per worker at least
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=20)


@pytest.mark.runs_long
async def test_socket_mode_serves_metrics_and_readiness_on_port(fake_slack: FakeSlack, tmp_path: Path) -> None:
    """`python app.py` in Socket Mode: /readyz turns 200 once connected; /metrics counts what came over the socket."""
    port = free_port()
    env = app_env(fake_slack, tmp_path, SLACK_APP_TOKEN=fake_slack.app_token, PORT=str(port))
    del env["SLACK_SIGNING_SECRET"]  # Socket Mode needs none
    app = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "app.py"), env=env, cwd=tmp_path, stderr=asyncio.subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            await wait_for_http(session, base + "/readyz", app)
            (socket,) = await fake_slack.wait_for(lambda: fake_slack.sockets, what="a Socket Mode connection")
            command = SlackSender("unused", fake_slack, session).command_body("/leave-channel", "help")
            await socket.send_json(
                {"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True, "payload": command}
            )
            await fake_slack.wait_for(
                lambda: [m for m in fake_slack.socket_messages if m.get("envelope_id") == "env-1"], what="the ack"
            )
            samples, _ = await scrape(session, base)
            assert value(samples, "channel_admin_requests_total", kind="command", outcome="acked") == 1
            async with session.post(base + "/slack/events", data=b"{}") as response:
                assert response.status in (404, 405)  # Socket Mode: no HTTP endpoint for Slack's requests
    finally:
        app.terminate()
        await asyncio.wait_for(app.wait(), timeout=20)
