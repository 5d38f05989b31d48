from slack_bolt.async_app import AsyncApp

from listeners.events.app_home import app_home_opened


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(app_home_opened)
