"""What one /leave-channel costs after its ack: the Web API calls the leave rule needs and no more, and library
loggers that don't format DEBUG lines nobody will see."""

from __future__ import annotations

import io
import logging
from collections import Counter

import pytest

from services.telemetry.logs import LEVEL_CHECKED_LOGGERS, configure_logging
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.leave import as_member
from tests.helpers.slack_requests import SlackSender
from tests.helpers.tasks import busy_tasks, settled


async def calls_for_one_leave(slack: SlackSender, fake: FakeSlack, channel: str) -> Counter[str]:
    before_tasks, before_calls = busy_tasks(), len(fake.calls)
    _, body = await slack.command("/leave-channel", "", channel_id=channel)
    summary = await fake.next_post(body["response_url"])
    assert summary["text"] == f"I left <#{channel}>."
    await settled(fake, before_tasks)
    assert len(fake.posts_to(body["response_url"])) == 1  # the summary, once
    return Counter(call.method for call in fake.calls[before_calls:])


async def test_an_admins_leave_asks_slack_three_things(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """users.info decides (an admin): no listing of the admin's channels, none of the bot's private channels either
    (the Rejoin press learns a channel's privacy from its join); the leave, the DM copy."""
    calls = await calls_for_one_leave(slack, fake_slack, fake_slack.add_channel("here"))
    assert calls == {"users.info": 1, "conversations.leave": 1, "chat.postMessage": 1}


async def test_a_members_leave_adds_one_listing_of_their_channels(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """Their listing (who may) also says whether the channel is private: nothing more for the Rejoin button."""
    channel = fake_slack.add_channel("here")
    as_member(slack, fake_slack, channel)
    calls = await calls_for_one_leave(slack, fake_slack, channel)
    assert calls == {"users.info": 1, "users.conversations": 1, "conversations.leave": 1, "chat.postMessage": 1}


@pytest.mark.parametrize(("level", "expected"), [("INFO", logging.INFO), ("WARNING", logging.WARNING)])
def test_library_loggers_skip_debug_formatting_above_debug(level: str, expected: int) -> None:
    root = logging.getLogger()
    before = root.level
    handler = configure_logging(level, stream=io.StringIO())
    try:
        # The loggers slack_sdk's clients really write to are among them (a misspelt name would silently not be).
        from slack_sdk.web.async_client import AsyncWebClient
        from slack_sdk.webhook.async_client import AsyncWebhookClient

        assert {AsyncWebClient().logger.name, AsyncWebhookClient("http://127.0.0.1/").logger.name} <= set(
            LEVEL_CHECKED_LOGGERS
        )
        assert {name: logging.getLogger(name).level for name in LEVEL_CHECKED_LOGGERS} == dict.fromkeys(
            LEVEL_CHECKED_LOGGERS, expected
        )
        # At DEBUG they inherit the root's level, as before: their DEBUG lines are written.
        configure_logging("DEBUG", stream=io.StringIO())
        assert {logging.getLogger(name).level for name in LEVEL_CHECKED_LOGGERS} == {logging.NOTSET}
    finally:
        for old in [h for h in root.handlers if h is not handler and type(h).__name__ == "AppLogHandler"]:
            root.removeHandler(old)
        root.removeHandler(handler)
        root.setLevel(before)
