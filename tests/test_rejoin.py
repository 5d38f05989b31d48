"""The Rejoin button on a leave summary, end to end: leave, press, and what the message then says."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from services.storage.tables import rejoin_offer
from services.ui.rejoin import LASTING_COPY, REJOIN_ACTION, REJOIN_BUSY, REJOIN_NOT_YOURS, REJOIN_UNKNOWN
from tests.helpers.app import running_app, settings_for
from tests.helpers.fake_slack import FakeSlack, Scripted, slack_id
from tests.helpers.leave import as_member
from tests.helpers.rejoin import has_button, leave, press
from tests.helpers.slack_requests import Reply, SlackSender, buttons_in


def summary_button_value(message: dict) -> str:
    (value,) = [b["value"] for b in buttons_in(message["blocks"])]
    return value


DEADLINE = re.compile(r"<!date\^(\d+)\^\{date_short_pretty\} at \{time\}\|(\d{4}-\d\d-\d\d \d\d:\d\d) UTC>")


def deadlines_in(message: dict) -> list[int]:
    """Every deadline the message states in Slack's date formatting (its UTC fallback must agree with it)."""
    found = DEADLINE.findall(json.dumps(message["blocks"]))
    for stamp, fallback in found:
        assert datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%d %H:%M") == fallback
    return [int(stamp) for stamp, _ in found]


def a_day_from(started: float, message: dict) -> bool:
    """The message states one deadline: 24 hours after the leave (whole seconds, so up to a second early)."""
    (deadline,) = deadlines_in(message)
    return int(started) + 24 * 3600 - 1 <= deadline <= time.time() + 24 * 3600


async def press_in_dm(slack: SlackSender, message: dict, user_id: str | None = None) -> tuple[Reply, str]:
    """Rejoin pressed in the app's DM with the user: block_actions from a normal message (`is_ephemeral` false),
    shaped like Slack's recorded payloads/BlockActionPayload.json; returns the reply and the press's response_url."""
    (button,) = [b for b in buttons_in(message["blocks"]) if b["action_id"] == REJOIN_ACTION]
    response_url = slack.fake.new_response_url()
    dm, ts, user = slack_id("D"), f"{time.time():.6f}", user_id or slack.user_id
    enterprise = {"id": slack.fake.enterprise_id, "name": "Fake Org"} if slack.fake.enterprise_id else None
    payload = {
        "type": "block_actions",
        "team": {"id": slack.fake.team_id, "domain": "fake"},
        "user": {"id": user, "username": "admin", "name": "admin", "team_id": slack.fake.team_id},
        "api_app_id": "A0FAKEAPP",
        "token": "verification-token-unused",
        "trigger_id": slack.fake.new_trigger_id(),
        "is_enterprise_install": False,
        "enterprise": enterprise,
        "container": {"type": "message", "message_ts": ts, "channel_id": dm, "is_ephemeral": False},
        "channel": {"id": dm, "name": "directmessage"},
        "message": {"type": "message", "ts": ts, "bot_id": slack.fake.bot_id, **message},
        "response_url": response_url,
        "actions": [{**button, "action_ts": f"{time.time():.6f}"}],
    }
    reply = await slack.post(urlencode({"payload": json.dumps(payload)}).encode())
    return reply, response_url


