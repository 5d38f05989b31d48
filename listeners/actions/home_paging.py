"""The Home tab's paging buttons: the audit log's "Load older" and "Back to newest", the offboarding jobs' "Earlier
jobs" and "Next jobs"."""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.payload import installation_org, user_id_of
from services.audit.home import HomeTab, publish_home
from services.ui.home import OLDER_ACTION
from services.ui.home_jobs import page_offset


async def audit_page_requested(
    ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient, context: AsyncBoltContext, home_tab: HomeTab
) -> None:
    await ack()
    user_id = user_id_of(body)
    if not user_id:
        return
    value = action.get("value")
    # The button carries an audit row ID; anything else (a forged value: "²", 5,000 digits) shows the newest page.
    text = str(value)
    before = (
        int(text)
        if action.get("action_id") == OLDER_ACTION and text.isascii() and text.isdigit() and len(text) < 19
        else None
    )
    view = await home_tab.view(client, user_id, installation_org(context), context.team_id, before)
    await publish_home(client, user_id, view)


async def jobs_page_requested(
    ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient, context: AsyncBoltContext, home_tab: HomeTab
) -> None:
    """Another page of the org's running offboardings (the button's value is its offset); the audit log's newest."""
    await ack()
    user_id = user_id_of(body)
    if not user_id:
        return
    offset = page_offset(action.get("value"))
    view = await home_tab.view(client, user_id, installation_org(context), context.team_id, jobs_offset=offset)
    await publish_home(client, user_id, view)
