"""Socket Mode: with SLACK_APP_TOKEN set, commands arrive over Bolt's async WebSocket and are acked on it."""

from __future__ import annotations

import pytest

from app import build_app
from server.app import connect_socket_mode
from services.slack.identity import StartupError
from tests.helpers.app import settings_for
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.faults import FAULTS
from tests.helpers.slack_requests import SlackSender

pytestmark = pytest.mark.runs_long  # connections through faults and retries: see runs_long in pyproject.toml


async def test_a_command_over_socket_mode_is_acked_and_handled(fake_slack: FakeSlack) -> None:
    settings = settings_for(fake_slack, app_token=fake_slack.app_token, signing_secret=None)
    built = await build_app(settings)
    handler = await connect_socket_mode(built.bolt, fake_slack.app_token)
    try:
        (socket,) = await fake_slack.wait_for(lambda: fake_slack.sockets, what="a Socket Mode connection")
        channel = fake_slack.add_channel("over-socket")
        # Only its payload builder is used: no HTTP session needed.
        command = SlackSender("unused", fake_slack, None).command_body("/leave-channel", "", channel)  # type: ignore[arg-type]
        await socket.send_json(
            {"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True, "payload": command}
        )
        acks = await fake_slack.wait_for(
            lambda: [m for m in fake_slack.socket_messages if m.get("envelope_id") == "env-1"], what="the ack"
        )
        assert len(acks) == 1
        post = await fake_slack.next_post(command["response_url"])
        assert post["text"] == f"I left <#{channel}>."
        assert fake_slack.calls_to("apps.connections.open") == [{}]
    finally:
        await handler.close_async()
        await built.close()


@pytest.mark.parametrize("fault", FAULTS)
async def test_apps_connections_open_under_faults(fake_slack: FakeSlack, fault: str) -> None:
    """Recovers from what retries can fix; otherwise start-up ends with one line naming what to check."""
    settings = settings_for(fake_slack, app_token=fake_slack.app_token, signing_secret=None, api_timeout=0.5)
    built = await build_app(settings)
    fake_slack.script("apps.connections.open", *FAULTS[fault]())
    try:
        # slack_sdk waits `ping_interval` between connection attempts: short here, so the faults take no time.
        handler = await connect_socket_mode(built.bolt, fake_slack.app_token, ping_interval=0.2)
    except StartupError as e:
        assert "\n" not in str(e) and "SLACK_APP_TOKEN" in str(e)
        assert not fault.startswith("429")
    else:
        await fake_slack.wait_for(lambda: fake_slack.sockets, what="a Socket Mode connection")
        await handler.close_async()
    finally:
        await built.close()
