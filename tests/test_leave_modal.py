"""/leave-channel pick: the modal, its submission, live progress and the summary."""

from __future__ import annotations

import json

import pytest

from services.leaving.leave import LeaveOutcome, LeaveResult, LeaveStatus
from services.ui.leave import LEAVE_PICK_BLOCK, PickMetadata, leave_pick_modal, leave_progress_modal, leave_result_modal
from services.ui.rejoin import LASTING_COPY, REJOIN_ACTION
from tests.helpers.fake_slack import FakeSlack, Scripted
from tests.helpers.leave import as_member, chosen, open_pick_modal, result_view
from tests.helpers.slack_requests import SlackSender, buttons_in
from tests.helpers.tasks import busy_tasks, settled


async def test_pick_opens_a_modal_prefilled_with_the_current_channel(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("here")
    view_id, body = await open_pick_modal(slack, fake_slack, channel)
    view = fake_slack.views[view_id]
    element = view["blocks"][0]["element"]
    assert element["type"] == "multi_conversations_select"
    assert element["initial_conversations"] == [channel]
    metadata = json.loads(view["private_metadata"])
    assert metadata["response_url"] == body["response_url"]
    assert fake_slack.calls_to("conversations.leave") == []


@pytest.mark.runs_long
async def test_submitting_35_channels_shows_progress_then_the_result_and_a_summary(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    channels = [fake_slack.add_channel(f"c{i}") for i in range(33)]
    outside = fake_slack.add_channel("outside", bot_member=False)
    general = fake_slack.add_channel("general", is_general=True)
    as_member(slack, fake_slack, *channels, outside, general)
    fake_slack.delays["conversations.leave"] = 0.15
    view_id, body = await open_pick_modal(slack, fake_slack, channels[0])

    reply = await slack.submit_view(view_id, chosen(*channels, outside, general))
    assert reply.status == 200
    assert reply.elapsed < 1.0
    ack = reply.json()
    assert ack["response_action"] == "update"
    assert "Leaving 0 of 35…" in json.dumps(ack["view"], ensure_ascii=False)

    summary = await fake_slack.next_post(body["response_url"], timeout=20)
    lines = summary["text"].splitlines()
    assert lines[0] == "Left 33 channels: " + ", ".join(f"<#{c}>" for c in channels) + "."
    assert lines[1] == f"I wasn't in 1 channel, so there was nothing to leave: <#{outside}>."
    assert lines[2] == "Couldn't leave 1 channel:"
    assert lines[3].startswith(f"• I can't leave <#{general}>") and lines[3].endswith("(`cant_leave_general`)")
    assert len(fake_slack.calls_to("conversations.leave")) == 35

    texts = [json.dumps(v["blocks"], ensure_ascii=False) for v in fake_slack.view_history[view_id]]
    progress = [t for t in texts if "Leaving " in t and "Leaving 0 of" not in t]
    assert progress, "no live progress update reached the modal"
    assert all(" of 35…" in t for t in progress)
    assert "Left 33 channels" in texts[-1]


async def test_submission_without_channels_is_refused_inline(slack: SlackSender, fake_slack: FakeSlack) -> None:
    view_id, _ = await open_pick_modal(slack, fake_slack, fake_slack.add_channel("here"))
    reply = await slack.submit_view(view_id, chosen())
    assert reply.json() == {"response_action": "errors", "errors": {LEAVE_PICK_BLOCK: "Choose at least one channel."}}
    assert fake_slack.calls_to("conversations.leave") == []


@pytest.mark.runs_long
async def test_bulk_leave_survives_429s_and_loses_no_channel(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channels = [fake_slack.add_channel(f"r{i}") for i in range(40)]
    as_member(slack, fake_slack, *channels)
    fake_slack.rate_limit("conversations.leave", calls=15, per_seconds=1.0)
    view_id, body = await open_pick_modal(slack, fake_slack, channels[0])
    await slack.submit_view(view_id, chosen(*channels))
    summary = await fake_slack.next_post(body["response_url"], timeout=30)
    assert summary["text"] == "Left 40 channels: " + ", ".join(f"<#{c}>" for c in channels) + "."
    assert not any(fake_slack.is_member(c) for c in channels)
    # Paced after the first 429 rather than hammering: most calls were accepted the first time.
    assert fake_slack.rate_limited_count["conversations.leave"] <= 8


async def test_expired_trigger_tells_the_user_to_run_the_command_again(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.script("views.open", Scripted(body={"ok": False, "error": "expired_trigger_id"}))
    _, body = await slack.command("/leave-channel", "pick", channel_id=fake_slack.add_channel("here"))
    post = await fake_slack.next_post(body["response_url"])
    assert post["text"] == "The form took longer than Slack allows to open. Run the command again."


async def test_summary_falls_back_to_a_dm_when_the_modal_carried_no_response_url(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    """The summary's lasting DM copy is then the summary itself, sent once."""
    channel = fake_slack.add_channel("here")
    as_member(slack, fake_slack, channel)
    view_id, _ = await open_pick_modal(slack, fake_slack, channel)
    fake_slack.views[view_id]["private_metadata"] = ""
    before = busy_tasks()
    await slack.submit_view(view_id, chosen(channel))
    message = await fake_slack.wait_for(lambda: fake_slack.messages and fake_slack.messages[-1], what="a DM")
    assert message["channel"] == slack.user_id
    assert message["text"] == f"I left <#{channel}>."
    assert [b["action_id"] for b in buttons_in(message["blocks"])] == [REJOIN_ACTION]
    await settled(fake_slack, before)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize("dm_posted", [True, False], ids=["dm-posted", "dm-refused"])
async def test_the_result_and_the_summary_mention_the_dm_copy_only_when_it_was_posted(
    slack: SlackSender, fake_slack: FakeSlack, dm_posted: bool
) -> None:
    channels = [fake_slack.add_channel(f"c{i}") for i in range(2)]
    as_member(slack, fake_slack, *channels)
    if not dm_posted:
        fake_slack.fail("chat.postMessage", "channel_not_found")
    view_id, body = await open_pick_modal(slack, fake_slack, channels[0])
    await slack.submit_view(view_id, chosen(*channels))
    summary = await fake_slack.next_post(body["response_url"])
    result = json.dumps(result_view(fake_slack, view_id)["blocks"])
    assert "The summary I sent you has a *Rejoin* button" in result and "It works until <!date^" in result
    assert ("its copy in your messages with me" in result) is dm_posted
    assert (LASTING_COPY in json.dumps(summary["blocks"])) is dm_posted
    assert len(fake_slack.messages_to(slack.user_id)) == int(dm_posted)


async def test_300_channels_failing_alike_are_one_compact_line_and_every_one_is_in_the_file(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.tokens[fake_slack.bot_token]["scopes"].discard("channels:manage")
    channels = [fake_slack.add_channel(f"m{i}") for i in range(300)]
    as_member(slack, fake_slack, *channels)
    view_id, body = await open_pick_modal(slack, fake_slack, channels[0])
    await slack.submit_view(view_id, chosen(*channels))
    summary = (await fake_slack.next_post(body["response_url"], timeout=30))["text"]
    lines = summary.splitlines()
    assert lines[0] == "Couldn't leave 300 channels:"
    assert "(`missing_scope`)" in lines[1] and "The same for 299 more:" in lines[1] and "and 279 more." in lines[1]
    assert all(f"<#{c}>" in summary for c in channels[:21]) and f"<#{channels[21]}>" not in summary
    assert "the full list is in `leave-" in lines[2]
    (listed,) = fake_slack.files_to(slack.user_id)
    assert [row.split(",")[:3] for row in listed.text.splitlines()[1:]] == [
        [c, "failed", "missing_scope"] for c in channels
    ]
    final = fake_slack.view_history[view_id][-1]
    shown = json.dumps(final["blocks"])
    assert f"<#{channels[20]}>" in shown and "and 279 more" in shown and "the full list is in `leave-" in shown


def long_outcome(n: int) -> LeaveOutcome:
    return LeaveOutcome(tuple(LeaveResult(f"C{i:010d}", LeaveStatus.FAILED, "channel_not_found") for i in range(n)))


@pytest.mark.parametrize("n", [1, 35, 500])
def test_views_hold_block_kit_limits(n: int) -> None:
    for view in (
        leave_pick_modal("C0123ABCDE", PickMetadata("https://hooks.slack.com/commands/T1/2/3", "C1", "U1").encode()),
        leave_progress_modal(n // 2, n),
        leave_result_modal(long_outcome(n)),
    ):
        data = view.to_dict()  # slack_sdk.models validates the limits here
        assert len(data["blocks"]) <= 100
        assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in data["blocks"])
