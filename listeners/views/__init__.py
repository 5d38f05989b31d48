from slack_bolt.async_app import AsyncApp

from listeners.views.disconnect import disconnect_confirm_submission, disconnect_form_submission
from listeners.views.leave_pick import leave_pick_submission
from listeners.views.offboard import offboard_confirm_submission, offboard_plan_submission, offboard_start_submission
from listeners.views.partners import everything_confirm_submission
from services.ui.disconnect import CONFIRM_CALLBACK, FORM_CALLBACK
from services.ui.leave import LEAVE_PICK_CALLBACK
from services.ui.offboarding import CONFIRM_CALLBACK as OFFBOARD_CONFIRM_CALLBACK
from services.ui.offboarding import PLAN_CALLBACK as OFFBOARD_PLAN_CALLBACK
from services.ui.offboarding import START_CALLBACK as OFFBOARD_START_CALLBACK
from services.ui.partners import EVERYTHING_CONFIRM_CALLBACK


def register(app: AsyncApp) -> None:
    app.view(LEAVE_PICK_CALLBACK)(leave_pick_submission)
    app.view(FORM_CALLBACK)(disconnect_form_submission)
    app.view(CONFIRM_CALLBACK)(disconnect_confirm_submission)
    app.view(OFFBOARD_START_CALLBACK)(offboard_start_submission)
    app.view(OFFBOARD_PLAN_CALLBACK)(offboard_plan_submission)
    app.view(OFFBOARD_CONFIRM_CALLBACK)(offboard_confirm_submission)
    app.view(EVERYTHING_CONFIRM_CALLBACK)(everything_confirm_submission)
