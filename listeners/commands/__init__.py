from slack_bolt.async_app import AsyncApp

from listeners.commands.disconnect_shared import disconnect_shared_command
from listeners.commands.leave_channel import leave_channel_command
from listeners.commands.offboard import is_offboard, offboard_command


def register(app: AsyncApp) -> None:
    app.command("/leave-channel")(leave_channel_command)
    # `/disconnect-shared all <org>` first: Bolt runs the first listener whose matchers accept the request.
    app.command("/disconnect-shared", matchers=[is_offboard])(offboard_command)
    app.command("/disconnect-shared")(disconnect_shared_command)
