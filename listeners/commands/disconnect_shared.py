"""/disconnect-shared: ack, open a light modal at once (the trigger lasts 3 s), check the user, then fill it in."""

from __future__ import annotations

import asyncio

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.command_text import parse_disconnect_text
from listeners.errors import answer_failures_after_ack
from listeners.payload import installation_org
from services.disconnecting.attempts import AttemptLimiter
from services.disconnecting.shared_channels import describe_shared_channel
from services.disconnecting.workflow import Disconnects, Requester, show_or_tell
from services.error_texts import TOO_MANY_ATTEMPTS, VIEWS_OPEN_ERRORS, error_text
from services.slack.delivery import reply_privately
from services.slack.outcomes import call_outcome
from services.storage.handled_requests import HandledRequests
from services.ui.disconnect import FormMetadata, checking_modal, form_modal, usage_message


async def disconnect_shared_command(
    ack: AsyncAck,
    command: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    disconnects: Disconnects,
    handled_requests: HandledRequests,
    disconnect_attempts: AttemptLimiter,
) -> None:
    request = parse_disconnect_text(command.get("text"), command.get("channel_id"))
    if request.help:
        await ack(text=usage_message(request.not_understood, request.too_many), response_type="ephemeral")
        return
    if not disconnect_attempts.allow(str(command.get("user_id"))):
        text = TOO_MANY_ATTEMPTS.format(count=disconnect_attempts.per_minute)
        await ack(text=text, response_type="ephemeral")
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
        # Each command has its own trigger_id: the same one again is a replay (on any instance), answered once.
        if not await handled_requests.first_time(f"command:{command.get('trigger_id')}"):
            return
        (opened, open_error), check = await asyncio.gather(
            call_outcome(client.views_open(trigger_id=command.get("trigger_id"), view=checking_modal())),
            disconnects.admins.check(client, requester.user_id, requester.enterprise_id),
        )
        view = opened.get("view") if open_error is None else None
        view_id = view.get("id") if isinstance(view, dict) else None
        admin_token = await disconnects.allowed_admin_token(
            client, requester, request.channel_id, check, view_id=view_id, leaving_team_ids=request.team_ids
        )
        if admin_token is None:
            return
        if view_id is None:
            text = error_text(VIEWS_OPEN_ERRORS, open_error or "unexpected_response", action="open the form")
            await reply_privately(client, requester.user_id, requester.response_url, {"text": text})
            return
        shared = (
            await describe_shared_channel(client, request.channel_id, requester.enterprise_id, requester.team_id)
            if request.channel_id
            else None
        )
        metadata = FormMetadata.for_channel(requester.response_url, shared).encode()
        form = form_modal(request.channel_id, shared, request.team_ids, metadata, dry_run=request.dry_run)
        await show_or_tell(client, requester, form, view_id=view_id)
