"""Every event both manifests subscribe to is answered in every mode: a pasted bot token over HTTP (2xx, not Bolt's 404
for an event without a listener, which Slack retries and counts), Socket Mode (acked on the socket) and OAuth (the
installation deleted, as before). Payloads as recorded: ../shared/slack-samples/payloads/AppUninstalledPayload.json,
TokensRevokedPayload.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app import build_app
from server.app import connect_socket_mode
from tests.helpers.app import running_app, settings_for
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.logs import log_capture
from tests.helpers.oauth import install, oauth_settings_for
from tests.helpers.processes import ROOT
from tests.helpers.slack_requests import SlackSender
from tests.helpers.tasks import busy_tasks, settled

SAMPLES = ROOT.parent / "shared" / "slack-samples" / "payloads"


def subscribed() -> list[str]:
    """The bot events of both manifests (they must agree)."""
    events = [
        sorted(json.loads((ROOT / name).read_text())["settings"]["event_subscriptions"]["bot_events"])
        for name in ("manifest.json", "manifest.enterprise.json")
    ]
    assert events[0] == events[1]
    return events[0]


def event_of(kind: str, fake: FakeSlack) -> dict[str, Any]:
    """The recorded event (its sample's `event`, blanks filled in), or a minimal one for app_home_opened."""
    sample = SAMPLES / {
        "app_uninstalled": "AppUninstalledPayload.json",
        "tokens_revoked": "TokensRevokedPayload.json",
    }.get(kind, "AppHomeOpenedPayload.json")
    event: dict[str, Any] = json.loads(Path(sample).read_text())["event"]
    if kind == "tokens_revoked":
        event["tokens"] = {"oauth": [fake.add_user()], "bot": [fake.bot_user_id]}
    if kind == "app_home_opened":
        event = {"type": kind, "user": fake.add_user(), "channel": "D0HOME", "tab": "messages"}
    assert event["type"] == kind
    return event


async def test_a_pasted_token_app_answers_every_subscribed_event_and_logs_what_was_revoked(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    with log_capture([fake_slack.bot_token]) as log:
        for kind in subscribed():
            reply = await slack.event(event_of(kind, fake_slack))
            assert reply.status == 200, (kind, reply.status, reply.text)
    text = log.getvalue()
    assert "uninstalled from workspace" in text and "SLACK_BOT_TOKEN no longer works" in text
    assert f"bot user {fake_slack.bot_user_id}" in text and "user tokens of 1 user(s)" in text
    assert fake_slack.bot_token not in text
    channel = fake_slack.add_channel("still-served")
    _, body = await slack.command("/leave-channel", "", channel_id=channel)
    assert (await fake_slack.next_post(body["response_url"]))["text"] == f"I left <#{channel}>."


@pytest.mark.runs_long
async def test_socket_mode_acks_every_subscribed_event(fake_slack: FakeSlack) -> None:
    settings = settings_for(fake_slack, app_token=fake_slack.app_token, signing_secret=None)
    built = await build_app(settings)
    handler = await connect_socket_mode(built.bolt, fake_slack.app_token)
    try:
        (socket,) = await fake_slack.wait_for(lambda: fake_slack.sockets, what="a Socket Mode connection")
        for kind in subscribed():
            payload = {
                "type": "event_callback",
                "team_id": fake_slack.team_id,
                "api_app_id": "A0FAKEAPP",
                "event": event_of(kind, fake_slack),
                "event_id": f"Ev-{kind}",
                "event_time": 1,
                "authorizations": [
                    {"enterprise_id": None, "team_id": fake_slack.team_id, "user_id": fake_slack.bot_user_id,
                     "is_bot": True, "is_enterprise_install": False}
                ],
            }  # fmt: skip
            envelope = f"env-{kind}"
            await socket.send_json(
                {"envelope_id": envelope, "type": "events_api", "accepts_response_payload": False, "payload": payload}
            )
            await fake_slack.wait_for(
                lambda e=envelope: [m for m in fake_slack.socket_messages if m.get("envelope_id") == e],
                what=f"the ack of {kind}",
            )
    finally:
        await handler.close_async()
        await built.close()


async def test_an_oauth_app_answers_every_subscribed_event(fake_slack: FakeSlack, migrated_database_url: str) -> None:
    async with running_app(fake_slack, oauth_settings_for(fake_slack, migrated_database_url)) as app:
        await install(app, fake_slack, fake_slack.prepare_install())
        idle = busy_tasks()
        for kind in subscribed():
            reply = await app.event(event_of(kind, fake_slack))
            assert reply.status == 200, (kind, reply.status, reply.text)
        await settled(fake_slack, idle)  # Bolt's listeners delete the installation after the ack
        store = app.built.bolt.installation_store
        assert await store.async_find_installation(enterprise_id=None, team_id=fake_slack.team_id) is None
