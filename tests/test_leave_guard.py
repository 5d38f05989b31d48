"""Who may make the bot leave a channel (issue 12, findings 1 and 8), end to end: signed requests to the app, the fake
Slack behind it deciding who is in which channel (its channels' member sets).

Slack's own rule for removing an app: someone in that channel, or an admin (Org Admin/Owner, workspace admin/owner,
ADMIN_USER_IDS). The audit channel is never left by command. At most MAX_LEAVE_CHANNELS channels per command.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.leaving.policy import MAX_LEAVE_CHANNELS
from tests.helpers.app import Org, Partner, running_app, settings_for, suite_database
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.leave import as_admin, as_member, chosen, join, open_pick_modal, result_view
from tests.helpers.slack_requests import SlackSender, buttons_in
from tests.helpers.tasks import busy_tasks, settled

# users.conversations' `limit`: "specify a limit value with a max of 999"
# (https://docs.slack.dev/reference/methods/users.conversations, Pagination).
USERS_CONVERSATIONS_MAX_LIMIT = 999


def not_in_sentence(channel: str) -> str:
    return f"You're not in <#{channel}>, and only people in a channel (or admins) can make me leave it."


def audit_sentence(channel: str) -> str:
    return f"I stay in <#{channel}>: it's the channel where /disconnect-shared attempts are recorded."


def named(*channels: str) -> str:
    return " ".join(f"<#{c}>" for c in channels)


def left_by_the_bot(fake: FakeSlack) -> list[str]:
    return [c["channel"] for c in fake.calls_to("conversations.leave")]


def membership_calls(fake: FakeSlack) -> list[dict]:
    """users.conversations calls that list someone's channels (`user=`), not the bot's own."""
    return [c for c in fake.calls_to("users.conversations") if c.get("user")]


# ---- members: only the channels they are in ---------------------------------------------------------------------


async def test_a_member_leaves_only_the_channels_they_are_in_and_is_told_why_not_for_the_others(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    mine = [fake_slack.add_channel("mine-1"), fake_slack.add_channel("mine-2", is_private=True)]
    others = [fake_slack.add_channel("not-mine"), fake_slack.add_channel("secret", is_private=True)]
    user = as_member(slack, fake_slack, *mine)
    _, body = await slack.command("/leave-channel", named(*mine, *others), channel_id=mine[0])
    summary = (await fake_slack.next_post(body["response_url"]))["text"]
    assert summary.splitlines() == [
        f"Left 2 channels: <#{mine[0]}>, <#{mine[1]}>.",
        "You're not in 2 channels, and only people in a channel (or admins) can make me leave one: "
        f"<#{others[0]}>, <#{others[1]}>.",
    ]
    assert sorted(left_by_the_bot(fake_slack)) == sorted(mine)
    assert all(fake_slack.is_member(c) for c in others)
    (listed,) = membership_calls(fake_slack)
    assert listed["user"] == user


async def test_a_member_not_in_the_channel_they_type_in_leaves_nothing(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    channel = fake_slack.add_channel("somewhere", others=5)
    as_member(slack, fake_slack)  # in no channel at all
    before = busy_tasks()
    _, body = await slack.command("/leave-channel", "", channel_id=channel)
    post = await fake_slack.next_post(body["response_url"])
    assert post["text"] == not_in_sentence(channel)
    assert "blocks" not in post  # nothing left, nothing to rejoin
    await settled(fake_slack, before)
    assert left_by_the_bot(fake_slack) == []
    assert fake_slack.is_member(channel)
    assert fake_slack.calls_to("chat.postMessage") == []


async def test_in_the_pick_form_a_member_leaves_only_the_channels_they_are_in(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    mine, theirs, private = (
        fake_slack.add_channel("mine"),
        fake_slack.add_channel("theirs"),
        fake_slack.add_channel("private", is_private=True),
    )
    as_member(slack, fake_slack, mine)
    view_id, body = await open_pick_modal(slack, fake_slack, mine)
    await slack.submit_view(view_id, chosen(mine, theirs, private))
    summary = (await fake_slack.next_post(body["response_url"]))["text"]
    expected_refusal = (
        "You're not in 2 channels, and only people in a channel (or admins) can make me leave one: "
        f"<#{theirs}>, <#{private}>."
    )
    assert summary.splitlines() == [f"Left 1 channel: <#{mine}>.", expected_refusal]
    assert expected_refusal in json.dumps(result_view(fake_slack, view_id)["blocks"])
    assert left_by_the_bot(fake_slack) == [mine]
    assert fake_slack.is_member(theirs) and fake_slack.is_member(private)


async def test_the_rejoin_button_offers_only_what_was_left(slack: SlackSender, fake_slack: FakeSlack) -> None:
    mine, theirs = fake_slack.add_channel("mine"), fake_slack.add_channel("theirs")
    as_member(slack, fake_slack, mine)
    _, body = await slack.command("/leave-channel", named(mine, theirs), channel_id=mine)
    summary = await fake_slack.next_post(body["response_url"])
    (value,) = [b["value"] for b in buttons_in(summary["blocks"])]
    assert mine in value and theirs not in value


async def test_membership_is_read_for_the_requester_in_pages_within_slacks_maximum(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    """One users.conversations listing with `user=` and the bot token, public and private, archived included; the
    channel asked about is on its second page."""
    channels = [fake_slack.add_channel(f"c{i}") for i in range(USERS_CONVERSATIONS_MAX_LIMIT + 1)]
    user = as_member(slack, fake_slack, *channels)
    last = channels[-1]
    _, body = await slack.command("/leave-channel", "", channel_id=last)
    assert (await fake_slack.next_post(body["response_url"]))["text"] == f"I left <#{last}>."
    calls = membership_calls(fake_slack)
    assert len(calls) == 2 and calls[1]["cursor"]
    for call in calls:
        assert call["user"] == user
        assert 1 <= int(call["limit"]) <= USERS_CONVERSATIONS_MAX_LIMIT
        assert set(call["types"].split(",")) == {"public_channel", "private_channel"}
        assert call.get("exclude_archived", "0") in ("0", "false")


async def test_an_archived_channel_a_member_is_in_is_reported_as_archived(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    archived = fake_slack.add_channel("old", is_archived=True)
    as_member(slack, fake_slack, archived)
    _, body = await slack.command("/leave-channel", "", channel_id=archived)
    post = await fake_slack.next_post(body["response_url"])
    assert post["text"].endswith("(`is_archived`)")
    assert membership_calls(fake_slack)


# ---- admins: any channel ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["workspace_admin", "owner", "primary_owner"])
async def test_workspace_admins_and_owners_may_make_the_bot_leave_any_channel(
    slack: SlackSender, fake_slack: FakeSlack, flag: str
) -> None:
    channels = [fake_slack.add_channel("public"), fake_slack.add_channel("private", is_private=True)]
    flags: dict[str, Any] = {flag: True}
    slack.user_id = fake_slack.add_user(**flags)
    _, body = await slack.command("/leave-channel", named(*channels), channel_id=channels[0])
    summary = (await fake_slack.next_post(body["response_url"]))["text"]
    assert summary == f"Left 2 channels: <#{channels[0]}>, <#{channels[1]}>."
    assert not any(fake_slack.is_member(c) for c in channels)
    assert membership_calls(fake_slack) == []  # an admin needs no membership list
    assert len(fake_slack.calls_to("users.info")) == 1


async def test_an_org_admin_may_make_the_bot_leave_any_channel_in_the_pick_form(
    fake_slack: FakeSlack, org: Org, tmp_path
) -> None:
    """Someone else of the org, in neither channel, is refused the same choice first: being an Org Admin is what
    decides."""
    channels = [fake_slack.add_channel("public"), fake_slack.add_channel("private", is_private=True)]
    settings = settings_for(fake_slack, database_url=await suite_database(tmp_path))
    async with running_app(fake_slack, settings) as slack:
        someone = slack.user_id = fake_slack.add_user()
        view_id, body = await open_pick_modal(slack, fake_slack, channels[0])
        await slack.submit_view(view_id, chosen(*channels))
        refused = (await fake_slack.next_post(body["response_url"]))["text"]
        assert left_by_the_bot(fake_slack) == []
        slack.user_id = org.admin
        fake_slack.views.clear()
        _, body = await slack.command("/leave-channel", "pick", channel_id=channels[0])
        (view_id,) = await fake_slack.wait_for(lambda: list(fake_slack.views), what="the second form")
        await slack.submit_view(view_id, chosen(*channels))
        summary = (await fake_slack.next_post(body["response_url"]))["text"]
    assert refused.startswith("You're not in 2 channels")
    assert summary == f"Left 2 channels: <#{channels[0]}>, <#{channels[1]}>."
    assert not any(fake_slack.is_member(c) for c in channels)
    assert [c["user"] for c in membership_calls(fake_slack)] == [someone]  # the Org Admin needed no listing


async def test_someone_in_admin_user_ids_may_make_the_bot_leave_any_channel(fake_slack: FakeSlack, tmp_path) -> None:
    """The same person is refused by an app without them in ADMIN_USER_IDS."""
    listed = fake_slack.add_user()
    channel = fake_slack.add_channel("anywhere")
    for admin_user_ids, expected in [(frozenset(), not_in_sentence(channel)), ({listed}, f"I left <#{channel}>.")]:
        settings = settings_for(
            fake_slack, database_url=await suite_database(tmp_path), admin_user_ids=frozenset(admin_user_ids)
        )
        async with running_app(fake_slack, settings) as slack:
            slack.user_id = listed
            _, body = await slack.command("/leave-channel", "", channel_id=channel)
            assert (await fake_slack.next_post(body["response_url"]))["text"] == expected
    assert not fake_slack.is_member(channel)
    assert len(membership_calls(fake_slack)) == 1  # only the first app needed to know where they are


async def test_an_admin_of_another_organization_is_not_an_admin_here(
    fake_slack: FakeSlack, org: Org, partner: Partner, tmp_path
) -> None:
    """A partner's Org Admin in a Slack Connect channel may make the bot leave that channel (they're in it), not
    our other channels."""
    shared = fake_slack.add_shared_channel("deal-room", connected=[partner.org])
    ours = fake_slack.add_channel("ours-only")
    join(fake_slack, partner.admin, shared)
    settings = settings_for(fake_slack, database_url=await suite_database(tmp_path))
    async with running_app(fake_slack, settings) as slack:
        _, body = await slack.command("/leave-channel", named(shared, ours), channel_id=shared, user_id=partner.admin)
        summary = (await fake_slack.next_post(body["response_url"]))["text"]
    assert summary.splitlines() == [f"Left 1 channel: <#{shared}>.", not_in_sentence(ours)]
    assert fake_slack.is_member(ours)


# ---- the audit channel --------------------------------------------------------------------------------------------


async def test_the_audit_channel_is_never_left_by_command_even_by_an_admin(fake_slack: FakeSlack, tmp_path) -> None:
    audit = fake_slack.add_channel("admin-audit", is_private=True)
    other = fake_slack.add_channel("other")
    settings = settings_for(fake_slack, database_url=await suite_database(tmp_path), audit_channel_id=audit)
    async with running_app(fake_slack, settings) as slack:
        as_admin(slack, fake_slack)
        _, named_body = await slack.command("/leave-channel", named(audit, other), channel_id=other)
        named_summary = (await fake_slack.next_post(named_body["response_url"]))["text"]
        as_member(slack, fake_slack, audit)
        _, here_body = await slack.command("/leave-channel", "", channel_id=audit)
        here_summary = (await fake_slack.next_post(here_body["response_url"]))["text"]
        view_id, pick_body = await open_pick_modal(slack, fake_slack, audit)
        await slack.submit_view(view_id, chosen(audit))
        pick_summary = (await fake_slack.next_post(pick_body["response_url"]))["text"]
    assert named_summary.splitlines() == [f"Left 1 channel: <#{other}>.", audit_sentence(audit)]
    assert here_summary == audit_sentence(audit)
    assert pick_summary == audit_sentence(audit)
    assert left_by_the_bot(fake_slack) == [other]
    assert fake_slack.is_member(audit)


# ---- bounded input ------------------------------------------------------------------------------------------------


async def test_more_than_the_cap_of_named_channels_leaves_nothing_and_says_so(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    assert MAX_LEAVE_CHANNELS == 1000
    channels = [fake_slack.add_channel(f"n{i}") for i in range(MAX_LEAVE_CHANNELS + 1)]
    as_admin(slack, fake_slack)
    before = busy_tasks()
    reply, _ = await slack.command("/leave-channel", " ".join(channels), channel_id=channels[0])
    assert reply.json()["text"] == (
        "That's 1,001 channels, and I leave at most 1,000 per /leave-channel, so I haven't left anything. "
        "Run it again for 1,000 or fewer at a time."
    )
    await settled(fake_slack, before)
    assert left_by_the_bot(fake_slack) == []
    assert fake_slack.calls_to("users.info") == []
    assert all(fake_slack.is_member(c) for c in channels)


async def test_a_pick_of_45000_channels_is_refused_by_the_cap(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """The form allows at most the cap; a submission carrying 45,000 IDs (the issue's flood) is refused in the form,
    with nothing left and nobody looked up. (Nine-character IDs keep the request under the app's 1 MiB body limit.)"""
    here = fake_slack.add_channel("here")
    as_admin(slack, fake_slack)
    view_id, _ = await open_pick_modal(slack, fake_slack, here)
    assert fake_slack.views[view_id]["blocks"][0]["element"]["max_selected_items"] == MAX_LEAVE_CHANNELS
    flood = [f"C{i:08d}" for i in range(45_000)]
    before = busy_tasks()
    reply = await slack.submit_view(view_id, chosen(*flood))
    assert reply.status == 200
    assert reply.json() == {
        "response_action": "errors",
        "errors": {
            "leave_pick_channels": "You chose 45,000 channels; I leave at most 1,000 at a time. Remove some, "
            "then submit again."
        },
    }
    await settled(fake_slack, before)
    assert left_by_the_bot(fake_slack) == []
    assert fake_slack.calls_to("users.info") == []


# ---- when Slack can't confirm --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "step"),
    [("users.info", "looked you up"), ("users.conversations", "checked which channels you're in")],
)
async def test_when_slack_cannot_confirm_who_may_nothing_is_left(
    slack: SlackSender, fake_slack: FakeSlack, method: str, step: str
) -> None:
    channels = [fake_slack.add_channel("a"), fake_slack.add_channel("b")]
    as_member(slack, fake_slack, *channels)
    fake_slack.fail(method, "fatal_error")
    _, body = await slack.command("/leave-channel", named(*channels), channel_id=channels[0])
    post = await fake_slack.next_post(body["response_url"])
    assert post["text"] == (
        f"Slack couldn't confirm that you may make me leave those 2 channels (`fatal_error` when I {step}), "
        "so I haven't left anything. Try again in a minute."
    )
    assert left_by_the_bot(fake_slack) == []
    assert all(fake_slack.is_member(c) for c in channels)


async def test_in_the_pick_form_a_failed_look_up_leaves_nothing_and_the_form_says_so(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    channel = fake_slack.add_channel("a")
    as_admin(slack, fake_slack)
    fake_slack.fail("users.info", "user_not_found")
    view_id, body = await open_pick_modal(slack, fake_slack, channel)
    await slack.submit_view(view_id, chosen(channel))
    expected = (
        f"Slack couldn't confirm that you may make me leave <#{channel}> (`user_not_found` when I looked you up), "
        "so I haven't left anything. Try again in a minute."
    )
    assert (await fake_slack.next_post(body["response_url"]))["text"] == expected
    closing = [v for v in fake_slack.view_history[view_id] if (v.get("close") or {}).get("text") == "Done"]
    assert [json.dumps(v["blocks"]).count(expected) for v in closing] == [1]
    assert left_by_the_bot(fake_slack) == []


@pytest.mark.runs_long
async def test_the_check_runs_after_the_ack(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """users.info answering slowly never delays the acknowledgement (command or form)."""
    channel = fake_slack.add_channel("a")
    as_member(slack, fake_slack, channel)
    fake_slack.delays["users.info"] = 2.0
    reply, body = await slack.command("/leave-channel", "", channel_id=channel)
    assert reply.elapsed < 2.0
    assert (await fake_slack.next_post(body["response_url"]))["text"] == f"I left <#{channel}>."
    view_id, _ = await open_pick_modal(slack, fake_slack, fake_slack.add_channel("b"))
    reply = await slack.submit_view(view_id, chosen(channel))
    assert reply.elapsed < 2.0 and reply.json()["response_action"] == "update"
