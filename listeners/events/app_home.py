"""The Home tab: published each time someone opens it (Bolt acks events before this runs)."""

from __future__ import annotations

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.payload import installation_org
from services.audit.home import HomeTab, publish_home


async def app_home_opened(event: dict, client: AsyncWebClient, context: AsyncBoltContext, home_tab: HomeTab) -> None:
    user_id = event.get("user")
    if event.get("tab") != "home" or not isinstance(user_id, str) or not user_id:
        return  # the Messages tab, or nobody to show it to
    view = await home_tab.view(client, user_id, installation_org(context), context.team_id)
    await publish_home(client, user_id, view)
