"""Composition only: settings → clients → app → listeners → start."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp

from listeners import register_listeners
from server import create_bolt_app, serve_forever
from services.admins import AdminPolicy
from services.app_services import AppServices
from services.audit import AuditLog
from services.identity import StartupError, identify_bot
from services.log_redaction import configure_logging
from services.pacing import Pacer
from services.settings import Settings, SettingsError, load_settings
from services.slack_client import build_web_client


@dataclass
class BuiltApp:
    bolt: AsyncApp
    services: AppServices

    async def close(self) -> None:
        await self.services.audit.close()
        await self.bolt.client.session.close()


async def build_app(settings: Settings) -> BuiltApp:
    """Build the app inside the running loop; checks the bot token with Slack once."""
    client = build_web_client(None, settings.api_url, settings.api_timeout, Pacer())
    try:
        identity = await identify_bot(client, settings.bot_token, settings.api_url)
    except StartupError:
        await client.session.close()
        raise
    services = AppServices(
        admins=AdminPolicy(settings.admin_user_ids),
        audit=AuditLog(settings.database_url),
        admin_token=settings.admin_token,
    )
    app = create_bolt_app(settings, client, identity, services)
    register_listeners(app)
    return BuiltApp(app, services)


async def run(settings: Settings) -> None:
    built = await build_app(settings)
    try:
        await serve_forever(built.bolt, settings)
    finally:
        await built.close()


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
