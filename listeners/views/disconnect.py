"""/disconnect-shared's two submissions: the form (→ confirmation) and the confirmation (→ the admin calls)."""

from __future__ import annotations

import asyncio
import logging
import uuid

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.command_text import channel_id_of
from listeners.errors import answer_failures_after_ack
from listeners.leave_jobs import ACK_BUDGET_SECONDS
from listeners.payload import chosen_channel, chosen_teams, dry_run_chosen, offered_teams, requester_of
from services.disconnecting.jobs import DisconnectJobs
from services.disconnecting.shared_channels import MAX_PARTIES_PER_RUN, describe_shared_channel
from services.disconnecting.workflow import Disconnects, Requester, show_or_tell
from services.error_texts import CHANNEL_PROBLEMS
from services.slack.delivery import reply_privately
from services.storage.handled_requests import HandledRequests
from services.ui.disconnect import (
    CHANNEL_BLOCK,
    TEAMS_BLOCK_PREFIX,
    TOO_MANY,
    ConfirmMetadata,
    FormMetadata,
    channel_problem_text,
    checking_modal,
    confirm_modal,
    dry_run_message,
    outcome_message,
    status_modal,
)

logger = logging.getLogger(__name__)


def form_errors(metadata: FormMetadata, channel_id: str | None, teams: list[str], offered: set[str]) -> dict[str, str]:
    """Inline errors from what the form already knows (`offered`: the parties its view offered): no Web API call
    before the ack."""
    if channel_id is None:
        return {CHANNEL_BLOCK: "Choose a shared channel."}
    if metadata.channel_id != channel_id:
        return {CHANNEL_BLOCK: CHANNEL_PROBLEMS["loading"]}
    if metadata.problem is not None:
        return {CHANNEL_BLOCK: channel_problem_text(metadata.problem, host=metadata.host_label)}
    if not teams:
        return {TEAMS_BLOCK_PREFIX + channel_id: CHANNEL_PROBLEMS["no_team_chosen"]}
    if len(teams) > MAX_PARTIES_PER_RUN:
        return {TEAMS_BLOCK_PREFIX + channel_id: TOO_MANY}
    if any(t not in offered for t in teams):
        return {TEAMS_BLOCK_PREFIX + channel_id: CHANNEL_PROBLEMS["team_not_connected"]}
    return {}


async def disconnect_form_submission(
    ack: AsyncAck,
    body: dict,
    view: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    disconnects: Disconnects,
    handled_requests: HandledRequests,
) -> None:
    metadata = FormMetadata.decode(view.get("private_metadata"))
    channel_id = chosen_channel(view)
    teams = chosen_teams(view, channel_id) if channel_id else []
    errors = form_errors(metadata, channel_id, teams, offered_teams(view, channel_id) if channel_id else set())
    if errors or channel_id is None:
        await ack(response_action="errors", errors=errors)
        return
    external_id = f"disconnect-confirm-{uuid.uuid4().hex}"
    await ack(response_action="push", view=checking_modal(external_id))

    dry_run = dry_run_chosen(view)
    requester = requester_of(body, context, metadata.response_url, dry_run)
    async with answer_failures_after_ack(client, requester.user_id, requester.response_url):
        # Each submission has its own trigger_id: the same one again is a replay (on any instance), handled once.
        if not await handled_requests.first_time(f"form:{body.get('trigger_id')}"):
            return
        if not await disconnects.allowed_admin_token(
            client, requester, channel_id, external_id=external_id, leaving_team_ids=teams
        ):
            return
        # Fresh: names, still connected, and still ours to disconnect from?
        shared = await describe_shared_channel(
            client, channel_id, requester.enterprise_id, requester.team_id, name_orgs=True
        )
        still = [t for t in teams if t in shared.team_ids]
        if shared.problem is not None or len(still) != len(teams):
            text = channel_problem_text(shared.problem or "team_not_connected", shared)
            await show_or_tell(client, requester, status_modal(text), external_id=external_id)
            return
        # A party an unfinished offboarding is disconnecting is left out, and the admin told before confirming.
        held = await disconnects.offboarded(requester, channel_id, still, shared.team_names)
        await disconnects.refuse_offboarded(client, requester, channel_id, held, tell=False)
        still = [t for t in still if t not in held]
        if not still:
            await show_or_tell(client, requester, status_modal(" ".join(held.values())), external_id=external_id)
            return
        confirm = ConfirmMetadata(requester.response_url, channel_id, tuple(still), dry_run).encode()
        modal = confirm_modal(shared, still, confirm, external_id, dry_run=dry_run, left_out=list(held.values()))
        await show_or_tell(client, requester, modal, external_id=external_id)


async def disconnect_confirm_submission(
    ack: AsyncAck,
    body: dict,
    view: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    disconnects: Disconnects,
    handled_requests: HandledRequests,
    disconnect_jobs: DisconnectJobs,
) -> None:
    metadata = ConfirmMetadata.decode(view.get("private_metadata"))
    channel_id = channel_id_of(metadata.channel_id or "")
    teams = list(dict.fromkeys(t for t in metadata.team_ids if t))
    if channel_id is None or not teams or len(teams) > MAX_PARTIES_PER_RUN:
        await ack(response_action="update", view=status_modal("This confirmation is incomplete. Start again."))
        return
    requester = requester_of(body, context, metadata.response_url, metadata.dry_run)
    if len(teams) > 1 and not requester.dry_run:
        # Several workspaces: a job in the database, written before the modal closes (the admin's "it started"),
        # unless the database takes longer than the ack can wait. Its runner does every check again.
        storing = asyncio.ensure_future(_submitted(disconnect_jobs, requester, channel_id, teams, view, context))
        await asyncio.wait({storing}, timeout=ACK_BUDGET_SECONDS)
        await ack(response_action="clear")
        if await storing:
            return
    else:
        await ack(response_action="clear")

    async with answer_failures_after_ack(client, requester.user_id, requester.response_url):
        # A confirmation is submitted once; the same one again is a replay (on any instance): nothing twice.
        if not await handled_requests.first_time(f"confirm:{view.get('id')}:{requester.user_id}"):
            return
        # The same checks for a dry run (who may, the token, still connected and ours): it only makes no admin call.
        checked = await disconnects.checked(client, requester, channel_id, teams)
        if checked is None:
            return
        admin_token, names = checked
        teams = await disconnects.without_offboarded(client, requester, channel_id, teams, names)
        if not teams:
            return
        if requester.dry_run:
            await disconnects.dry_run(client, requester, channel_id, teams)
            await reply_privately(
                client, requester.user_id, requester.response_url, dry_run_message(channel_id, teams, names)
            )
            return
        results = await disconnects.in_order(client, requester, admin_token.token or "", channel_id, teams)
        message = outcome_message(channel_id, results, names, admin_token.source)
        await reply_privately(client, requester.user_id, requester.response_url, message)


async def _submitted(
    disconnect_jobs: DisconnectJobs,
    requester: Requester,
    channel_id: str,
    teams: list[str],
    view: dict,
    context: AsyncBoltContext,
) -> bool:
    """True when the disconnect is a job now (or was already: a replayed confirmation); False: do it here."""
    try:
        await disconnect_jobs.submit(
            channel_id,
            teams,
            user_id=requester.user_id,
            enterprise_id=requester.enterprise_id,
            team_id=requester.team_id,
            is_enterprise_install=bool(context.is_enterprise_install),
            response_url=requester.response_url,
            view_id=view.get("id"),
        )
    except Exception:  # the database is down: the disconnect still happens, in this process
        logger.warning("Could not store a disconnect job; disconnecting in this process", exc_info=True)
        return False
    return True
