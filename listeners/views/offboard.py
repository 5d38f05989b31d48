"""Offboarding's submissions: the Home tab's start form (→ the plan), the plan (→ the confirmation), and the
confirmation (→ the job)."""

from __future__ import annotations

import uuid

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.errors import answer_failures_after_ack
from listeners.payload import (
    dry_run_chosen,
    installation_org,
    installation_team,
    kept_channels,
    partner_typed,
    requester_of,
    user_id_of,
)
from services.disconnecting.attempts import AttemptLimiter
from services.disconnecting.offboarding import Offboarding
from services.disconnecting.partners import Partner
from services.error_texts import TOO_MANY_ATTEMPTS
from services.storage.handled_requests import HandledRequests
from services.ui.offboarding import DRY_RUN_BLOCK as OFFBOARD_DRY_RUN_BLOCK
from services.ui.offboarding import (
    KEEP_BLOCK,
    PARTNER_BLOCK,
    ConfirmMetadata,
    PlanMetadata,
    confirm_modal,
    loading_modal,
    metadata_fits,
    problem_text,
    status_modal,
)


async def offboard_start_submission(
    ack: AsyncAck,
    body: dict,
    view: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    offboarding: Offboarding,
    disconnect_attempts: AttemptLimiter,
) -> None:
    partner = partner_typed(view)
    # The Home tab's way in counts like the command (each start costs an admin check and searches).
    if not disconnect_attempts.allow(user_id_of(body)):
        text = TOO_MANY_ATTEMPTS.format(count=disconnect_attempts.per_minute)
        await ack(response_action="errors", errors={PARTNER_BLOCK: text})
        disconnect_attempts.refused(client, user_id_of(body), installation_org(context), context.team_id)
        return
    await ack(response_action="update", view=loading_modal(partner))
    requester = requester_of(body, context, None, dry_run_chosen(view, OFFBOARD_DRY_RUN_BLOCK))
    async with answer_failures_after_ack(client, requester.user_id, None):
        await offboarding.show_plan(client, requester, view.get("id"), partner)


async def offboard_plan_submission(
    ack: AsyncAck,
    body: dict,
    view: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    offboarding: Offboarding,
) -> None:
    """No Web API call before the ack: the confirmation is built from what the plan said (its metadata) and the
    channels chosen to keep (its state: at most KEEP_MAX_SELECTED, the rest of the plan is in the database); who may
    is checked again right after it (a refusal replaces the confirmation)."""
    metadata = PlanMetadata.decode(view.get("private_metadata"))
    kept = kept_channels(view)
    if not metadata.partner_id or not metadata.plan_id:
        await ack(response_action="update", view=status_modal("This form is incomplete. Start again."))
        return
    count = max(metadata.total - len(kept), 0)
    if count == 0 and not metadata.searching:
        await ack(response_action="errors", errors={KEEP_BLOCK: problem_text("none_chosen")})
        return
    confirm = ConfirmMetadata(
        metadata.response_url,
        metadata.partner_id,
        metadata.partner_name,
        tuple(kept),
        metadata.plan_id,
        count,
        dry_run_chosen(view, OFFBOARD_DRY_RUN_BLOCK),
        metadata.searching,
        metadata.pages_left,
        metadata.private_refused,
    )
    if not metadata_fits(confirm):
        await ack(response_action="errors", errors={KEEP_BLOCK: problem_text("too_many_unticked")})
        return
    external_id = f"offboard-confirm-{uuid.uuid4().hex}"
    await ack(response_action="push", view=confirm_modal(confirm, external_id))
    requester = requester_of(body, context, metadata.response_url, confirm.dry_run)
    async with answer_failures_after_ack(client, requester.user_id, requester.response_url):
        await offboarding.disconnects.allowed_admin_token(
            client, requester, None, external_id=external_id, leaving_team_ids=[metadata.partner_id]
        )


async def offboard_confirm_submission(
    ack: AsyncAck,
    body: dict,
    view: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    offboarding: Offboarding,
    handled_requests: HandledRequests,
) -> None:
    metadata = ConfirmMetadata.decode(view.get("private_metadata"))
    if not metadata.partner_id or not metadata.plan_id:
        await ack(response_action="update", view=status_modal("This confirmation is incomplete. Start again."))
        return
    await ack(response_action="update", view=status_modal("Checking again and starting…"))
    requester = requester_of(body, context, metadata.response_url, metadata.dry_run)
    async with answer_failures_after_ack(client, requester.user_id, requester.response_url):
        # A confirmation is submitted once; the same one again is a replay (on any instance): one job.
        if not await handled_requests.first_time(f"offboard-confirm:{view.get('id')}:{requester.user_id}"):
            return
        await offboarding.confirmed(
            client,
            requester,
            view.get("id"),
            Partner(metadata.partner_id, metadata.partner_name),
            metadata.excluded,
            metadata.plan_id,
            is_enterprise_install=bool(context.is_enterprise_install),
            installation_team=installation_team(context),
        )
