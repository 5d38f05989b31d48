"""The Rejoin button on a leave summary: ack, then bring the app back into the public channels it just left.

The button is in two places, with the same value: the ephemeral summary and its lasting copy in the app's DM with
the user. Either press is answered through its own response_url, rewriting the message it was pressed in.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.errors import answer_failures_after_ack
from listeners.payload import installation_org, user_id_of
from services.leaving.offers import RejoinOffer, RejoinOffers
from services.leaving.rejoin import join_channels, privacy_from_joins
from services.leaving.rejoin_jobs import RejoinJobs
from services.leaving.workflow import send_list
from services.slack.delivery import reply_privately
from services.storage.handled_requests import HandledRequests
from services.ui.rejoin import (
    REJOIN_BUSY,
    REJOIN_NOT_YOURS,
    REJOIN_UNKNOWN,
    offer_summary,
    rejoin_done_message,
    rejoin_expired_message,
    rejoin_list_file,
    rejoin_running_message,
)

logger = logging.getLogger(__name__)


def pressed_in_ephemeral(body: dict) -> bool:
    """Whether the button was in an ephemeral message: Slack says `container.is_ephemeral`; unsaid means yes."""
    container = body.get("container")
    return not (isinstance(container, dict) and container.get("is_ephemeral") is False)


async def rejoin_pressed(
    ack: AsyncAck,
    body: dict,
    action: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    handled_requests: HandledRequests,
    rejoin_offers: RejoinOffers,
    rejoin_jobs: RejoinJobs,
) -> None:
    await ack()
    user_id = user_id_of(body)
    response_url = body.get("response_url") if isinstance(body.get("response_url"), str) else None
    ephemeral = pressed_in_ephemeral(body)
    value = action.get("value")

    async def answer(message: dict) -> None:
        await reply_privately(client, user_id, response_url, message, original_ephemeral=ephemeral)

    async with answer_failures_after_ack(client, user_id, response_url):
        # Each press has its own action_ts; the same press again is a replay (on any instance): nothing twice.
        if not await handled_requests.first_time(f"rejoin:{action.get('action_ts')}:{user_id}:{value}"):
            return
        offer = await rejoin_offers.find(value) if isinstance(value, str) and value else None
        if offer is None:
            await answer({"text": REJOIN_UNKNOWN, "replace_original": False})
            return
        if offer.user_id != user_id:
            await answer({"text": REJOIN_NOT_YOURS, "replace_original": False})
            return
        summary = offer_summary(offer)
        if offer.expired(datetime.now(UTC)):
            await answer(rejoin_expired_message(summary, offer.expires_at, context.bot_user_id))
            return
        if offer.public_ids:
            # A job (one per offer) is the claim: it outlives this process, and a press while it runs is told so.
            queued = await _submitted(rejoin_jobs, offer, str(value), context, user_id, response_url, ephemeral)
            if queued is not None:
                if not queued:
                    await answer({"text": REJOIN_BUSY, "replace_original": False})
                return
        if not await rejoin_offers.claim(offer):
            await answer({"text": REJOIN_BUSY, "replace_original": False})
            return
        try:
            if offer.public_ids:
                await answer(rejoin_running_message(summary, len(offer.public_ids)))
            results = await join_channels(client, offer.public_ids)
        finally:
            await rejoin_offers.release(offer)
        results, private = privacy_from_joins(results, offer.private_in_order, offer.unknown_ids)
        bot_user_id = context.bot_user_id
        full_list = await send_list(client, user_id, rejoin_list_file(results, private, bot_user_id, offer.expires_at))
        await answer(
            rejoin_done_message(summary, results, private, bot_user_id, str(value), offer.expires_at, full_list)
        )


async def _submitted(
    rejoin_jobs: RejoinJobs,
    offer: RejoinOffer,
    value: str,
    context: AsyncBoltContext,
    user_id: str,
    response_url: str | None,
    ephemeral: bool,
) -> bool | None:
    """True: the rejoin is a job now; False: an earlier press's job is at it; None: the database can't take it."""
    try:
        return await rejoin_jobs.submit(
            offer,
            value,
            user_id=user_id,
            enterprise_id=installation_org(context),
            team_id=context.team_id,
            is_enterprise_install=bool(context.is_enterprise_install),
            response_url=response_url,
            ephemeral=ephemeral,
            bot_user_id=context.bot_user_id,
        )
    except Exception:  # the database is down: rejoin in this process, as before jobs
        logger.warning("Could not store a rejoin job; rejoining in this process", exc_info=True)
        return None
