"""/leave-channel end to end: signed slash commands to the app's endpoint, the fake Slack behind it."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from services.error_texts import LEAVE_ERRORS
from services.leaving.leave import LeaveStatus, result_from_response
from services.ui.rejoin import LASTING_COPY, REJOIN_ACTION
from tests.helpers.fake_slack import FakeSlack, Scripted
from tests.helpers.leave import as_admin, as_member
from tests.helpers.slack_requests import SlackSender, buttons_in
from tests.helpers.tasks import busy_tasks, settled

# users.conversations' `limit`: "specify a limit value with a max of 999"
# (https://docs.slack.dev/reference/methods/users.conversations, Pagination).
USERS_CONVERSATIONS_MAX_LIMIT = 999


async def test_no_text_leaves_the_current_channel(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("random")
    as_member(slack, fake_slack, channel)
    reply, body = await slack.command("/leave-channel", "", channel_id=channel)
    assert reply.status == 200
    post = await fake_slack.next_post(body["response_url"])
    assert post["response_type"] == "ephemeral"
    assert post["text"] == f"I left <#{channel}>."
    assert [c["channel"] for c in fake_slack.calls_to("conversations.leave")] == [channel]
    assert not fake_slack.is_member(channel)


async def test_named_channels_in_every_escaped_form_and_bare_ids_once_each(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    a, b, c, d = (fake_slack.add_channel(n) for n in ("alpha", "beta", "gamma", "delta"))
    as_member(slack, fake_slack, a, b, c, d)
    text = f"<#{a}|alpha> <#{b}|> <#{c}> {d} <#{a}|alpha>"
    reply, body = await slack.command("/leave-channel", text, channel_id=a)
    assert reply.status == 200
    assert "Leaving 4 channels" in reply.text
    post = await fake_slack.next_post(body["response_url"])
    assert post["text"] == f"Left 4 channels: <#{a}>, <#{b}>, <#{c}>, <#{d}>."
    assert sorted(p["channel"] for p in fake_slack.calls_to("conversations.leave")) == sorted([a, b, c, d])


@pytest.mark.parametrize("text", ["help", "HELP", "please leave", "#not-a-channel", "<@U123ABC>", "x" * 5000])
async def test_help_and_text_it_cannot_understand_get_usage_and_leave_nothing(
    slack: SlackSender, fake_slack: FakeSlack, text: str
) -> None:
    channel = fake_slack.add_channel("random")
    reply, _ = await slack.command("/leave-channel", text, channel_id=channel)
    assert reply.status == 200
    assert "/leave-channel pick" in reply.json()["text"]
    assert fake_slack.calls_to("conversations.leave") == []
    assert fake_slack.is_member(channel)


async def test_usage_reply_never_echoes_markup_as_a_mention(slack: SlackSender, fake_slack: FakeSlack) -> None:
    reply, _ = await slack.command("/leave-channel", "<!channel> now", channel_id=fake_slack.add_channel("x"))
    text = reply.json()["text"]
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text


async def test_the_app_still_serves_after_garbage(slack: SlackSender, fake_slack: FakeSlack) -> None:
    await slack.command("/leave-channel", "\x00\x01 ☃ <<<#>>> " * 200, channel_id="C0")
    channel = fake_slack.add_channel("after")
    as_member(slack, fake_slack, channel)
    _, body = await slack.command("/leave-channel", "", channel_id=channel)
    assert (await fake_slack.next_post(body["response_url"]))["text"] == f"I left <#{channel}>."


@pytest.mark.parametrize("ok", [False, True], ids=["ok-false", "ok-true"])
async def test_not_in_channel_in_both_shapes(slack: SlackSender, fake_slack: FakeSlack, ok: bool) -> None:
    fake_slack.not_in_channel_ok = ok
    channel = fake_slack.add_channel("elsewhere", bot_member=False)
    as_member(slack, fake_slack, channel)
    _, body = await slack.command("/leave-channel", "", channel_id=channel)
    post = await fake_slack.next_post(body["response_url"])
    assert post["text"] == f"I wasn't in <#{channel}>, so there was nothing to leave."


@pytest.mark.parametrize("code", sorted(LEAVE_ERRORS))
async def test_every_error_code_has_its_own_sentence(slack: SlackSender, fake_slack: FakeSlack, code: str) -> None:
    channel = fake_slack.add_channel("target")
    as_member(slack, fake_slack, channel)
    fake_slack.fail("conversations.leave", code, times=10)
    _, body = await slack.command("/leave-channel", "", channel_id=channel)
    post = await fake_slack.next_post(body["response_url"], timeout=15)
    mention = f"<#{channel}>"
    expected = LEAVE_ERRORS[code].format(channel=mention, action=f"leave {mention}")
    assert post["text"] == f"{expected} (`{code}`)"


async def test_real_semantics_of_general_archived_last_member_private_and_dm(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    general = fake_slack.add_channel("general", is_general=True)
    archived = fake_slack.add_channel("old", is_archived=True)
    lonely = fake_slack.add_channel("lonely", others=0)
    hidden = fake_slack.add_channel("secret", is_private=True, bot_member=False)
    dm = fake_slack.add_channel("dm", is_im=True)
    as_admin(slack, fake_slack)  # may ask for any of them, so Slack's own answers decide
    text = " ".join(f"<#{c}>" for c in (general, archived, lonely, hidden, dm))
    _, body = await slack.command("/leave-channel", text, channel_id=general)
    post = await fake_slack.next_post(body["response_url"])
    lines = post["text"].splitlines()
    assert lines[0] == "Couldn't leave 5 channels:"
    for channel, code in [
        (general, "cant_leave_general"),
        (archived, "is_archived"),
        (lonely, "last_member"),
        (hidden, "channel_not_found"),
        (dm, "method_not_supported_for_channel_type"),
    ]:
        assert any(line.startswith("• ") and f"<#{channel}>" in line and f"(`{code}`)" in line for line in lines)


async def test_unknown_error_code_gets_a_sentence_that_names_it(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("target")
    as_member(slack, fake_slack, channel)
    fake_slack.fail("conversations.leave", "brand_new_error")
    _, body = await slack.command("/leave-channel", "", channel_id=channel)
    post = await fake_slack.next_post(body["response_url"])
    assert "`brand_new_error`" in post["text"]
    assert f"leave <#{channel}>" in post["text"]


async def test_429_with_retry_after_then_success(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("busy")
    as_member(slack, fake_slack, channel)
    fake_slack.script(
        "conversations.leave",
        Scripted(body={"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}),
    )
    reply, body = await slack.command("/leave-channel", "", channel_id=channel)
    assert reply.elapsed < 1.0  # the retry waits after the ack, never before it
    post = await fake_slack.next_post(body["response_url"], timeout=10)
    assert post["text"] == f"I left <#{channel}>."
    assert len(fake_slack.calls_to("conversations.leave")) == 2


async def test_server_error_then_success(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("flaky")
    as_member(slack, fake_slack, channel)
    fake_slack.script("conversations.leave", Scripted(status=503, text="<html>busy</html>"))
    _, body = await slack.command("/leave-channel", "", channel_id=channel)
    post = await fake_slack.next_post(body["response_url"], timeout=10)
    assert post["text"] == f"I left <#{channel}>."


async def test_reply_falls_back_to_a_dm_when_the_response_url_is_unusable(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    """The summary's lasting DM copy is then the summary: it is not sent twice."""
    channel = fake_slack.add_channel("gone")
    as_member(slack, fake_slack, channel)
    body = slack.command_body("/leave-channel", "", channel)
    fake_slack.response_urls[body["response_url"]].status = 404
    before = busy_tasks()
    await slack.post(urlencode(body).encode())
    message = await fake_slack.wait_for(lambda: fake_slack.messages and fake_slack.messages[-1], what="a DM")
    assert message["channel"] == slack.user_id
    assert message["text"] == f"I left <#{channel}>."
    assert [b["action_id"] for b in buttons_in(message["blocks"])] == [REJOIN_ACTION]
    assert LASTING_COPY not in str(message["blocks"])
    await settled(fake_slack, before)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_a_summary_without_a_button_gets_no_dm_copy(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("elsewhere", bot_member=False)
    as_member(slack, fake_slack, channel)
    before = busy_tasks()
    _, body = await slack.command("/leave-channel", "", channel_id=channel)
    post = await fake_slack.next_post(body["response_url"])
    assert "blocks" not in post
    await settled(fake_slack, before)
    assert fake_slack.calls_to("chat.postMessage") == []


async def test_private_channels_are_listed_in_pages_within_slacks_maximum(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    """users.conversations with `limit` ≤ 999, and a private channel on the second page is still known as private.

    (The bot's own private channels; the requester's channels are listed too, also within the maximum.)"""
    first = fake_slack.add_channel("p0", is_private=True)
    for i in range(1, USERS_CONVERSATIONS_MAX_LIMIT):
        fake_slack.add_channel(f"p{i}", is_private=True)
    last = fake_slack.add_channel("on-page-two", is_private=True)
    # Several channels, by an admin: the bot's private channels are listed once before leaving (one channel lists nothing more).
    _, body = await slack.command("/leave-channel", f"<#{first}> <#{last}>", channel_id=last)
    summary = await fake_slack.next_post(body["response_url"], timeout=15)
    assert summary["text"] == f"Left 2 channels: <#{first}>, <#{last}>."
    calls = fake_slack.calls_to("users.conversations")
    assert all(1 <= int(c["limit"]) <= USERS_CONVERSATIONS_MAX_LIMIT for c in calls), [c["limit"] for c in calls]
    bots_own = [c for c in calls if "user" not in c]
    assert len(bots_own) == 2 and bots_own[1]["cursor"]
    (value,) = [b["value"] for b in buttons_in(summary["blocks"])]
    assert f"*{last}" in value  # marked private: the Rejoin button will explain /invite, not try to join


@pytest.mark.parametrize(
    ("body", "error", "status"),
    [
        ({"ok": True}, None, LeaveStatus.LEFT),
        ({"ok": False, "not_in_channel": True}, "unexpected_response", LeaveStatus.NOT_IN_CHANNEL),
        ({"ok": True, "not_in_channel": True}, None, LeaveStatus.NOT_IN_CHANNEL),
        ({"ok": False, "error": "is_archived"}, "is_archived", LeaveStatus.FAILED),
        ({}, None, LeaveStatus.FAILED),
    ],
)
def test_one_place_decides_what_leave_answers_mean(body: dict, error: str | None, status: LeaveStatus) -> None:
    assert result_from_response("C1", body, error).status is status
