"""/leave-channel: parse the text, ack at once, check who may and leave after the ack, reply privately."""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.command_text import LeaveKind, parse_leave_text
from listeners.errors import answer_failures_after_ack
from listeners.leave_jobs import ACK_BUDGET_SECONDS, submitted
from listeners.payload import installation_org, installation_team, installation_token_expiry
from services.error_texts import VIEWS_OPEN_ERRORS, error_text
from services.leaving.offers import RejoinOffers
from services.leaving.one_channel import OneChannelLeaves, OneLeave, leave_now
from services.leaving.policy import MAX_LEAVE_CHANNELS, LeavePolicy
from services.leaving.workflow import LeaveJobs
from services.slack.delivery import reply_privately
from services.slack.outcomes import call_outcome
from services.ui.leave import (
    PickMetadata,
    leave_pick_modal,
    leave_started_text,
    stopping_text,
    too_busy_text,
    too_many_channels_text,
    usage_message,
)

logger = logging.getLogger(__name__)


async def leave_channel_command(
    ack: AsyncAck,
    command: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    leave_policy: LeavePolicy,
    leave_jobs: LeaveJobs,
    rejoin_offers: RejoinOffers,
    one_channel_leaves: OneChannelLeaves,
) -> None:
    user_id = command.get("user_id", "")
    channel_id = command.get("channel_id")
    response_url = command.get("response_url")
    request = parse_leave_text(command.get("text"), current_channel=channel_id or "")

    if request.kind is LeaveKind.HELP:
        await ack(text=usage_message(request.not_understood), response_type="ephemeral")
        return

    if request.kind is LeaveKind.PICK:
        await ack()
        modal = leave_pick_modal(channel_id, PickMetadata(response_url, channel_id, user_id).encode())
        async with answer_failures_after_ack(client, user_id, response_url):
            _, error = await call_outcome(client.views_open(trigger_id=command.get("trigger_id"), view=modal))
            if error is not None:
                text = error_text(VIEWS_OPEN_ERRORS, error, action="open the form")
                await reply_privately(client, user_id, response_url, {"text": text})
        return

    if not request.channel_ids or not request.channel_ids[0]:
        await ack(text=usage_message(), response_type="ephemeral")
        return
    count = len(request.channel_ids)
    if count > MAX_LEAVE_CHANNELS:
        await ack(text=too_many_channels_text(count), response_type="ephemeral")
        return
    if count > 1:
        # The job is written before the user hears it started; a database opened cold (its first use in this
        # process: imports, migrations) may take longer than the ack can wait, and then the ack goes first.
        storing = asyncio.ensure_future(
            submitted(
                leave_jobs,
                request.channel_ids,
                context,
                user_id,
                response_url,
                request_key=f"leave:{command['trigger_id']}" if command.get("trigger_id") else None,
            )
        )
        await asyncio.wait({storing}, timeout=ACK_BUDGET_SECONDS)
        await ack(text=leave_started_text(count), response_type="ephemeral")
        if await storing:
            return
    else:
        # One channel: its work waits its turn in arrival order (services.leaving.one_channel), holding only a few
        # strings; past the bounds, or while shutting down, the ack says nothing was done.
        leave = OneLeave(
            token=client.token,
            team_id=context.team_id,
            org=installation_org(context),
            team=installation_team(context),
            user_id=user_id,
            response_url=response_url,
            channel_id=request.channel_ids[0],
            expires_at=installation_token_expiry(context),
        )
        if not one_channel_leaves.submit(leave):
            refusal = stopping_text() if one_channel_leaves.stopping else too_busy_text()
            await ack(text=refusal, response_type="ephemeral")
            return
        await ack()
        return
    # A bulk leave whose job couldn't be written: done in this request's own time.
    async with answer_failures_after_ack(client, user_id, response_url):
        org, team = installation_org(context), installation_team(context)
        await leave_now(client, org, team, leave_policy, rejoin_offers, user_id, response_url, request.channel_ids)
