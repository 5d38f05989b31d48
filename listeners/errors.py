"""The last resort: an unexpected error still ends in a sentence the user can act on."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from listeners.payload import user_id_of
from services.error_texts import UNEXPECTED
from services.slack.delivery import answer_failures_after_ack, reply_privately

logger = logging.getLogger(__name__)

__all__ = ["UNEXPECTED", "answer_failures_after_ack", "register", "unexpected_error"]


async def unexpected_error(error: Exception, body: dict, client: AsyncWebClient) -> None:
    """Bolt's error handler, for failures before the ack."""
    logger.error("Unexpected error in a listener", exc_info=error)
    if not isinstance(body, dict):
        return
    user_id = user_id_of(body)
    response_url = body.get("response_url")
    if user_id:
        url = response_url if isinstance(response_url, str) else None
        await reply_privately(client, user_id, url, {"text": UNEXPECTED})


def register(app: AsyncApp) -> None:
    app.error(unexpected_error)
