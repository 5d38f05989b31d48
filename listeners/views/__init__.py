from slack_bolt.async_app import AsyncApp

from listeners.views.leave_pick import leave_pick_submission
from services.ui.leave import LEAVE_PICK_CALLBACK


def register(app: AsyncApp) -> None:
    app.view(LEAVE_PICK_CALLBACK)(leave_pick_submission)
