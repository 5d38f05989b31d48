"""A file in the app's DM with a user (files.uploadV2): where a list too long for any message goes.

slack_sdk's `files_upload_v2` makes the three calls Slack's upload takes
(slack_sdk/web/async_client.py, `files_upload_v2`): files.getUploadURLExternal
(https://docs.slack.dev/reference/methods/files.getUploadURLExternal), a POST of the bytes to the `upload_url` it
returns, and files.completeUploadExternal (https://docs.slack.dev/reference/methods/files.completeUploadExternal),
which shares the file in `channel_id`. That argument takes a conversation ID only — "input must match regex pattern:
^[CGDZ][A-Z0-9]{8,}$ [json-pointer:/channel_id]" for a user ID (slackapi/bolt-js#2115, slackapi/node-slack-sdk#1653;
unlike chat.postMessage, which takes a user ID) — so the DM is opened first with conversations.open
(https://docs.slack.dev/reference/methods/conversations.open; bot scope `im:write`, the `needed` scope Slack names
for it in slackapi/python-slack-sdk#655). The upload needs the bot scope `files:write`.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from services.slack.outcomes import call_outcome

logger = logging.getLogger(__name__)

# The scopes this needs (manifest.json, services.slack.scopes): an install from before they were asked for answers
# `missing_scope` until an admin reinstalls the app.
FILE_SCOPES = ("files:write", "im:write")


async def open_direct_message(client: AsyncWebClient, user_id: str) -> str | None:
    """The app's DM with a user (`D…`), opened if need be; None (logged) when Slack won't give it."""
    body, error = await call_outcome(client.conversations_open(users=user_id))
    channel = body.get("channel") if error is None else None
    channel_id = channel.get("id") if isinstance(channel, dict) else None
    if not isinstance(channel_id, str) or not channel_id:
        logger.warning("Could not open a DM with user %s: %s", user_id, error or "no channel in the answer")
        return None
    return channel_id


async def send_file_to_user(
    client: AsyncWebClient, user_id: str, *, filename: str, content: str, title: str, initial_comment: str
) -> bool:
    """Upload `content` as a file into the app's DM with `user_id`, introduced by `initial_comment`.

    True when Slack shared it; False, with the reason logged (an error code or the failing step, never a token or a
    URL), when it didn't: a missing scope, a user the app can't DM, an upload Slack refused or couldn't be reached.
    """
    channel_id = await open_direct_message(client, user_id)
    if channel_id is None:
        return False
    try:
        body, error = await call_outcome(
            client.files_upload_v2(
                channel=channel_id,
                filename=filename,
                content=content,
                title=title,
                initial_comment=initial_comment,
            )
        )
    except SlackRequestError:  # the POST to the upload URL was refused (its status is in the text: not logged whole)
        logger.warning("Could not upload %s for user %s: the upload URL refused the file", filename, user_id)
        return False
    except Exception as e:  # noqa: BLE001 - an answer slack_sdk can't read: the summary still goes, saying so
        logger.warning("Could not upload %s for user %s: %s", filename, user_id, type(e).__name__)
        return False
    if error is not None:
        logger.warning("Could not upload %s for user %s: %s", filename, user_id, error)
        return False
    if not body.get("files"):
        logger.warning("Could not upload %s for user %s: Slack shared no file", filename, user_id)
        return False
    return True
