"""The partner directory's buttons (the Home tab: Offboard on a partner, paging) and the plan's "Everything, including
DMs…" button (it pushes that way's own confirmation)."""

from __future__ import annotations

import uuid

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.errors import answer_failures_after_ack
from listeners.payload import installation_org, requester_of, user_id_of
from services.audit.home import HomeTab, publish_home
from services.disconnecting.attempts import AttemptLimiter
from services.disconnecting.everything import EverythingOffboarding
from services.disconnecting.offboarding import Offboarding
from services.error_texts import TOO_MANY_ATTEMPTS
from services.slack.outcomes import call_outcome
from services.ui.offboarding import loading_modal, status_modal
from services.ui.partners import DIRECTORY_NEXT_ACTION, DMS_ONLY, EverythingMetadata, everything_confirm_modal

_ID_LIMIT = 40


async def directory_page_requested(
    ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient, context: AsyncBoltContext, home_tab: HomeTab
) -> None:
    await ack()
    user_id = user_id_of(body)
    if not user_id:
        return
    value = action.get("value")
    # The button carries Slack's cursor (a partner's ID); anything odd shows the first page.
    cursor = (
        value
        if action.get("action_id") == DIRECTORY_NEXT_ACTION and isinstance(value, str) and 0 < len(value) <= 200
        else None
    )
    view = await home_tab.view(client, user_id, installation_org(context), context.team_id, partners_cursor=cursor)
    await publish_home(client, user_id, view)


async def partner_offboard_pressed(
    ack: AsyncAck,
    body: dict,
    action: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    offboarding: Offboarding,
    everything: EverythingOffboarding,
    disconnect_attempts: AttemptLimiter,
) -> None:
    """A directory row's Offboard: the offboarding flow for that partner (a light modal at once: the trigger lasts 3 s;
    who may, and that the partner is outside our org, are checked by the flow itself). A partner Slack counts only DMs
    and group DMs with goes straight to the "everything" confirmation."""
    await ack()
    value = action.get("value")
    value = value.strip()[: _ID_LIMIT + len(DMS_ONLY)] if isinstance(value, str) else ""
    dms_only = value.endswith(DMS_ONLY)
    partner = value.removesuffix(DMS_ONLY)[:_ID_LIMIT]
    opened, error = await call_outcome(
        client.views_open(trigger_id=body.get("trigger_id"), view=loading_modal(partner))
    )
    view = opened.get("view") if error is None else None
    view_id = view.get("id") if isinstance(view, dict) else None
    if not isinstance(view_id, str):
        return
    if not disconnect_attempts.allow(user_id_of(body)):  # counts like the command and the Home form
        disconnect_attempts.refused(client, user_id_of(body), installation_org(context), context.team_id)
        text = TOO_MANY_ATTEMPTS.format(count=disconnect_attempts.per_minute)
        await call_outcome(client.views_update(view_id=view_id, view=status_modal(text)))
        return
    requester = requester_of(body, context, None)
    async with answer_failures_after_ack(client, requester.user_id, None):
        if dms_only:
            # Only DMs and group DMs: channel by channel has nothing to do; the second way is the only one (its
            # confirmation checks everything again, whatever the button said).
            external_id = f"offboard-everything-{uuid.uuid4().hex}"
            light = everything_confirm_modal(
                EverythingMetadata(None, partner), None, external_id=external_id, checking=True
            )
            await call_outcome(client.views_update(view_id=view_id, view=light))
            await everything.show_confirmation(client, requester, external_id, partner, None)
            return
        await offboarding.show_plan(client, requester, view_id, partner)


async def everything_pressed(
    ack: AsyncAck,
    body: dict,
    action: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    everything: EverythingOffboarding,
) -> None:
    """The plan's second way: its own confirmation, pushed at once, then checked and filled in."""
    await ack()
    metadata = EverythingMetadata.decode(action.get("value") if isinstance(action.get("value"), str) else None)
    if not metadata.partner_id:
        return
    external_id = f"offboard-everything-{uuid.uuid4().hex}"
    light = everything_confirm_modal(metadata, None, external_id=external_id, checking=True)
    _, error = await call_outcome(client.views_push(trigger_id=body.get("trigger_id"), view=light))
    if error is not None:
        return
    requester = requester_of(body, context, metadata.response_url)
    async with answer_failures_after_ack(client, requester.user_id, requester.response_url):
        await everything.show_confirmation(client, requester, external_id, metadata.partner_id, metadata.partner_name)
