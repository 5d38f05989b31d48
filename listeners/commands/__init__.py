from slack_bolt.async_app import AsyncApp

from listeners.commands.disconnect_shared import disconnect_shared_command
from listeners.commands.leave_channel import leave_channel_command


def register(app: AsyncApp) -> None:
    app.command("/leave-channel")(leave_channel_command)
    app.command("/disconnect-shared")(disconnect_shared_command)
