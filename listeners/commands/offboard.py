"""/disconnect-shared all <org or workspace>: open a light modal at once (the trigger lasts 3 s), check the user, find
every channel shared with that partner, and show the plan in the modal."""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.command_text import parse_offboard_text
from listeners.commands.opening import acked_over_the_limit, open_and_check, tell_the_form_did_not_open
from listeners.errors import answer_failures_after_ack
from listeners.payload import requester_of
from services.disconnecting.attempts import AttemptLimiter
from services.disconnecting.offboarding import Offboarding
from services.disconnecting.workflow import Disconnects
from services.storage.handled_requests import HandledRequests
from services.ui.offboarding import loading_modal, problem_text


async def is_offboard(body: dict) -> bool:
    """The listener matcher: `/disconnect-shared all …` is this listener's, anything else /disconnect-shared's."""
    return parse_offboard_text(body.get("text")) is not None


async def offboard_command(
    ack: AsyncAck,
    command: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    disconnects: Disconnects,
    offboarding: Offboarding,
    handled_requests: HandledRequests,
    disconnect_attempts: AttemptLimiter,
) -> None:
    request = parse_offboard_text(command.get("text"))
    if request is None or not request.partner:
        await ack(text=problem_text("no_partner"), response_type="ephemeral")
        return
    if await acked_over_the_limit(ack, disconnect_attempts, str(command.get("user_id")), client, context):
        return
    await ack()
    requester = requester_of(command, context, command.get("response_url"), dry_run=request.dry_run)
    async with answer_failures_after_ack(client, requester.user_id, requester.response_url):
        modal = loading_modal(request.partner)
        opened = await open_and_check(client, command, requester, disconnects, handled_requests, modal)
        if opened is None:
            return
        if opened.view_id is None and opened.check.allowed:
            await tell_the_form_did_not_open(client, requester, opened.error)
            return
        await offboarding.show_plan(client, requester, opened.view_id, request.partner, opened.check)
