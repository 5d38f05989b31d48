"""The "pick channels" modal's submission: show progress in the modal, leave, then report."""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.errors import answer_failures_after_ack
from listeners.payload import user_id_of
from services.app_services import AppServices
from services.command_text import channel_id_of
from services.delivery import post_direct_message, reply_beside_copy, reply_privately
from services.leave import leave_channels
from services.progress import ModalProgress
from services.ui.leave import (
    LEAVE_PICK_ACTION,
    LEAVE_PICK_BLOCK,
    leave_progress_modal,
    leave_result_modal,
    leave_summary_message,
    leave_summary_text,
    read_private_metadata,
)


def selected_channels(view: dict) -> list[str]:
    """The chosen conversation IDs, read defensively from the submitted state."""
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    block = values.get(LEAVE_PICK_BLOCK) if isinstance(values, dict) else None
    element = block.get(LEAVE_PICK_ACTION) if isinstance(block, dict) else None
    chosen = element.get("selected_conversations") if isinstance(element, dict) else None
    ids: list[str] = []
    for value in chosen if isinstance(chosen, list) else []:
        channel_id = channel_id_of(value) if isinstance(value, str) else None
        if channel_id and channel_id not in ids:
            ids.append(channel_id)
    return ids


async def leave_pick_submission(
    ack: AsyncAck, body: dict, view: dict, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    channel_ids = selected_channels(view)
    if not channel_ids:
        await ack(response_action="errors", errors={LEAVE_PICK_BLOCK: "Choose at least one channel."})
        return
    await ack(response_action="update", view=leave_progress_modal(0, len(channel_ids)))

    metadata = read_private_metadata(view.get("private_metadata"))
    user_id = user_id_of(body) or metadata["user_id"] or ""
    services = AppServices.of(context)
    services.rejoins.warm_up(len(channel_ids))
    response_url = metadata["response_url"]
    async with answer_failures_after_ack(client, user_id, response_url):
        progress = ModalProgress(client, view.get("id"), leave_progress_modal)
        outcome = await leave_channels(client, channel_ids, on_progress=progress.update)
        offer = await services.rejoins.issue(outcome, user_id, leave_summary_text(outcome))
        if offer is None:
            await progress.finish(leave_result_modal(outcome))
            await reply_privately(client, user_id, response_url, leave_summary_message(outcome))
            return
        # The lasting copy first (a DM survives a reload), so the modal and the reply can say truly whether it exists.
        posted = await post_direct_message(client, user_id, leave_summary_message(outcome, offer))
        # With no response URL the DM is the summary itself, not a copy of it.
        await progress.finish(leave_result_modal(outcome, offer, lasting_copy=posted and bool(response_url)))
        await reply_beside_copy(client, user_id, response_url, leave_summary_message(outcome, offer, posted), posted)
