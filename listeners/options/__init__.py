from slack_bolt.async_app import AsyncApp

from listeners.options.offboard import offboard_keep_options
from services.ui.offboarding import KEEP_ACTION as OFFBOARD_KEEP_ACTION


def register(app: AsyncApp) -> None:
    # block_suggestion: a multi_external_select asks for its options as the user types
    # (https://docs.slack.dev/reference/block-kit/block-elements/multi-select-menu-element#external_multi_select).
    app.options(OFFBOARD_KEEP_ACTION)(offboard_keep_options)
