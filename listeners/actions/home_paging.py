"""The Home tab's audit paging buttons: "Load older" and "Back to newest"."""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.payload import installation_org, user_id_of
from services.app_services import AppServices
from services.audit.home import home_view, publish_home
from services.ui.home import OLDER_ACTION


async def audit_page_requested(
    ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    user_id = user_id_of(body)
    if not user_id:
        return
    value = action.get("value")
    before = int(str(value)) if action.get("action_id") == OLDER_ACTION and str(value).isdigit() else None
    services = AppServices.of(context)
    view = await home_view(services, client, user_id, installation_org(context), context.team_id, before)
    await publish_home(client, user_id, view)
