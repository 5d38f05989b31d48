"""Requests that are not Slack's: refused before any Web API call."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender


@pytest.fixture
async def baseline_calls(slack: SlackSender, fake_slack: FakeSlack) -> int:
    return len(fake_slack.calls)


async def test_bad_signature_is_401_and_calls_nothing(
    slack: SlackSender, fake_slack: FakeSlack, baseline_calls: int
) -> None:
    channel = fake_slack.add_channel("target")
    body = urlencode(slack.command_body("/leave-channel", "", channel)).encode()
    reply = await slack.post(body, secret="not-the-signing-secret")
    assert reply.status == 401
    assert len(fake_slack.calls) == baseline_calls
    assert fake_slack.is_member(channel)


@pytest.mark.parametrize("offset", [-6 * 60, 6 * 60], ids=["stale", "future"])
async def test_timestamp_more_than_five_minutes_off_is_401(
    slack: SlackSender, fake_slack: FakeSlack, baseline_calls: int, offset: int
) -> None:
    channel = fake_slack.add_channel("target")
    body = urlencode(slack.command_body("/leave-channel", "", channel)).encode()
    reply = await slack.post(body, timestamp=int(time.time()) + offset)
    assert reply.status == 401
    assert len(fake_slack.calls) == baseline_calls


async def test_missing_signature_headers_are_401(
    slack: SlackSender, fake_slack: FakeSlack, baseline_calls: int
) -> None:
    body = urlencode(slack.command_body("/leave-channel", "", fake_slack.add_channel("t"))).encode()
    reply = await slack.post(body, headers={"X-Slack-Signature": None, "X-Slack-Request-Timestamp": None})
    assert reply.status == 401
    assert len(fake_slack.calls) == baseline_calls


async def test_non_utf8_body_is_400_not_500(slack: SlackSender, fake_slack: FakeSlack, baseline_calls: int) -> None:
    reply = await slack.post(b"text=\xff\xfe\xfd")  # signed: verified on its bytes, then not readable
    assert reply.status == 400
    assert len(fake_slack.calls) == baseline_calls


async def test_health_check(slack: SlackSender) -> None:
    async with slack.session.get(slack.base_url + "/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"ok": True}


def form(**fields: str) -> bytes:
    return urlencode(fields).encode()


HOSTILE = {
    "payload is a list": form(payload=json.dumps([1, 2])),
    "payload is null": form(payload="null"),
    "payload is a string": form(payload='"text"'),
    "payload is cut short": form(payload='{"type": "view_sub'),
    "payload has no type": form(payload=json.dumps({"view": {}})),
    "json body is a list": json.dumps([1]).encode(),
    "json body is cut short": b'{"type": "event_callback", "event": {"ty',
    "view_submission without state": form(
        payload=json.dumps({"type": "view_submission", "view": {"callback_id": "leave_pick"}, "user": {"id": "U1"}})
    ),
    "unknown callback_id": form(
        payload=json.dumps(
            {"type": "view_submission", "view": {"callback_id": "nope", "state": {"values": {}}}, "user": {"id": "U1"}}
        )
    ),
    "half a UTF-8 character": b"command=%2Fleave-channel&text=%E2%9C&channel_id=C0123ABCDE",
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_bodies_get_a_4xx_or_a_friendly_reply_and_no_500(
    slack: SlackSender, fake_slack: FakeSlack, baseline_calls: int, body: bytes
) -> None:
    headers = {"Content-Type": "application/json"} if body[:1] in (b"[", b"{") else None
    reply = await slack.post(body, headers=headers)
    assert reply.status < 500
    assert "Traceback" not in reply.text
    assert len(fake_slack.calls) == baseline_calls
    channel = fake_slack.add_channel("still-serving")
    _, command = await slack.command("/leave-channel", "", channel_id=channel)
    assert (await fake_slack.next_post(command["response_url"]))["text"] == f"I left <#{channel}>."


async def test_block_ids_from_another_view_are_refused_inline(slack: SlackSender, fake_slack: FakeSlack) -> None:
    from tests.helpers.leave import open_pick_modal

    view_id, _ = await open_pick_modal(slack, fake_slack, fake_slack.add_channel("here"))
    other = {"disconnect_channel": {"disconnect_channel_chosen": {"selected_conversation": "C0123ABCDE"}}}
    reply = await slack.submit_view(view_id, other)
    assert reply.json()["response_action"] == "errors"
    assert fake_slack.calls_to("conversations.leave") == []
