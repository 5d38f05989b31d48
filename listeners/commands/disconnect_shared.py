"""/disconnect-shared: ack, open a light modal at once (the trigger lasts 3 s), check the user, then fill it in."""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.command_text import parse_disconnect_text
from listeners.commands.opening import acked_over_the_limit, open_and_check, tell_the_form_did_not_open
from listeners.errors import answer_failures_after_ack
from listeners.payload import requester_of
from services.audit.log import AuditEvent
from services.disconnecting.attempts import AttemptLimiter
from services.disconnecting.shared_channels import TOO_MANY_PARTIES_OUTCOME, describe_shared_channel
from services.disconnecting.workflow import Disconnects, show_or_tell
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
        await ack(text=usage_message(request.not_understood), response_type="ephemeral")
        return
    # Over the cap counts as an attempt: a flood of them is one audit row a minute, not a row each.
    if await acked_over_the_limit(ack, disconnect_attempts, str(command.get("user_id")), client, context):
        return
    requester = requester_of(command, context, command.get("response_url"), dry_run=request.dry_run)
    if request.too_many:
        await ack(text=usage_message(too_many=True), response_type="ephemeral")
        outcome = f"{TOO_MANY_PARTIES_OUTCOME}:{request.named}"
        await disconnects.trail.record(client, requester.entry(AuditEvent.REFUSED, outcome, request.channel_id))
        return
    await ack()

    async with answer_failures_after_ack(client, requester.user_id, requester.response_url):
        opened = await open_and_check(client, command, requester, disconnects, handled_requests, checking_modal())
        if opened is None:
            return
        admin_token = await disconnects.allowed_admin_token(
            client,
            requester,
            request.channel_id,
            opened.check,
            view_id=opened.view_id,
            leaving_team_ids=request.team_ids,
        )
        if admin_token is None:
            return
        if opened.view_id is None:
            await tell_the_form_did_not_open(client, requester, opened.error)
            return
        shared = (
            await describe_shared_channel(
                client, request.channel_id, requester.enterprise_id, requester.team_id, name_orgs=True
            )
            if request.channel_id
            else None
        )
        metadata = FormMetadata.for_channel(requester.response_url, shared).encode()
        form = form_modal(request.channel_id, shared, request.team_ids, metadata, dry_run=request.dry_run)
        await show_or_tell(client, requester, form, view_id=opened.view_id)
