"""The Rejoin button on a leave summary: ack, then bring the app back into the public channels it just left."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.errors import answer_failures_after_ack
from listeners.payload import user_id_of
from services.app_services import AppServices
from services.delivery import reply_privately
from services.rejoin import join_channels
from services.ui.rejoin import (
    REJOIN_BUSY,
    REJOIN_NOT_YOURS,
    REJOIN_UNKNOWN,
    offer_summary,
    rejoin_done_message,
    rejoin_expired_message,
    rejoin_running_message,
)


async def rejoin_pressed(
    ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    user_id = user_id_of(body)
    response_url = body.get("response_url") if isinstance(body.get("response_url"), str) else None
    value = action.get("value")
    services = AppServices.of(context)
    async with answer_failures_after_ack(client, user_id, response_url):
        offer = await services.rejoins.find(value) if isinstance(value, str) and value else None
        if offer is None:
            await reply_privately(client, user_id, response_url, {"text": REJOIN_UNKNOWN, "replace_original": False})
            return
        if offer.user_id != user_id:
            await reply_privately(client, user_id, response_url, {"text": REJOIN_NOT_YOURS, "replace_original": False})
            return
        summary = offer_summary(offer)
        if offer.expired(datetime.now(UTC)):
            await reply_privately(client, user_id, response_url, rejoin_expired_message(summary, context.bot_user_id))
            return
        if not await services.rejoins.claim(offer):
            await reply_privately(client, user_id, response_url, {"text": REJOIN_BUSY, "replace_original": False})
            return
        try:
            if offer.public_ids:
                running = rejoin_running_message(summary, len(offer.public_ids))
                await reply_privately(client, user_id, response_url, running)
            results = await join_channels(client, offer.public_ids)
        finally:
            await services.rejoins.release(offer)
        done = rejoin_done_message(summary, results, offer.private_in_order, context.bot_user_id, value)
        await reply_privately(client, user_id, response_url, done)
