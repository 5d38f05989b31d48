from slack_bolt.async_app import AsyncApp

from listeners.actions.disconnect_channel import disconnect_channel_chosen
from services.ui.disconnect import CHANNEL_ACTION


def register(app: AsyncApp) -> None:
    app.action(CHANNEL_ACTION)(disconnect_channel_chosen)
