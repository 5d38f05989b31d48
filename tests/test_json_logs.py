"""LOG_FORMAT=json: one JSON object a line, with the request's IDs, and nothing secret in it even at DEBUG."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from services.settings import Settings
from services.telemetry.logs import configure_logging
from tests.helpers.fake_slack import FakeSlack, Scripted
from tests.helpers.processes import ROOT, app_env, free_port, wait_for_http
from tests.helpers.slack_requests import SIGNING_SECRET, SlackSender

FIELDS = {"time", "level", "logger", "message"}


@contextmanager
def json_capture(level: str, secrets: list[str]) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    before = root.level
    handler = configure_logging(level, secrets, stream=stream, log_format="json")
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(before)


def json_lines(text: str) -> list[dict]:
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert lines and all(isinstance(line, dict) and set(line) >= FIELDS for line in lines)
    return lines


def rate_limited_once() -> Scripted:
    return Scripted(body={"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"})


async def leave_as_admin(slack: SlackSender, fake: FakeSlack) -> dict:
    admin = fake.add_user(workspace_admin=True)
    fake.script("conversations.leave", rate_limited_once())
    _, body = await slack.command("/leave-channel", "", channel_id=fake.add_channel("here"), user_id=admin)
    assert (await fake.next_post(body["response_url"]))["text"].startswith("I left")
    return body


async def test_json_lines_at_debug_parse_carry_ids_and_no_secret(
    slack: SlackSender, fake_slack: FakeSlack, app_settings: Settings
) -> None:
    with json_capture("DEBUG", app_settings.secrets()) as stream:
        body = await leave_as_admin(slack, fake_slack)
    text = stream.getvalue()
    lines = json_lines(text)
    for secret in (fake_slack.bot_token, SIGNING_SECRET, body["response_url"], body["trigger_id"]):
        assert secret not in text
    leave_calls = [line for line in lines if "conversations.leave" in line["message"]]
    assert leave_calls, "the capture saw the Web API traffic at DEBUG"
    request_ids = {line.get("request_id") for line in leave_calls}
    assert len(request_ids) == 1 and None not in request_ids  # lines after the ack carry the request's ID
    assert {line.get("team_id") for line in leave_calls} == {fake_slack.team_id}
    retry_notices = [line for line in lines if line["message"].startswith("A retry handler found")]
    assert retry_notices and {line["level"] for line in retry_notices} == {"DEBUG"}


async def test_at_info_slack_sdk_retry_notices_stay_out(
    slack: SlackSender, fake_slack: FakeSlack, app_settings: Settings
) -> None:
    with json_capture("INFO", app_settings.secrets()) as stream:
        await leave_as_admin(slack, fake_slack)
        assert fake_slack.calls_to("conversations.leave")  # the 429 was retried meanwhile
    assert "A retry handler found" not in stream.getvalue()


def test_a_traceback_and_extra_fields_are_redacted_or_left_out() -> None:
    token = "xoxb-123-456-abcdefabcdef"
    with json_capture("INFO", ["the-signing-secret"]) as stream:
        try:
            raise RuntimeError(f"failed with {token} and the-signing-secret")
        except RuntimeError:
            logging.getLogger("tests.json").exception("boom %s", token)
        logging.getLogger("tests.json").warning("plain", extra={"token": token, "payload": {"a": 1}})
    boom, plain = json_lines(stream.getvalue())
    assert boom["message"] == "boom [redacted]" and boom["level"] == "ERROR" and boom["logger"] == "tests.json"
    assert (
        "Traceback" in boom["exc_info"]
        and token not in boom["exc_info"]
        and "the-signing-secret" not in boom["exc_info"]
    )
    assert set(plain) == FIELDS  # no `extra` fields, no context outside a request
    assert token not in stream.getvalue()


async def test_a_real_process_logs_json_lines_at_debug(fake_slack: FakeSlack, tmp_path: Path) -> None:
    """`python app.py` with LOG_FORMAT=json and LOG_LEVEL=DEBUG: every line of its stderr is one JSON object."""
    port = free_port()
    env = app_env(fake_slack, tmp_path, PORT=str(port), LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    log = tmp_path / "app.log"
    with log.open("wb") as stderr:
        app = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "app.py"), env=env, cwd=tmp_path, stderr=stderr
        )
        try:
            async with aiohttp.ClientSession() as session:
                await wait_for_http(session, f"http://127.0.0.1:{port}/readyz", app)
                sender = SlackSender(f"http://127.0.0.1:{port}", fake_slack, session)
                await leave_as_admin(sender, fake_slack)
                await sender.post(urlencode(sender.command_body("/leave-channel", "help")).encode(), secret="forged")
        finally:
            app.terminate()
            await asyncio.wait_for(app.wait(), timeout=20)
    text = log.read_text()
    lines = json_lines(text)
    assert any(line.get("request_id") and line.get("team_id") == fake_slack.team_id for line in lines)
    for secret in (fake_slack.bot_token, SIGNING_SECRET, *fake_slack.response_urls):
        assert secret not in text


@pytest.mark.parametrize("value", ["text", "json"])
def test_log_format_setting(value: str) -> None:
    from services.settings import load_settings

    good = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    assert load_settings({**good, "LOG_FORMAT": value.upper()}, env_file=None).log_format == value
