"""Getting a private answer to the user: the command's response_url first, a DM when it is not usable.

A message that must outlive the ephemeral reply (a leave summary's Rejoin button) is also posted as a DM from the
app, a normal message in the app's Messages tab: it survives a reload and shows on every device.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from services.error_texts import UNEXPECTED
from services.slack.outcomes import call_outcome

logger = logging.getLogger(__name__)


async def post_to_response_url(
    client: AsyncWebClient, response_url: str, message: dict[str, Any], original_ephemeral: bool = True
) -> bool:
    """POST a message to a response_url; True when Slack took it (it does not raise on HTTP errors).

    Replies are ephemeral. A message replacing a normal (non-ephemeral) message, such as the DM copy of a summary
    whose button was pressed, is sent without `response_type`: it replaces that message as it is.
    """
    webhook = AsyncWebhookClient(
        url=response_url,
        session=client.session,
        timeout=client.timeout,
        retry_handlers=client.retry_handlers,
    )
    in_place = message.get("replace_original") is True and not original_ephemeral
    body = message if in_place else {"response_type": "ephemeral", **message}
    try:
        response = await webhook.send_dict(body)
    except Exception as e:  # noqa: BLE001 - any failure means "use the fallback"
        logger.warning("Posting to the response URL failed: %s", type(e).__name__)
        return False
    if response.status_code != 200:
        logger.warning("The response URL answered HTTP %s", response.status_code)
        return False
    return True


async def post_direct_message(client: AsyncWebClient, user_id: str, message: dict[str, Any]) -> bool:
    """A DM from the app (chat.postMessage to the user's ID, in the app's Messages tab); True when Slack took it."""
    direct = {k: v for k, v in message.items() if k not in ("replace_original", "response_type")}
    _, error = await call_outcome(client.chat_postMessage(channel=user_id, **direct))
    if error is not None:
        logger.warning("Could not post a DM to user %s: %s", user_id, error)
        return False
    return True


async def reply_privately(
    client: AsyncWebClient,
    user_id: str,
    response_url: str | None,
    message: dict[str, Any],
    original_ephemeral: bool = True,
) -> None:
    """Ephemeral reply through the response_url; otherwise a DM from the app (chat.postMessage to the user).

    With `replace_original` in the message, the response_url replaces the message a button was pressed in
    (`original_ephemeral` False when that message is a normal one).
    """
    if response_url and await post_to_response_url(client, response_url, message, original_ephemeral):
        return
    if await post_direct_message(client, user_id, message):
        return
    logger.error("Could not reach user %s by response URL or DM", user_id)


async def reply_beside_copy(
    client: AsyncWebClient, user_id: str, response_url: str | None, message: dict[str, Any], copy_posted: bool
) -> None:
    """The ephemeral reply to a message whose DM copy was just attempted (post_direct_message).

    Never a second DM: when the response URL can't be used, a posted copy is the reply, and a DM that has just
    failed (or hung: it may have arrived) is not tried again.
    """
    if response_url and await post_to_response_url(client, response_url, message):
        return
    if copy_posted:
        return
    logger.error("Could not reach user %s by response URL or DM", user_id)


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
