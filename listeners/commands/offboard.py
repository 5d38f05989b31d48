"""/disconnect-shared all <org or workspace>: open a light modal at once (the trigger lasts 3 s), check the user, find
every channel shared with that partner, and show the plan in the modal."""

from __future__ import annotations

import asyncio

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.command_text import parse_offboard_text
from listeners.errors import answer_failures_after_ack
from listeners.payload import installation_org
from services.disconnecting.attempts import AttemptLimiter
from services.disconnecting.offboarding import Offboarding
from services.disconnecting.workflow import Disconnects, Requester
from services.error_texts import TOO_MANY_ATTEMPTS, VIEWS_OPEN_ERRORS, error_text
from services.slack.delivery import reply_privately
from services.slack.outcomes import call_outcome
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
    if not disconnect_attempts.allow(str(command.get("user_id"))):
        await ack(text=TOO_MANY_ATTEMPTS.format(count=disconnect_attempts.per_minute), response_type="ephemeral")
        return
    await ack()
    requester = Requester(
        command.get("user_id", ""),
        installation_org(context),
        context.team_id,
        command.get("response_url"),
        dry_run=request.dry_run,
    )
    async with answer_failures_after_ack(client, requester.user_id, requester.response_url):
        if not await handled_requests.first_time(f"command:{command.get('trigger_id')}"):
            return
        (opened, open_error), check = await asyncio.gather(
            call_outcome(client.views_open(trigger_id=command.get("trigger_id"), view=loading_modal(request.partner))),
            disconnects.admins.check(client, requester.user_id, requester.enterprise_id),
        )
        view = opened.get("view") if open_error is None else None
        view_id = view.get("id") if isinstance(view, dict) else None
        if view_id is None and check.allowed:
            text = error_text(VIEWS_OPEN_ERRORS, open_error or "unexpected_response", action="open the form")
            await reply_privately(client, requester.user_id, requester.response_url, {"text": text})
            return
        await offboarding.show_plan(client, requester, view_id, request.partner, check)
