"""Requests that are not Slack's: refused before any Web API call."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest

from tests.fake_slack import FakeSlack
from tests.slack_requests import SlackSender


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
    reply = await slack.post(b"text=\xff\xfe\xfd")
    assert reply.status == 400
    assert len(fake_slack.calls) == baseline_calls


async def test_health_check(slack: SlackSender) -> None:
    async with slack.session.get(slack.base_url + "/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"ok": True}
