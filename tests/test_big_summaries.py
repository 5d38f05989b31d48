"""Summaries at real size, end to end (signed requests to the app's endpoint, the fake Slack over HTTP, which refuses
what Slack refuses: more than 12,000 characters of block text or 50 blocks in a message): a leave of 1,000 channels,
the Rejoin after it, an offboarding of a partner sharing hundreds of channels. Each summary names the first channels
of each list and counts the rest, within Slack's limits; the full list is a file in the DM; the summary and its Rejoin
button always arrive — by the response URL while Slack takes it, and as a DM whatever happens to the URL."""

from __future__ import annotations

import csv
import io
import json

import pytest

from services.leaving.policy import MAX_LEAVE_CHANNELS
from services.ui.limits import MAX_MESSAGE_BLOCKS, MESSAGE_BLOCK_TEXT_BUDGET, message_size
from services.ui.rejoin import REJOIN_ACTION
from tests.helpers.fake_files import SharedFile
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.leave import as_admin, chosen, open_pick_modal
from tests.helpers.rejoin import has_button
from tests.helpers.slack_requests import SlackSender, buttons_in

pytestmark = pytest.mark.runs_long

N = MAX_LEAVE_CHANNELS  # 1,000: the most one /leave-channel takes


def within_limits(message: dict) -> bool:
    chars, blocks = message_size(message)
    return chars <= MESSAGE_BLOCK_TEXT_BUDGET and blocks <= MAX_MESSAGE_BLOCKS


def rows(shared: SharedFile) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(shared.text)))


async def leave_many(slack: SlackSender, fake: FakeSlack, count: int = N) -> tuple[list[str], dict]:
    """/leave-channel of `count` channels by an admin; returns the channels and the command's body."""
    as_admin(slack, fake)
    channels = [fake.add_channel(f"project-{i:04d}") for i in range(count)]
    reply, body = await slack.command("/leave-channel", " ".join(f"<#{c}>" for c in channels), channel_id=channels[0])
    assert reply.status == 200
    return channels, body


async def test_a_1000_channel_leave_sends_a_summary_that_fits_its_dm_copy_with_rejoin_and_the_full_list(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    channels, body = await leave_many(slack, fake_slack)
    summary = await fake_slack.next_post(body["response_url"], timeout=60)
    user = slack.user_id
    # The DM copy with its Rejoin button exists (before: refused with msg_blocks_too_long past ~800 channels).
    (dm,) = fake_slack.messages_to(user)
    for message in (summary, dm):
        assert within_limits(message) and has_button(message)
        assert f"Left {N} channels: " in message["text"] and "and 980 more." in message["text"]
        assert sum(f"<#{c}>" in message["text"] for c in channels) == 20
        assert "the full list is in `leave-" in message["text"]
    (value,) = [b["value"] for b in buttons_in(summary["blocks"])]
    assert [b["value"] for b in buttons_in(dm["blocks"])] == [value]
    assert value.startswith("r1db|") and len(value) < 50  # the offer is a database row: the value doesn't grow
    # The full list: a file in the same DM, one row per channel, sent before the summary that mentions it.
    (listed,) = fake_slack.files_to(user)
    assert listed.name.startswith("leave-") and listed.name.endswith(".csv") and listed.name in summary["text"]
    assert [(r["channel_id"], r["result"]) for r in rows(listed)] == [(c, "left") for c in channels]
    assert not any(fake_slack.is_member(c) for c in channels)

    # Rejoin after 1,000: the result fits, names 20, and its full list is a second file.
    reply, url = await slack.press_button(summary, REJOIN_ACTION)
    assert reply.status == 200
    await fake_slack.next_post(url, count=2, timeout=60)
    running, done = fake_slack.posts_to(url)
    for message in (running, done):
        assert within_limits(message)
    assert f"I'm back in {N} channels: " in done["text"] and "and 980 more." in done["text"]
    assert "the full list is in `rejoin-" in done["text"] and not has_button(done)
    _, rejoined = fake_slack.files_to(user)
    assert rejoined.name.startswith("rejoin-") and rejoined.name in done["text"]
    assert sorted((r["channel_id"], r["result"]) for r in rows(rejoined)) == sorted((c, "rejoined") for c in channels)
    assert all(fake_slack.is_member(c) for c in channels)


async def test_with_the_response_url_gone_the_dm_is_the_summary_with_its_rejoin(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    """A job that outlived its response URL (30 minutes, 5 uses): the summary still reaches the person, as a DM."""
    _, body = await leave_many(slack, fake_slack)
    fake_slack.response_urls[body["response_url"]].status = 404  # Slack no longer takes it
    dm = await fake_slack.wait_for(lambda: fake_slack.messages_to(slack.user_id), timeout=60, what="the DM")
    (summary,) = dm
    assert within_limits(summary) and has_button(summary) and "and 980 more." in summary["text"]
    assert "copy" not in summary["text"]  # it is the summary, not a copy of one
    (listed,) = fake_slack.files_to(slack.user_id)
    assert len(rows(listed)) == N


async def test_an_install_without_the_file_scopes_still_gets_the_summary_and_is_told_why_the_list_is_short(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    """An install from before files:write and im:write were asked for: no file, the same short summary and its DM
    copy with Rejoin, saying the list is shortened and that an admin may need to reinstall the app."""
    fake_slack.tokens[fake_slack.bot_token]["scopes"] -= {"files:write", "im:write"}
    channels, body = await leave_many(slack, fake_slack, 300)
    summary = await fake_slack.next_post(body["response_url"], timeout=60)
    (dm,) = fake_slack.messages_to(slack.user_id)
    for message in (summary, dm):
        assert within_limits(message) and has_button(message) and "and 280 more." in message["text"]
        assert "couldn't send you the full list as a file" in message["text"] and "reinstall" in message["text"]
    assert fake_slack.files == [] and not any(fake_slack.is_member(c) for c in channels)


async def test_a_1000_channel_pick_ends_with_a_short_result_in_the_modal_and_the_same_summary_everywhere(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    as_admin(slack, fake_slack)
    channels = [fake_slack.add_channel(f"project-{i:04d}") for i in range(N)]
    view_id, body = await open_pick_modal(slack, fake_slack, channels[0])
    await slack.submit_view(view_id, chosen(*channels))
    summary = await fake_slack.next_post(body["response_url"], timeout=60)
    (dm,) = fake_slack.messages_to(slack.user_id)
    result = await fake_slack.wait_for(
        lambda: [v for v in fake_slack.view_history[view_id] if (v.get("close") or {}).get("text") == "Done"],
        what="the modal's result",
    )
    shown = json.dumps(result[-1]["blocks"])
    assert within_limits(summary) and within_limits(dm) and within_limits(result[-1])
    assert "and 980 more." in shown and "the full list is in `leave-" in shown and "*Rejoin* button" in shown
    (listed,) = fake_slack.files_to(slack.user_id)
    assert len(rows(listed)) == N and listed.name in summary["text"] and listed.name in dm["text"]
