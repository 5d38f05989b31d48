"""Composition only: settings → client → app → listeners → start."""

from __future__ import annotations

import asyncio
import sys

from slack_bolt.async_app import AsyncApp

from listeners import register_listeners
from server import create_bolt_app, serve_forever
from services.identity import StartupError, identify_bot
from services.log_redaction import configure_logging
from services.pacing import Pacer
from services.settings import Settings, SettingsError, load_settings
from services.slack_client import build_web_client


async def build_app(settings: Settings) -> AsyncApp:
    """Build the app inside the running loop; checks the bot token with Slack once."""
    client = build_web_client(None, settings.api_url, settings.api_timeout, Pacer())
    try:
        identity = await identify_bot(client, settings.bot_token, settings.api_url)
    except StartupError:
        await client.session.close()
        raise
    app = create_bolt_app(settings, client, identity)
    register_listeners(app)
    return app


async def run(settings: Settings) -> None:
    app = await build_app(settings)
    try:
        await serve_forever(app, settings)
    finally:
        await app.client.session.close()


def main() -> None:
    try:
        settings = load_settings()
    except SettingsError as e:
        sys.exit(f"Configuration error: {e}")
    configure_logging(settings.log_level, settings.secrets())
    try:
        asyncio.run(run(settings))
    except StartupError as e:
        sys.exit(f"Start-up error: {e}")
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
