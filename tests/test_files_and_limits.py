"""A file in the app's DM (services.slack.files, files.uploadV2 through slack_sdk against the fake over HTTP), the
fake's message size limits as Slack has them, and the app's bound on a message (services.ui.limits)."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from services.slack.client import build_web_client, close_session
from services.slack.files import send_file_to_user
from services.ui.limits import (
    MAX_MESSAGE_BLOCKS,
    MESSAGE_BLOCK_TEXT_BUDGET,
    block_text_length,
    bound_message,
    fits,
    short_list,
)
from tests.helpers.fake_files import MESSAGE_BLOCK_TEXT_LIMIT
from tests.helpers.fake_slack import FakeSlack, Scripted
from tests.helpers.logs import log_capture

CSV = "channel_id,result\n" + "".join(f"C{i:010d},left\n" for i in range(1000))


@pytest.fixture
async def client(fake_slack: FakeSlack) -> AsyncIterator[AsyncWebClient]:
    web = build_web_client(fake_slack.bot_token, fake_slack.api_url, 5.0)
    yield web
    await close_session(web)


async def send(client: AsyncWebClient, user_id: str) -> bool:
    return await send_file_to_user(
        client, user_id, filename="leave.csv", content=CSV, title="Channels left", initial_comment="The full list."
    )


# ---- files.uploadV2 into the DM ------------------------------------------------------------------------------------


async def test_a_file_goes_into_the_users_dm_with_its_name_content_and_comment(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    user = fake_slack.add_user()
    assert await send(client, user) is True
    (shared,) = fake_slack.files_to(user)
    assert (shared.name, shared.title, shared.initial_comment) == ("leave.csv", "Channels left", "The full list.")
    assert shared.text == CSV
    assert shared.channel is not None and shared.channel.startswith("D")
    assert shared.channel == fake_slack.dm_of(user)
    # the three steps of files.uploadV2, after the DM is opened (completeUploadExternal takes no user ID)
    methods = [c.method for c in fake_slack.calls]
    assert methods == ["conversations.open", "files.getUploadURLExternal", "files.completeUploadExternal"]
    assert fake_slack.calls_to("files.getUploadURLExternal")[0]["length"] == str(len(CSV.encode()))


async def test_a_second_file_reuses_the_dm(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    user = fake_slack.add_user()
    assert await send(client, user) and await send(client, user)
    assert len({f.channel for f in fake_slack.files_to(user)}) == 1
    assert len(fake_slack.files_to(user)) == 2


async def test_slack_refuses_a_user_id_as_the_channel_of_an_upload(fake_slack: FakeSlack, client: AsyncWebClient):
    """What makes the DM necessary (slackapi/bolt-js#2115): the fake refuses it as Slack does."""
    user = fake_slack.add_user()
    with pytest.raises(SlackApiError) as refused:
        await client.files_upload_v2(channel=user, filename="x.txt", content="x")
    assert refused.value.response["error"] == "invalid_arguments"
    assert fake_slack.files == []


async def test_sharing_in_a_channel_takes_membership_as_slack_does(fake_slack: FakeSlack, client: AsyncWebClient):
    """A public channel the bot isn't in: `not_in_channel` (getnao/nao#1372); a private one: `channel_not_found`."""
    public = fake_slack.add_channel("outside", bot_member=False)
    private = fake_slack.add_channel("secret", bot_member=False, is_private=True)
    joined = fake_slack.add_channel("inside")
    for channel, error in ((public, "not_in_channel"), (private, "channel_not_found")):
        with pytest.raises(SlackApiError) as refused:
            await client.files_upload_v2(channel=channel, filename="x.txt", content="x")
        assert refused.value.response["error"] == error
    assert (await client.files_upload_v2(channel=joined, filename="x.txt", content="x"))["ok"]
    assert [f.channel for f in fake_slack.files] == [joined]


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        ("no files:write", "missing_scope"),
        ("no im:write", "missing_scope"),
        ("person deactivated", "user_disabled"),
        ("upload refused", "the upload URL refused the file"),
        ("complete fails", "internal_error"),
    ],
)
async def test_when_the_file_cant_be_sent_it_says_false_and_logs_why_without_secrets(
    fake_slack: FakeSlack, client: AsyncWebClient, breakage: str, reason: str
) -> None:
    user = fake_slack.add_user(deleted=breakage == "person deactivated")
    scopes = fake_slack.tokens[fake_slack.bot_token]["scopes"]
    if breakage.startswith("no "):
        scopes.discard(breakage.removeprefix("no "))
    if breakage == "upload refused":
        fake_slack.upload_status = 500
    if breakage == "complete fails":
        fake_slack.scripts["files.completeUploadExternal"] = deque(
            [Scripted(body={"ok": False, "error": "internal_error"})]
        )
    with log_capture([fake_slack.bot_token], level="INFO") as logs:
        assert await send(client, user) is False
    said = logs.getvalue()
    assert reason in said
    assert fake_slack.bot_token not in said
    assert "/upload/v1/" not in said  # the upload URL is a one-time credential of its own
    assert fake_slack.files_to(user) == []


