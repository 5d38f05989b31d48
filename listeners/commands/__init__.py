from slack_bolt.async_app import AsyncApp

from listeners.commands.leave_channel import leave_channel_command


def register(app: AsyncApp) -> None:
    app.command("/leave-channel")(leave_channel_command)
