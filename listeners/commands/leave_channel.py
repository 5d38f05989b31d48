"""/leave-channel: parse the text, ack at once, check who may and leave after the ack, reply privately."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.command_text import LeaveKind, parse_leave_text
from listeners.errors import answer_failures_after_ack
from listeners.leave_jobs import ACK_BUDGET_SECONDS, submitted
from listeners.payload import installation_org, installation_team
from services.error_texts import VIEWS_OPEN_ERRORS, error_text
from services.leaving.leave import leave_channels
from services.leaving.offers import RejoinOffers
from services.leaving.policy import MAX_LEAVE_CHANNELS, LeavePolicy
from services.leaving.workflow import LeaveJobs, deliver_leave_summary
from services.slack.admission import WorkGate
from services.slack.delivery import reply_privately
from services.slack.outcomes import call_outcome
from services.ui.leave import (
    PickMetadata,
    leave_check_failed_text,
    leave_pick_modal,
    leave_started_text,
    leave_summary_text,
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
    work_gate: WorkGate,
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
        ticket = None
    else:
        # One channel: its work waits its turn in arrival order (services.slack.admission); past the bounds the ack
        # says nothing was done.
        ticket = work_gate.enter()
        if ticket is None:
            await ack(text=too_busy_text(), response_type="ephemeral")
            return
        await ack()
    async with ticket or contextlib.nullcontext():
        await _leave_after_ack(client, context, leave_policy, rejoin_offers, user_id, response_url, request.channel_ids)


async def _leave_after_ack(
    client: AsyncWebClient,
    context: AsyncBoltContext,
    leave_policy: LeavePolicy,
    rejoin_offers: RejoinOffers,
    user_id: str,
    response_url: str | None,
    channel_ids: Sequence[str],
) -> None:
    rejoin_offers.warm_up(len(channel_ids))
    async with answer_failures_after_ack(client, user_id, response_url):
        rights = await leave_policy.rights(
            client, user_id, channel_ids, installation_org(context), installation_team(context)
        )
        if rights.error is not None:
            text = leave_check_failed_text(rights.error, rights.failed_method or "", channel_ids)
            await reply_privately(client, user_id, response_url, {"text": text})
            return
        outcome = await leave_channels(client, channel_ids, refused=rights.refused, known_private=rights.private)
        offer = await rejoin_offers.issue(outcome, user_id, leave_summary_text(outcome))
        await deliver_leave_summary(client, user_id, response_url, outcome, offer)
