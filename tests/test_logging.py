"""The log: no token, signing secret or response URL in it, even at DEBUG; LOG_FORMAT=json writes one JSON object a
line with the request's IDs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from services.settings import Settings
from services.telemetry.logs import RedactingFilter
from tests.helpers.fake_slack import FakeSlack, Scripted
from tests.helpers.leave import chosen, open_pick_modal
from tests.helpers.logs import log_capture
from tests.helpers.processes import ROOT, app_env, free_port, wait_for_http
from tests.helpers.slack_requests import SIGNING_SECRET, SlackSender


@pytest.fixture
def debug_log(app_settings: Settings) -> Iterator[io.StringIO]:
    with log_capture(app_settings.secrets()) as stream:
        yield stream


async def test_a_full_run_at_debug_leaks_nothing(
    debug_log: io.StringIO, slack: SlackSender, fake_slack: FakeSlack
) -> None:
    channel = fake_slack.add_channel("here")
    _, command = await slack.command("/leave-channel", "", channel_id=channel)
    await fake_slack.next_post(command["response_url"])
    view_id, pick = await open_pick_modal(slack, fake_slack, channel)
    await slack.submit_view(view_id, chosen(fake_slack.add_channel("other")))
    await fake_slack.next_post(pick["response_url"])

    log = debug_log.getvalue()
    assert "conversations.leave" in log  # the capture really saw the DEBUG traffic
    for secret in (fake_slack.bot_token, SIGNING_SECRET, command["response_url"], pick["response_url"]):
        assert secret not in log
    assert f"/commands/{fake_slack.team_id}/" not in log


def test_redaction_patterns() -> None:
    f = RedactingFilter(["s3cret"])
    text = (
        "xoxb-1-2-abc xoxp-9-zz xapp-1-A1-9 https://hooks.slack.com/commands/T1/2/abc "
        "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F2%2Fabc&x=1 s3cret"
    )
    redacted = f.redact(text)
    assert "xox" not in redacted and "xapp" not in redacted and "hooks" not in redacted and "s3cret" not in redacted


async def test_an_oauth_install_and_an_admin_disconnect_at_debug_leak_nothing(fake_slack: FakeSlack, tmp_path) -> None:
    from tests.helpers.app import running_app, suite_database
    from tests.helpers.disconnect import confirm_view, form_values, open_form
    from tests.helpers.oauth import install, oauth_settings_for

    fake_slack.make_grid()
    admin = fake_slack.add_user(org_admin=True)
    settings = oauth_settings_for(fake_slack, await suite_database(tmp_path))
    with log_capture(settings.secrets()) as stream:
        async with running_app(fake_slack, settings) as slack:
            await install(slack, fake_slack, fake_slack.prepare_install(org_wide=True, installer=admin))
            slack.org_wide = True
            partner = fake_slack.add_team("Partner")
            channel = fake_slack.add_shared_channel("shared", connected=[partner])
            view_id, body = await open_form(slack, fake_slack, admin, channel)
            await slack.submit_view(view_id, form_values(channel, [partner]), user_id=admin)
            confirm = await confirm_view(slack, fake_slack)
            await slack.submit_view(confirm["id"], {}, user_id=admin)
            await fake_slack.next_post(body["response_url"])
    log = stream.getvalue()
    assert "oauth.v2.access" in log and "admin.conversations.disconnectShared" in log
    installed = [t for t in fake_slack.tokens if "installed" in t]
    assert len(installed) == 2
    for secret in (fake_slack.client_secret, SIGNING_SECRET, *installed, *fake_slack.response_urls):
        assert secret not in log


FIELDS = {"time", "level", "logger", "message"}


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
    with log_capture(app_settings.secrets(), "DEBUG", log_format="json") as stream:
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
    with log_capture(app_settings.secrets(), "INFO", log_format="json") as stream:
        await leave_as_admin(slack, fake_slack)
        assert fake_slack.calls_to("conversations.leave")  # the 429 was retried meanwhile
    assert "A retry handler found" not in stream.getvalue()


def test_a_traceback_and_extra_fields_are_redacted_or_left_out() -> None:
    token = "xoxb-123-456-abcdefabcdef"
    with log_capture(["the-signing-secret"], "INFO", log_format="json") as stream:
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


@pytest.mark.runs_long
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
