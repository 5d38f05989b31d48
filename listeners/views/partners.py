"""Offboarding "everything, including DMs": its confirmation's submission (→ the job)."""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.errors import answer_failures_after_ack
from listeners.payload import requester_of
from services.disconnecting.everything import EverythingOffboarding
from services.storage.handled_requests import HandledRequests
from services.ui.partners import EverythingMetadata, everything_status_modal


async def everything_confirm_submission(
    ack: AsyncAck,
    body: dict,
    view: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    everything: EverythingOffboarding,
    handled_requests: HandledRequests,
) -> None:
    metadata = EverythingMetadata.decode(view.get("private_metadata"))
    if not metadata.partner_id:
        await ack(
            response_action="update", view=everything_status_modal("This confirmation is incomplete. Start again.")
        )
        return
    await ack(response_action="update", view=everything_status_modal("Checking again and starting…"))
    requester = requester_of(body, context, metadata.response_url)
    async with answer_failures_after_ack(client, requester.user_id, requester.response_url):
        # Submitted once; the same confirmation again is a replay (on any instance): one job.
        if not await handled_requests.first_time(f"offboard-everything:{view.get('id')}:{requester.user_id}"):
            return
        await everything.confirmed(
            client,
            requester,
            view.get("id"),
            metadata.partner_id,
            metadata.partner_name,
            is_enterprise_install=bool(context.is_enterprise_install),
        )
