"""A leave with its Rejoin button, and pressing it."""

from __future__ import annotations

from services.ui.rejoin import REJOIN_ACTION
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender, buttons_in


def has_button(message: dict) -> bool:
    return any(b["action_id"] == REJOIN_ACTION for b in buttons_in(message.get("blocks", [])))


async def leave(slack: SlackSender, fake: FakeSlack, *channels: str) -> dict:
    """/leave-channel for these channels; returns the summary message."""
    text = " ".join(f"<#{c}>" for c in channels)
    _, body = await slack.command("/leave-channel", text, channel_id=channels[0])
    return await fake.next_post(body["response_url"], timeout=15)  # a bulk leave is a job: written as it goes


async def press(slack: SlackSender, fake: FakeSlack, summary: dict, posts: int = 2) -> list[dict]:
    """Press Rejoin; wait for that many posts to the press's response URL (the last one is the result)."""
    reply, url = await slack.press_button(summary, REJOIN_ACTION)
    assert reply.status == 200 and reply.text == ""
    await fake.next_post(url, count=posts)
    return fake.posts_to(url)
