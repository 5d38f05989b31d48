from slack_bolt.async_app import AsyncApp

from listeners.events.app_home import app_home_opened
from listeners.events.revoked import app_uninstalled, tokens_revoked


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(app_home_opened)
    if app.installation_store is None:  # a pasted bot token: with OAuth, Bolt's own listeners delete the install
        app.event("app_uninstalled")(app_uninstalled)
        app.event("tokens_revoked")(tokens_revoked)
