from slack_bolt.async_app import AsyncApp

from listeners.views.disconnect import disconnect_confirm_submission, disconnect_form_submission
from listeners.views.leave_pick import leave_pick_submission
from services.ui.disconnect import CONFIRM_CALLBACK, FORM_CALLBACK
from services.ui.leave import LEAVE_PICK_CALLBACK


def register(app: AsyncApp) -> None:
    app.view(LEAVE_PICK_CALLBACK)(leave_pick_submission)
    app.view(FORM_CALLBACK)(disconnect_form_submission)
    app.view(CONFIRM_CALLBACK)(disconnect_confirm_submission)
