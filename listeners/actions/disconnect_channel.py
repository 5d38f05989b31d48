"""In the /disconnect-shared form, choosing another channel reloads the workspaces to choose from."""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.command_text import channel_id_of
from listeners.payload import dry_run_chosen, installation_org, user_id_of
from services.disconnecting.admins import AdminPolicy
from services.disconnecting.shared_channels import describe_shared_channel
from services.slack.outcomes import call_outcome
from services.ui.disconnect import FormMetadata, form_modal


async def disconnect_channel_chosen(
    ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient, context: AsyncBoltContext, admins: AdminPolicy
) -> None:
    await ack()
    view = body.get("view")
    selected = action.get("selected_conversation")
    if not isinstance(view, dict) or not isinstance(selected, str):
        return
    channel_id = channel_id_of(selected)
    previous = FormMetadata.decode(view.get("private_metadata"))
    org = installation_org(context)
    # Only someone who may disconnect learns what a channel is shared with (a forged action gets nothing).
    if not (await admins.check(client, user_id_of(body), org)).allowed:
        return
    shared = (
        await describe_shared_channel(client, channel_id, org, context.team_id, name_orgs=True) if channel_id else None
    )
    metadata = FormMetadata.for_channel(previous.response_url, shared).encode()
    # The hash makes Slack refuse this update if the form changed meanwhile (a newer choice wins).
    await call_outcome(
        client.views_update(
            view_id=view.get("id"),
            hash=view.get("hash"),
            view=form_modal(channel_id, shared, (), metadata, dry_run=dry_run_chosen(view)),
        )
    )
