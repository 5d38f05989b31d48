"""Getting a private answer to the user: the command's response_url first, a DM when it is not usable."""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from services.api_calls import call_outcome

logger = logging.getLogger(__name__)


class Delivered(Enum):
    RESPONSE_URL = "response_url"
    DIRECT_MESSAGE = "direct_message"
    NOT_DELIVERED = "not_delivered"


async def post_to_response_url(client: AsyncWebClient, response_url: str, message: dict[str, Any]) -> bool:
    """POST an ephemeral message to a response_url; True when Slack took it (it does not raise on HTTP errors)."""
    webhook = AsyncWebhookClient(
        url=response_url,
        session=client.session,
        timeout=client.timeout,
        retry_handlers=client.retry_handlers,
    )
    try:
        response = await webhook.send_dict({"response_type": "ephemeral", **message})
    except Exception as e:  # noqa: BLE001 - any failure means "use the fallback"
        logger.warning("Posting to the response URL failed: %s", type(e).__name__)
        return False
    if response.status_code != 200:
        logger.warning("The response URL answered HTTP %s", response.status_code)
        return False
    return True


async def reply_privately(
    client: AsyncWebClient, user_id: str, response_url: str | None, message: dict[str, Any]
) -> Delivered:
    """Ephemeral reply through the response_url; otherwise a DM from the app (chat.postMessage to the user).

    With `replace_original` in the message, the response_url replaces the message a button was pressed in.
    """
    if response_url and await post_to_response_url(client, response_url, message):
        return Delivered.RESPONSE_URL
    direct = {k: v for k, v in message.items() if k != "replace_original"}
    _, error = await call_outcome(client.chat_postMessage(channel=user_id, **direct))
    if error is None:
        return Delivered.DIRECT_MESSAGE
    logger.error("Could not reach user %s by response URL or DM: %s", user_id, error)
    return Delivered.NOT_DELIVERED
