"""The "pick channels" modal's submission: show progress in the modal, leave, then report."""

from __future__ import annotations

import logging

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.errors import answer_failures_after_ack
from listeners.leave_jobs import submitted
from listeners.payload import installation_org, installation_team, picked_channels, user_id_of
from services.leaving.leave import leave_channels
from services.leaving.offers import RejoinOffers
from services.leaving.policy import MAX_LEAVE_CHANNELS, LeavePolicy
from services.leaving.workflow import LeaveJobs, deliver_leave_summary
from services.slack.delivery import reply_privately
from services.slack.progress import ModalProgress
from services.storage.handled_requests import HandledRequests
from services.ui.leave import (
    LEAVE_PICK_BLOCK,
    PickMetadata,
    leave_check_failed_text,
    leave_notice_modal,
    leave_progress_modal,
    leave_summary_text,
    too_many_picked_text,
)

logger = logging.getLogger(__name__)


async def leave_pick_submission(
    ack: AsyncAck,
    body: dict,
    view: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    leave_policy: LeavePolicy,
    leave_jobs: LeaveJobs,
    rejoin_offers: RejoinOffers,
    handled_requests: HandledRequests,
) -> None:
    channel_ids = picked_channels(view)
    if not channel_ids:
        await ack(response_action="errors", errors={LEAVE_PICK_BLOCK: "Choose at least one channel."})
        return
    if len(channel_ids) > MAX_LEAVE_CHANNELS:  # the select allows no more; a payload that has more is refused
        await ack(response_action="errors", errors={LEAVE_PICK_BLOCK: too_many_picked_text(len(channel_ids))})
        return
    await ack(response_action="update", view=leave_progress_modal(0, len(channel_ids)))

    metadata = PickMetadata.decode(view.get("private_metadata"))
    user_id = user_id_of(body) or metadata.user_id or ""
    # One submission per modal: the same view submitted again is a replay (on any instance), handled once.
    request_key = f"leave-pick:{view.get('id')}"
    if len(channel_ids) > 1:
        if await submitted(
            leave_jobs,
            channel_ids,
            context,
            user_id,
            metadata.response_url,
            view.get("id"),
            request_key=request_key,
        ):
            return
    elif not await _first_time(handled_requests, request_key):
        return
    rejoin_offers.warm_up(len(channel_ids))
    response_url = metadata.response_url
    async with answer_failures_after_ack(client, user_id, response_url):
        progress = ModalProgress(client, view.get("id"), leave_progress_modal)
        rights = await leave_policy.rights(
            client, user_id, channel_ids, installation_org(context), installation_team(context)
        )
        if rights.error is not None:
            text = leave_check_failed_text(rights.error, rights.failed_method or "", channel_ids)
            await progress.finish(leave_notice_modal(text))
            await reply_privately(client, user_id, response_url, {"text": text})
            return
        outcome = await leave_channels(
            client, channel_ids, on_progress=progress.update, refused=rights.refused, known_private=rights.private
        )
        offer = await rejoin_offers.issue(outcome, user_id, leave_summary_text(outcome))
        await deliver_leave_summary(client, user_id, response_url, outcome, offer, progress)


async def _first_time(handled_requests: HandledRequests, request_key: str) -> bool:
    """A one-channel pick seen for the first time; with the database unusable it goes ahead, as a leave of several
    channels does (listeners.leave_jobs.submitted): leaving a channel twice only finds it left."""
    try:
        return await handled_requests.first_time(request_key)
    except Exception:
        logger.warning("Could not record the pick's submission; leaving in this process", exc_info=True)
        return True
