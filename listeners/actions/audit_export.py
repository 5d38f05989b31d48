"""The Home tab's "Export as CSV": the audit log of the presser's org, as a file in their DM (services.audit.home_export)."""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.payload import installation_org, user_id_of
from services.audit.home_export import HomeExports


async def audit_export_requested(
    ack: AsyncAck, body: dict, client: AsyncWebClient, context: AsyncBoltContext, home_exports: HomeExports
) -> None:
    await ack()
    # Who and which org come from what Slack signed; the button's value is never read.
    await home_exports.request(client, user_id_of(body), installation_org(context), context.team_id)
