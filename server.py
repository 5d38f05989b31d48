"""Bolt and aiohttp wiring: the AsyncApp, its authorization, the HTTP endpoints and Socket Mode."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from services.app_services import AppServices
from services.identity import BotIdentity
from services.settings import Settings

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1024 * 1024


def create_bolt_app(
    settings: Settings, client: AsyncWebClient, identity: BotIdentity, services: AppServices
) -> AsyncApp:
    """An AsyncApp authorised by the bot token checked at start-up: no auth.test before any ack."""

    async def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None, **_) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id or identity.enterprise_id,
            team_id=team_id or identity.team_id,
            user_id=user_id,
            bot_user_id=identity.user_id,
            bot_id=identity.bot_id,
            bot_token=settings.bot_token,
        )

    app = AsyncApp(
        client=client,
        signing_secret=settings.signing_secret,
        authorize=authorize,
        request_verification_enabled=settings.signing_secret is not None,
        logger=logging.getLogger("slack_bolt.App"),
    )

    @app.middleware
    async def provide_services(context, next) -> None:
        context[AppServices.CONTEXT_KEY] = services
        await next()

    return app


async def _health(_: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def build_web_app(app: AsyncApp | None) -> web.Application:
    """POST /slack/events (when an app is given) and GET /healthz."""
    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app.router.add_get(HEALTH_PATH, _health)
    if app is not None:

        async def events(request: web.Request) -> web.Response:
            raw = await request.read()
            try:
                body = raw.decode("utf-8")
            except UnicodeDecodeError:
                return web.Response(status=400, text="The request body is not UTF-8.")
            bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
            return await to_aiohttp_response(await app.async_dispatch(bolt_request))

        web_app.router.add_post(EVENTS_PATH, events)
    return web_app


async def start_http(app: AsyncApp | None, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve on host:port (0 for a free port); returns the runner and the bound port."""
    runner = web.AppRunner(build_web_app(app), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, bound


async def connect_socket_mode(app: AsyncApp, app_token: str):
    """Open Bolt's async Socket Mode connection (aiohttp); returns the handler, to close on shutdown."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()
    return handler


async def serve_forever(app: AsyncApp, settings: Settings) -> None:
    """HTTP mode, or Socket Mode when an app-level token is set (with /healthz still served on PORT)."""
    if settings.app_token is not None:
        runner, port = await start_http(None, "0.0.0.0", settings.port)
        handler = await connect_socket_mode(app, settings.app_token)
        logger.info("Socket Mode: connected to Slack; health check on port %s", port)
    else:
        handler = None
        runner, port = await start_http(app, "0.0.0.0", settings.port)
        logger.info("HTTP mode: listening on port %s (POST %s, GET %s)", port, EVENTS_PATH, HEALTH_PATH)
    try:
        await asyncio.Event().wait()
    finally:
        if handler is not None:
            await handler.close_async()
        await runner.cleanup()
