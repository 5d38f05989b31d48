"""The last resort: an unexpected error still ends in a sentence the user can act on."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from listeners.payload import user_id_of
from services.error_texts import UNEXPECTED
from services.slack.delivery import reply_privately

logger = logging.getLogger(__name__)


@asynccontextmanager
async def answer_failures_after_ack(
    client: AsyncWebClient, user_id: str, response_url: str | None
) -> AsyncIterator[None]:
    """Work after the ack that fails unexpectedly is logged and answered here.

    Bolt's own error path can undo an ack that happened moments before the failure (the request then waits
    out Slack's 3 seconds), so failures after the ack never reach it.
    """
    try:
        yield
    except Exception:
        logger.exception("Unexpected error after the ack")
        await reply_privately(client, user_id, response_url, {"text": UNEXPECTED})


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
