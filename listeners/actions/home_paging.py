"""The Home tab's audit paging buttons: "Load older" and "Back to newest"."""

from __future__ import annotations

import logging

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from services.app_services import AppServices
from services.home import home_view, publish_home
from services.ui.home import OLDER_ACTION

logger = logging.getLogger(__name__)


async def audit_page_requested(
    ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    if not isinstance(user_id, str) or not user_id:
        return
    value = action.get("value")
    before = int(value) if action.get("action_id") == OLDER_ACTION and str(value).isdigit() else None
    services = AppServices.of(context)
    view = await home_view(services, client, user_id, context.enterprise_id, context.team_id, before)
    error = await publish_home(client, user_id, view)
    if error is not None:
        logger.warning("views.publish for the Home tab failed: %s", error)
