"""/disconnect-shared: declared in the manifest; until it is built, say so instead of letting Slack time out."""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck

NOT_YET = (
    "`/disconnect-shared` isn't available in this version of the app yet. "
    "Disconnect the workspace from the channel's settings in Slack's admin dashboard for now."
)


async def disconnect_shared_command(ack: AsyncAck) -> None:
    await ack(text=NOT_YET, response_type="ephemeral")
