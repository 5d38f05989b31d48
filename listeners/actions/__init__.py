from slack_bolt.async_app import AsyncApp

from listeners.actions.audit_export import audit_export_requested
from listeners.actions.disconnect_channel import disconnect_channel_chosen
from listeners.actions.home_paging import audit_page_requested, jobs_page_requested
from listeners.actions.offboard import everything_cancel_pressed, offboard_cancel_pressed, offboard_open_pressed
from listeners.actions.partners import directory_page_requested, everything_pressed, partner_offboard_pressed
from listeners.actions.rejoin import rejoin_pressed
from services.ui.disconnect import CHANNEL_ACTION
from services.ui.home import EXPORT_ACTION, NEWEST_ACTION, OLDER_ACTION
from services.ui.home_jobs import JOBS_EARLIER_ACTION, JOBS_NEXT_ACTION
from services.ui.offboarding import CANCEL_ACTION as OFFBOARD_CANCEL_ACTION
from services.ui.offboarding import HOME_OPEN_ACTION as OFFBOARD_OPEN_ACTION
from services.ui.partners import (
    DIRECTORY_FIRST_ACTION,
    DIRECTORY_NEXT_ACTION,
    EVERYTHING_ACTION,
    EVERYTHING_CANCEL_ACTION,
    PARTNER_OFFBOARD_ACTION,
)
from services.ui.rejoin import REJOIN_ACTION


def register(app: AsyncApp) -> None:
    app.action(CHANNEL_ACTION)(disconnect_channel_chosen)
    app.action(REJOIN_ACTION)(rejoin_pressed)
    app.action(OLDER_ACTION)(audit_page_requested)
    app.action(NEWEST_ACTION)(audit_page_requested)
    app.action(EXPORT_ACTION)(audit_export_requested)
    app.action(OFFBOARD_OPEN_ACTION)(offboard_open_pressed)
    app.action(OFFBOARD_CANCEL_ACTION)(offboard_cancel_pressed)
    app.action(JOBS_EARLIER_ACTION)(jobs_page_requested)
    app.action(JOBS_NEXT_ACTION)(jobs_page_requested)
    app.action(DIRECTORY_NEXT_ACTION)(directory_page_requested)
    app.action(DIRECTORY_FIRST_ACTION)(directory_page_requested)
    app.action(PARTNER_OFFBOARD_ACTION)(partner_offboard_pressed)
    app.action(EVERYTHING_ACTION)(everything_pressed)
    app.action(EVERYTHING_CANCEL_ACTION)(everything_cancel_pressed)