# ---- the fake's message limits ---------------------------------------------------------------------------------------


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def test_chat_post_message_refuses_over_12000_characters_of_block_text_and_over_50_blocks(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    user = fake_slack.add_user()
    exactly = [section("x" * 3000)] * 4
    assert block_text_length(exactly) == MESSAGE_BLOCK_TEXT_LIMIT
    assert (await client.chat_postMessage(channel=user, text="ok", blocks=exactly))["ok"]
    with pytest.raises(SlackApiError) as too_long:
        await client.chat_postMessage(channel=user, text="long", blocks=[*exactly, section("x")])
    assert too_long.value.response["error"] == "msg_blocks_too_long"
    with pytest.raises(SlackApiError) as too_many:
        await client.chat_postMessage(channel=user, text="many", blocks=[section("x")] * 51)
    assert too_many.value.response["error"] == "invalid_blocks"
    assert [m["text"] for m in fake_slack.messages_to(user)] == ["ok"]


async def test_a_response_url_refuses_the_same_with_http_400(fake_slack: FakeSlack) -> None:
    url = fake_slack.new_response_url()
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"text": "t", "blocks": [section("x" * 3001)] * 4}) as refused:
            assert (refused.status, await refused.text()) == (400, "msg_blocks_too_long")
        async with session.post(url, json={"text": "t", "blocks": [section("x")] * 51}) as refused:
            assert (refused.status, await refused.text()) == (400, "invalid_blocks")
        async with session.post(url, json={"text": "t", "blocks": [section("x")] * 50}) as taken:
            assert taken.status == 200
    assert len(fake_slack.posts_to(url)) == 1


# ---- the app's bound -------------------------------------------------------------------------------------------------


def test_a_short_list_names_the_first_and_counts_the_rest() -> None:
    assert short_list(["a", "b"], 3) == "a, b"
    assert short_list([str(i) for i in range(1000)], 2) == "0, 1 and 998 more"


def test_bound_message_keeps_a_fitting_message_as_it_is() -> None:
    message = {"text": "t", "blocks": [section("hello")]}
    assert bound_message(message) == message


@pytest.mark.parametrize(
    "blocks",
    [
        [section(", ".join(f"<#C{i:09d}>" for i in range(180)))] * 8,  # 8 full sections: 22,000 characters
        [section("line")] * 80,  # 80 blocks
        [section("y" * 2999)] * 3 + [section(", ".join(["<#C1>"] * 600))],  # the cut falls inside a list
    ],
)
def test_bound_message_cuts_any_message_to_fit_and_keeps_its_button(blocks: list[dict]) -> None:
    button = {"type": "actions", "block_id": "rejoin", "elements": [{"type": "button", "text": {"type": "plain_text",
              "text": "Rejoin"}, "action_id": "rejoin_channels", "value": "v"}]}  # fmt: skip
    message = {"text": "z" * 50_000, "blocks": [*blocks, button]}
    assert not fits(message)
    bounded = bound_message(message)
    chars = block_text_length(bounded["blocks"])
    assert chars <= MESSAGE_BLOCK_TEXT_BUDGET and len(bounded["blocks"]) <= MAX_MESSAGE_BLOCKS
    assert bounded["blocks"][-1] == button
    assert "cut here" in bounded["blocks"][-2]["elements"][0]["text"]
    assert len(bounded["text"]) < 40_000
    for block in bounded["blocks"][:-2]:
        text = block["text"]["text"]
        assert not text.endswith("<#C") and (text.endswith("…") or text in {b["text"]["text"] for b in blocks})


def test_a_list_file_is_csv_safe_to_open_in_a_spreadsheet() -> None:
    from services.ui.limits import csv_text

    text = csv_text(("channel_id", "name"), [("C1", '=HYPERLINK("x")'), ("C2", "plain, with a comma"), ("C3", "-1")])
    assert text.splitlines() == [
        "channel_id,name",
        'C1,"\'=HYPERLINK(""x"")"',
        'C2,"plain, with a comma"',
        "C3,'-1",
    ]


def test_a_leave_names_everyone_until_its_lists_outgrow_their_share_then_the_file_has_them_all() -> None:
    from services.leaving.leave import LeaveOutcome, LeaveResult, LeaveStatus
    from services.ui.leave import leave_list_file, leave_summary_text

    def outcome(n: int) -> LeaveOutcome:
        results = [LeaveResult(f"C{i:010d}", LeaveStatus.LEFT) for i in range(n)]
        results.append(LeaveResult("C9999999999", LeaveStatus.FAILED, "last_member"))
        return LeaveOutcome(tuple(results), frozenset({"C0000000001"}))

    small, large = outcome(100), outcome(1000)
    assert leave_list_file(small) is None and "<#C0000000099>" in leave_summary_text(small)
    text = leave_summary_text(large)
    assert "Left 1000 channels: " in text and "and 980 more." in text and "<#C0000000020>" not in text
    assert "<#C9999999999>" in text  # the failure is still named with its reason
    listed = leave_list_file(large)
    assert listed is not None and listed.filename.startswith("leave-")
    rows = listed.content.splitlines()
    assert rows[0] == "channel_id,result,error,private" and len(rows) == 1002
    assert rows[2] == "C0000000001,left,,yes" and rows[-1] == "C9999999999,failed,last_member,"


