"""/disconnect-shared as an admin goes through it: the form's values, opening it, the confirmation, the audit rows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from services.ui import DRY_RUN_ACTION, DRY_RUN_VALUE
from services.ui.disconnect import (
    CHANNEL_ACTION,
    CHANNEL_BLOCK,
    CONFIRM_CALLBACK,
    DRY_RUN_BLOCK,
    FORM_CALLBACK,
    TEAMS_ACTION,
    TEAMS_BLOCK_PREFIX,
)
from tests.helpers.app import Org
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender

ADMIN_CALL = "admin.conversations.disconnectShared"


def form_values(channel: str | None, teams: Sequence[str] = (), dry_run: bool = False) -> dict:
    values: dict = {CHANNEL_BLOCK: {CHANNEL_ACTION: {"type": "conversations_select", "selected_conversation": channel}}}
    chosen = [{"value": DRY_RUN_VALUE, "text": {"type": "plain_text", "text": "Dry run"}}] if dry_run else []
    values[DRY_RUN_BLOCK] = {DRY_RUN_ACTION: {"type": "checkboxes", "selected_options": chosen}}
    if channel:
        values[TEAMS_BLOCK_PREFIX + channel] = {
            TEAMS_ACTION: {
                "type": "multi_static_select",
                "selected_options": [{"value": t, "text": {"type": "plain_text", "text": t}} for t in teams],
            }
        }
    return values


async def open_form(
    slack: SlackSender, fake: FakeSlack, user: str, channel: str, text: str = "", **fields: str
) -> tuple[str, dict]:
    """Run the command as `user`; wait for the form to be filled in; return its view ID and the command."""
    reply, body = await slack.command("/disconnect-shared", text, channel_id=channel, user_id=user, **fields)
    assert reply.status == 200 and reply.text == ""
    views = await fake.wait_for(lambda: fake.views_with(FORM_CALLBACK), what="the form")
    return views[0]["id"], body


async def confirm_view(slack: SlackSender, fake: FakeSlack) -> dict:
    pushed = slack.pushed_view_id
    assert pushed is not None, "the form's submission did not push a view"
    return await fake.wait_for(
        lambda: fake.views[pushed] if fake.views[pushed]["callback_id"] == CONFIRM_CALLBACK else None,
        what="the confirmation",
    )


async def audit_rows(slack: SlackSender) -> list[dict]:
    return list(reversed(await slack.built.audit_log.latest(100)))


async def audit_rows_once(slack: SlackSender, count: int, timeout: float = 10.0) -> list[dict]:
    """The audit rows once there are at least `count` (a bounded poll: some are written after the ack)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(rows := await audit_rows(slack)) < count:
        assert asyncio.get_running_loop().time() < deadline, f"never {count} audit rows: {rows}"
        await asyncio.sleep(0.02)
    return rows


def end_the_minute(slack: SlackSender) -> None:
    """Each person's minute of refused attempts ends now: the limiter records it as its timer does when the minute is
    up (services.disconnecting.attempts: the timer calls `_report`). A test's burst of attempts is then counted whole
    however long it takes on a loaded machine, where a timer of a fraction of a second could split it in two rows.
    Call it once the requests' work has settled (tests.helpers.tasks.settled): a refusal is noted after the ack."""
    limiter = slack.built.attempts
    for user_id in list(limiter._refusals):
        limiter._report(user_id)


async def disconnect(slack: SlackSender, fake: FakeSlack, org: Org, channel: str, teams: list[str]) -> dict:
    """The whole happy path as an admin; returns the outcome message."""
    view_id, body = await open_form(slack, fake, org.admin, channel)
    reply = await slack.submit_view(view_id, form_values(channel, teams), user_id=org.admin)
    assert reply.json()["response_action"] == "push"
    confirm = await confirm_view(slack, fake)
    text = json.dumps(confirm["blocks"], ensure_ascii=False)
    assert f"<#{channel}>" in text
    assert all(t in text for t in teams)
    reply = await slack.submit_view(confirm["id"], {}, user_id=org.admin)
    assert reply.json() == {"response_action": "clear"}
    return await fake.next_post(body["response_url"])