async def test_rejoin_brings_the_app_back_into_a_public_channel(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("random")
    summary = await leave(slack, fake_slack, channel)
    assert summary["text"] == f"I left <#{channel}>."
    assert has_button(summary)
    assert "It works until <!date^" in str(summary["blocks"])
    assert not fake_slack.is_member(channel)

    running, done = await press(slack, fake_slack, summary)
    assert running["replace_original"] is True and "Rejoining 1 channel…" in running["text"]
    assert done["replace_original"] is True and done["response_type"] == "ephemeral"
    assert done["text"] == f"I left <#{channel}>.\n\n*Rejoin:*\nI'm back in <#{channel}>."
    assert not has_button(done)
    assert fake_slack.is_member(channel)
    assert [c["channel"] for c in fake_slack.calls_to("conversations.join")] == [channel]


async def test_private_channels_are_explained_not_joined(slack: SlackSender, fake_slack: FakeSlack) -> None:
    public = fake_slack.add_channel("announcements")
    private = fake_slack.add_channel("secret-plans", is_private=True)
    summary = await leave(slack, fake_slack, public, private)
    assert summary["text"] == f"Left 2 channels: <#{public}>, <#{private}>."

    *_, done = await press(slack, fake_slack, summary)
    assert f"I'm back in <#{public}>." in done["text"]
    assert (
        f"Slack doesn't let an app rejoin private channels by itself: <#{private}>. "
        f"Someone in each can bring me back by typing /invite <@{fake_slack.bot_user_id}> there."
    ) in done["text"]
    assert [c["channel"] for c in fake_slack.calls_to("conversations.join")] == [public]
    assert not fake_slack.is_member(private)


async def test_only_private_channels_left_still_get_the_invite_instructions(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    private, other = fake_slack.add_channel("hr", is_private=True), fake_slack.add_channel("hr-2", is_private=True)
    summary = await leave(slack, fake_slack, private, other)  # several channels: their privacy is listed first
    (done,) = await press(slack, fake_slack, summary, posts=1)
    assert f"/invite <@{fake_slack.bot_user_id}>" in done["text"]
    assert fake_slack.calls_to("conversations.join") == []


async def test_one_private_channel_left_learns_its_privacy_when_rejoin_is_pressed(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    """A leave of one channel asks Slack nothing but the leave (no listing of private channels for the button); the
    press tries the join, and Slack's answer (the app can't see a private channel it left) brings the same
    explanation as a channel known to be private."""
    private = fake_slack.add_channel("hr", is_private=True)
    summary = await leave(slack, fake_slack, private)
    assert fake_slack.calls_to("users.conversations") == []
    *_, done = await press(slack, fake_slack, summary)
    assert [c["channel"] for c in fake_slack.calls_to("conversations.join")] == [private]
    assert done["text"] == (
        f"I left <#{private}>.\n\n*Rejoin:*\nSlack doesn't let an app rejoin private channels by itself: <#{private}>. "
        f"Someone in each can bring me back by typing /invite <@{fake_slack.bot_user_id}> there."
    )
    assert not has_button(done) and not fake_slack.is_member(private)


async def test_a_members_own_listing_tells_a_private_channel_without_another_call(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    """A member's leave lists their channels (who may) with `is_private`: the button knows, the press joins nothing."""
    private = fake_slack.add_channel("hr", is_private=True)
    as_member(slack, fake_slack, private)
    summary = await leave(slack, fake_slack, private)
    assert [c.get("user") for c in fake_slack.calls_to("users.conversations")] == [slack.user_id]
    (done,) = await press(slack, fake_slack, summary, posts=1)
    assert f"rejoin private channels by itself: <#{private}>." in done["text"]
    assert fake_slack.calls_to("conversations.join") == []


async def test_pressing_twice_does_no_harm(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("random")
    summary = await leave(slack, fake_slack, channel)
    queued = REGISTRY.get_sample_value("channel_admin_jobs_total", {"kind": "rejoin", "event": "queued"}) or 0.0
    await press(slack, fake_slack, summary)
    *_, again = await press(slack, fake_slack, summary)
    # The second press makes the finished job new again: counted as queued like the first.
    assert REGISTRY.get_sample_value("channel_admin_jobs_total", {"kind": "rejoin", "event": "queued"}) == queued + 2
    assert again["text"].endswith(f"*Rejoin:*\nI was already back in <#{channel}>.")
    assert fake_slack.is_member(channel)
    assert sum(1 for c in fake_slack.channels.values() if fake_slack.bot_user_id in c.members) == 1


async def test_two_presses_at_once_rejoin_once(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channels = [fake_slack.add_channel(f"c{i}") for i in range(3)]
    summary = await leave(slack, fake_slack, *channels)
    fake_slack.delays["conversations.join"] = 0.3
    (first, url1), (second, url2) = await asyncio.gather(
        slack.press_button(summary, REJOIN_ACTION), slack.press_button(summary, REJOIN_ACTION)
    )
    assert first.status == second.status == 200
    posts = await fake_slack.wait_for(
        lambda: (
            (fake_slack.posts_to(url1) + fake_slack.posts_to(url2))
            if len(fake_slack.posts_to(url1) + fake_slack.posts_to(url2)) >= 3
            else None
        ),
        what="both presses answered",
    )
    busy = [p for p in posts if p["text"] == REJOIN_BUSY]
    assert len(busy) == 1 and busy[0]["replace_original"] is False
    assert sorted(c["channel"] for c in fake_slack.calls_to("conversations.join")) == sorted(channels)


async def test_a_channel_archived_meanwhile_is_reported_and_not_retried(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    kept, archived = fake_slack.add_channel("kept"), fake_slack.add_channel("old-project")
    summary = await leave(slack, fake_slack, kept, archived)
    fake_slack.channels[archived].is_archived = True
    *_, done = await press(slack, fake_slack, summary)
    assert f"I'm back in <#{kept}>." in done["text"]
    assert f"<#{archived}> was archived after I left, so I didn't rejoin it." in done["text"]
    assert not has_button(done)  # nothing a retry could change
    assert [c["channel"] for c in fake_slack.calls_to("conversations.join")].count(archived) == 1


async def test_a_transient_failure_keeps_the_button_for_a_retry(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("random")
    summary = await leave(slack, fake_slack, channel)
    fake_slack.fail("conversations.join", "internal_error")
    *_, done = await press(slack, fake_slack, summary)
    assert "Couldn't rejoin 1 channel:" in done["text"] and "(`internal_error`)" in done["text"]
    assert "Press *Rejoin* again" in done["text"] and has_button(done)
    assert deadlines_in(done) == deadlines_in(summary)  # the retry line says until when
    *_, retried = await press(slack, fake_slack, done)
    assert retried["text"].endswith(f"I'm back in <#{channel}>.")


async def test_an_install_without_channels_join_is_told_how_to_fix_it(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.tokens[fake_slack.bot_token]["scopes"].discard("channels:join")
    channel = fake_slack.add_channel("random")
    summary = await leave(slack, fake_slack, channel)
    *_, done = await press(slack, fake_slack, summary)
    assert "needs the `channels:join` permission" in done["text"] and "(`missing_scope`)" in done["text"]


def a_day_ago(summary: dict) -> dict:
    """The same summary as if it had been posted 24 hours and a minute ago (the button's value carries the time)."""
    value = summary_button_value(summary)
    kind, posted, rest = value.split("|", 2)
    older = f"{kind}|{int(posted) - 24 * 3600 - 60}|{rest}"
    return json.loads(json.dumps(summary).replace(value, older))


async def test_the_button_expires_after_24_hours(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("random")
    summary = await leave(slack, fake_slack, channel)
    (expired,) = await press(slack, fake_slack, a_day_ago(summary), posts=1)
    (deadline,) = deadlines_in(expired)
    assert deadline == int(summary_button_value(a_day_ago(summary)).split("|")[1]) + 24 * 3600
    assert "This Rejoin button has expired: it worked until <!date^" in expired["text"]
    assert "24 hours after the leave." in expired["text"]
    assert expired["text"].startswith(f"I left <#{channel}>.")
    assert expired["replace_original"] is True and not has_button(expired)
    assert fake_slack.calls_to("conversations.join") == []


async def test_nothing_left_means_no_button(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("elsewhere", bot_member=False)
    summary = await leave(slack, fake_slack, channel)
    assert summary == {
        "response_type": "ephemeral",
        "text": f"I wasn't in <#{channel}>, so there was nothing to leave.",
    }


async def test_a_single_channel_leave_never_opens_the_database(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channels = [fake_slack.add_channel("c0")]
    summary = await leave(slack, fake_slack, *channels)
    assert not slack.built.database.opened  # the leave path stays light (the memory benchmark); bulk leaves are jobs
    await press(slack, fake_slack, summary)  # a press is recorded, so a replay on any instance does nothing twice
    assert all(fake_slack.is_member(c) for c in channels)


MANY = 170  # more channels than a button's 2,000-character value can carry


@pytest.mark.runs_long
async def test_more_channels_than_a_button_holds_are_kept_in_the_database(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    channels = [fake_slack.add_channel(f"c{i}") for i in range(MANY)]
    summary = await leave(slack, fake_slack, *channels)
    assert summary_button_value(summary).startswith("r1db|") and slack.built.database.opened
    fake_slack.delays["conversations.join"] = 0.02
    (first, url1), (second, url2) = await asyncio.gather(
        slack.press_button(summary, REJOIN_ACTION), slack.press_button(summary, REJOIN_ACTION)
    )
    assert first.status == second.status == 200
    await fake_slack.wait_for(lambda: len(fake_slack.posts_to(url1) + fake_slack.posts_to(url2)) >= 3, what="answers")
    posts = fake_slack.posts_to(url1) + fake_slack.posts_to(url2)
    assert [p["text"] for p in posts].count(REJOIN_BUSY) == 1  # the claim is in the database: any instance sees it
    done = posts[-1] if posts[-1]["text"] != REJOIN_BUSY else posts[-2]
    assert done["text"].startswith(summary["text"])  # the whole summary is kept, not rebuilt
    assert f"I'm back in {MANY} channels:" in done["text"]
    assert sorted(c["channel"] for c in fake_slack.calls_to("conversations.join")) == sorted(channels)

    engine = await slack.built.database.engine()
    async with engine.begin() as conn:  # a day passes
        await conn.execute(update(rejoin_offer).values(created_at=datetime.now(UTC) - timedelta(hours=24, minutes=1)))
    (expired,) = await press(slack, fake_slack, summary, posts=1)
    assert "This Rejoin button has expired" in expired["text"]


async def test_a_database_that_fails_costs_the_button_not_the_summary(fake_slack: FakeSlack, tmp_path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the database folder should be")
    settings = settings_for(fake_slack, database_url=f"sqlite+aiosqlite:///{blocked}/app.db")
    channels = [fake_slack.add_channel(f"c{i}") for i in range(MANY)]
    async with running_app(fake_slack, settings) as slack:
        summary = await leave(slack, fake_slack, *channels)
    assert summary["text"].startswith(f"Left {MANY} channels: ") and "blocks" not in summary
    assert not any(fake_slack.is_member(c) for c in channels)


async def test_a_leave_from_the_pick_modal_can_be_undone_too(slack: SlackSender, fake_slack: FakeSlack) -> None:
    from tests.helpers.leave import chosen, open_pick_modal, result_view

    a, b = fake_slack.add_channel("one"), fake_slack.add_channel("two")
    view_id, body = await open_pick_modal(slack, fake_slack, a)
    await slack.submit_view(view_id, chosen(a, b))
    summary = await fake_slack.next_post(body["response_url"])
    assert has_button(summary) and LASTING_COPY in str(summary["blocks"])
    (dm,) = fake_slack.messages_to(slack.user_id)
    assert summary_button_value(dm) == summary_button_value(summary)
    result = result_view(fake_slack, view_id)  # the result view came before the summary
    hint = "The summary I sent you has a *Rejoin* button, and so does its copy in your messages with me"
    assert hint in str(result["blocks"])
    assert deadlines_in(result) == deadlines_in(summary) == deadlines_in(dm)
    *_, done = await press(slack, fake_slack, summary)
    assert f"I'm back in 2 channels: <#{a}>, <#{b}>." in done["text"]


async def test_a_button_someone_else_presses_or_a_forged_value_does_nothing(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    channel = fake_slack.add_channel("random")
    summary = await leave(slack, fake_slack, channel)
    reply, url = await slack.press_button(summary, REJOIN_ACTION, user_id="U0SOMEONE1")
    assert reply.status == 200
    assert (await fake_slack.next_post(url))["text"] == REJOIN_NOT_YOURS

    forged = json.loads(json.dumps(summary).replace(summary_button_value(summary), "0" * 32))
    _, url = await slack.press_button(forged, REJOIN_ACTION)
    assert (await fake_slack.next_post(url))["text"] == REJOIN_UNKNOWN
    assert fake_slack.calls_to("conversations.join") == []
    assert not fake_slack.is_member(channel)


async def test_when_slack_wont_list_private_channels_the_rejoin_still_explains(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    public, private = fake_slack.add_channel("news"), fake_slack.add_channel("board", is_private=True)
    fake_slack.fail("users.conversations", "internal_error")
    summary = await leave(slack, fake_slack, public, private)
    assert summary["text"] == f"Left 2 channels: <#{public}>, <#{private}>."  # leaving didn't depend on the list
    *_, done = await press(slack, fake_slack, summary)
    assert f"I'm back in <#{public}>." in done["text"]
    assert f"I can't find <#{private}> any more: it was deleted, or it's private" in done["text"]


@pytest.mark.runs_long
async def test_a_rate_limited_rejoin_is_retried_after_retry_after(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("random")
    summary = await leave(slack, fake_slack, channel)
    fake_slack.script(
        "conversations.join",
        Scripted(body={"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}),
    )
    *_, done = await press(slack, fake_slack, summary)
    assert done["text"].endswith(f"I'm back in <#{channel}>.")
    assert len(fake_slack.calls_to("conversations.join")) == 2


async def test_the_summary_has_a_lasting_copy_in_the_dm_whose_rejoin_works_once_for_both(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    """Ephemeral messages vanish on a reload or another device; the DM copy stays, with the same button."""
    started = time.time()
    publics = [fake_slack.add_channel(f"team-{i}") for i in range(3)]
    private = fake_slack.add_channel("board", is_private=True)
    summary = await leave(slack, fake_slack, *publics, private)
    assert LASTING_COPY in str(summary["blocks"]) and a_day_from(started, summary)

    (dm,) = fake_slack.messages_to(slack.user_id)  # posted before the summary that mentions it
    assert dm["text"] == summary["text"] and "response_type" not in dm and "replace_original" not in dm
    assert summary_button_value(dm) == summary_button_value(summary)
    assert a_day_from(started, dm)
    assert "*Rejoin* brings me back into the channels I just left. It works until <!date^" in str(dm["blocks"])
    assert LASTING_COPY not in str(dm["blocks"])

    reply, url = await press_in_dm(slack, dm)
    assert reply.status == 200 and reply.text == ""
    await fake_slack.next_post(url, count=2)
    running, done = fake_slack.posts_to(url)
    for rewrite in (running, done):  # the DM message itself is rewritten, and stays a normal message
        assert rewrite["replace_original"] is True and "response_type" not in rewrite
    assert "Rejoining 3 channels…" in running["text"]
    assert done["text"].startswith(summary["text"])
    assert f"I'm back in 3 channels: {', '.join(f'<#{c}>' for c in publics)}." in done["text"]
    assert f"rejoin private channels by itself: <#{private}>." in done["text"] and not has_button(done)
    assert all(fake_slack.is_member(c) for c in publics) and not fake_slack.is_member(private)
    assert len(fake_slack.messages_to(slack.user_id)) == 1  # answered in place, not with another DM

    *_, again = await press(slack, fake_slack, summary)  # the ephemeral copy, pressed afterwards
    assert again["response_type"] == "ephemeral"
    assert again["text"].endswith(
        f"I was already back in 3 channels: {', '.join(f'<#{c}>' for c in publics)}.\n"
        f"Slack doesn't let an app rejoin private channels by itself: <#{private}>. "
        f"Someone in each can bring me back by typing /invite <@{fake_slack.bot_user_id}> there."
    )
    assert all(fake_slack.is_member(c) for c in publics)
    assert sorted(c["channel"] for c in fake_slack.calls_to("conversations.join")) == sorted(publics * 2)


async def test_without_a_dm_copy_the_summary_does_not_claim_one(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """The messages tab off, or any other refusal: the summary keeps its button and deadline, and says no more."""
    started = time.time()
    channels = [fake_slack.add_channel(f"c{i}") for i in range(2)]
    fake_slack.fail("chat.postMessage", "channel_not_found")
    summary = await leave(slack, fake_slack, *channels)
    assert has_button(summary) and a_day_from(started, summary)
    assert LASTING_COPY not in str(summary["blocks"]) and "your messages with me" not in json.dumps(summary)
    assert [c["channel"] for c in fake_slack.calls_to("chat.postMessage")] == [slack.user_id]  # tried once, first
    assert fake_slack.messages_to(slack.user_id) == []
    *_, done = await press(slack, fake_slack, summary)
    assert f"I'm back in 2 channels: <#{channels[0]}>, <#{channels[1]}>." in done["text"]


async def test_a_press_in_the_dm_by_someone_else_is_refused_without_touching_the_dm(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    channel = fake_slack.add_channel("random")
    await leave(slack, fake_slack, channel)
    (dm,) = fake_slack.messages_to(slack.user_id)
    _, url = await press_in_dm(slack, dm, user_id="U0SOMEONE1")
    refusal = await fake_slack.next_post(url)
    assert refusal == {"text": REJOIN_NOT_YOURS, "replace_original": False, "response_type": "ephemeral"}
    assert not fake_slack.is_member(channel)


def test_a_forged_inline_value_is_refused_not_raised() -> None:
    from services.leaving.offers import parse_inline

    for value in ("r1|99999999999999999999999|U1|C1", "r1|²|U1|C1", "r1|１２３|U1|C1"):
        assert parse_inline(value) is None


async def test_a_rejoin_that_fails_for_good_says_once_what_was_done_and_keeps_the_button(
    slack: SlackSender, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error that isn't the database's, every attempt, at one channel: the job ends FAILED after its attempts and
    the user hears once, in place of "Rejoining…", how many channels were rejoined and how many weren't."""
    from services.jobs.queue import FAILED, MAX_ATTEMPTS
    from services.leaving import rejoin_jobs

    channels = [fake_slack.add_channel(f"back{i}") for i in range(3)]
    summary = await leave(slack, fake_slack, *channels)
    real_join = rejoin_jobs.join_channel

    async def not_the_second(client, channel_id):
        if channel_id == channels[1]:
            raise RuntimeError("a bug")
        return await real_join(client, channel_id)

    monkeypatch.setattr(rejoin_jobs, "join_channel", not_the_second)
    reply, url = await slack.press_button(summary, REJOIN_ACTION)
    assert reply.status == 200
    await fake_slack.next_post(url, count=2, timeout=30)
    running, told = fake_slack.posts_to(url)
    assert "Rejoining 3 channels…" in running["text"]
    back = [c for c in channels if fake_slack.is_member(c)]
    assert channels[1] not in back
    assert told["replace_original"] is True and told["text"].startswith(summary["text"])
    assert "I couldn't finish rejoining the channels you asked for" in told["text"]
    assert f"of 3 channels: {len(back)} done, 0 failed, {3 - len(back)} not done" in told["text"]
    assert has_button(told)
    (job,) = await slack.built.jobs.store.all(kind="rejoin")
    assert job.status == FAILED and job.attempts == MAX_ATTEMPTS
    assert len(fake_slack.posts_to(url)) == 2