async def test_an_answer_slack_sdk_cant_read_is_false_not_raised(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    """files.completeUploadExternal answering ok without `files` (slack_sdk then fails on len(None)): the summary
    beside the file must still go, so the upload says False."""
    user = fake_slack.add_user()
    fake_slack.scripts["files.completeUploadExternal"] = deque([Scripted(body={"ok": True})])
    assert await send(client, user) is False


async def test_at_debug_the_upload_url_stays_out_of_the_log(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    """slack_sdk logs every request's URL and every answer's body at DEBUG: the upload URL (a one-time grant to write
    the file) appears in both, and is redacted as response URLs are."""
    user = fake_slack.add_user()
    with log_capture([fake_slack.bot_token], level="DEBUG") as logs:
        assert await send(client, user) is True
    said = logs.getvalue()
    assert "files.getUploadURLExternal" in said  # slack_sdk did log at DEBUG
    assert "/upload/v1/" not in said


def test_the_offboarding_plan_file_is_csv_safe_too() -> None:
    """plan_file (the whole plan, sent to the admin's DM) quotes and neutralizes its cells as every other list file."""
    import csv
    import io

    from services.disconnecting.partners import Findings
    from services.ui.offboarding import plan_file

    findings = Findings(
        "T_PARTNER",
        "E_OURS",
        ours=[{"id": "C0000000001", "name": "-cmd", "private": False}],
        theirs=[{"id": "C0000000002", "name": '=HYPERLINK("http://x","y")', "private": True}],
        pending=[{"id": "C0000000003", "name": "@sum\nline", "private": False}],
    )
    _, content, _, _ = plan_file(findings, "Partner")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0] == ["channel_id", "name", "private", "archived", "plan"]
    assert [r[1] for r in rows[1:]] == ["'-cmd", '\'=HYPERLINK("http://x","y")', "'@sum\nline"]
    assert [r[4] for r in rows[1:]] == ["disconnect", "created by another organization", "invitation pending"]


def test_a_leave_failing_for_every_reason_still_leaves_room_for_the_rejoin_result_and_the_file_note() -> None:
    """500 channels left and 500 failed over every error code Slack has for a leave: shortened to 20 channels a list,
    one line per code still came to ~15,000 characters, so the leave summary's note of its file was cut away, and the
    Rejoin result, which comes after the summary in the same message, was cut away whole."""
    from datetime import UTC, datetime, timedelta

    from services.error_texts import JOIN_ERRORS, LEAVE_ERRORS
    from services.leaving.leave import LeaveOutcome, LeaveResult, LeaveStatus
    from services.leaving.offers import IssuedOffer
    from services.leaving.rejoin import JoinResult, JoinStatus
    from services.ui.leave import leave_lines, leave_summary_message, leave_summary_text
    from services.ui.limits import LIST_TEXT_BUDGET, FullList, lines_fit
    from services.ui.rejoin import rejoin_done_message, rejoin_lines

    codes, join_codes = list(LEAVE_ERRORS), list(JOIN_ERRORS)
    left = [LeaveResult(f"C{i:010d}", LeaveStatus.LEFT) for i in range(500)]
    failed = [LeaveResult(f"C{i:010d}", LeaveStatus.FAILED, codes[i % len(codes)]) for i in range(500, 1000)]
    outcome = LeaveOutcome((*left, *failed))
    lines, shortened = leave_lines(outcome)
    assert shortened and lines_fit(lines, LIST_TEXT_BUDGET)
    expires = datetime.now(UTC) + timedelta(days=1)
    full = FullList("leave-2026-12-06-1400.csv", True)
    message = leave_summary_message(outcome, IssuedOffer("r1db|1|U1|C0000000000", expires), False, full)
    assert fits(message) and "leave-2026-12-06-1400.csv" in str(message["blocks"])

    joins = [JoinResult(f"C{i:010d}", JoinStatus.REJOINED) for i in range(450)]
    joins += [JoinResult(f"C{i:010d}", JoinStatus.FAILED, join_codes[i % len(join_codes)]) for i in range(450, 500)]
    result_lines, _ = rejoin_lines(joins, [], "UBOT", expires)
    assert lines_fit(result_lines, LIST_TEXT_BUDGET)
    done = rejoin_done_message(
        leave_summary_text(outcome), joins, [], "UBOT", "v", expires, FullList("rejoin-2026-12-06-1401.csv", True)
    )
    shown = str(done["blocks"])
    assert fits(done)
    assert "I'm back in 450 channels" in shown and "rejoin-2026-12-06-1401.csv" in shown
    assert "Press *Rejoin* again" in shown and done["blocks"][-1]["type"] == "actions"
