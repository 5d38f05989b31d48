"""Bolt and aiohttp wiring: the AsyncApp, its authorization, the HTTP endpoints and Socket Mode."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from server.authorization import TOKEN_PROBLEM, StaticTokenAuthorize, StoredInstallationAuthorize
from server.operations import (
    HEALTH_PATH,
    METRICS_PATH,
    READY_PATH,
    Readiness,
    add_operations_routes,
    build_metrics_app,
)
from server.request_guard import AddressThrottle, RequestGuard, client_address
from services.settings import Settings
from services.slack.identity import BotIdentity, StartupError
from services.slack.outcomes import error_of
from services.slack.tokens import TokenKeeper
from services.telemetry import context as log_context
from services.telemetry import metrics

logger = logging.getLogger(__name__)

NOT_INSTALLED = (
    "This app isn't installed for this workspace any more (or its installation was removed), so it can't act here. "
    "Ask a Slack admin to install it again from the app's install page."
)
INSTALL_FAILED_PAGE = (
    "<html><body><h1>The installation didn't finish</h1>"
    "<p>Slack couldn't be reached to complete it, so nothing was installed. Go back to the install page and try "
    "again in a minute.</p></body></html>"
)
TOO_MANY_INSTALL_VIEWS = "Too many install page views right now. Wait a second and open the page again."
# Neither Slack's temporary code nor our state in the URL was used: reloading finishes the install (while the code lasts).
TOO_MANY_INSTALL_FINISHES = "Too many installations are finishing right now. Wait a second and reload this page."
INSTALL_PAGE_BUSY = "The install page can't be shown right now. Try again in a minute."
EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1024 * 1024


def create_bolt_app(
    settings: Settings,
    client: AsyncWebClient,
    services: Mapping[str, object],
    *,
    identity: BotIdentity | None = None,
    oauth_settings: AsyncOAuthSettings | None = None,
    token_keeper: TokenKeeper | None = None,
) -> AsyncApp:
    """The AsyncApp: one pasted bot token (checked at start-up), or OAuth installs from the database (rotating tokens
    renewed by `token_keeper`)."""
    if oauth_settings is not None:
        authorize: AsyncAuthorize = StoredInstallationAuthorize(oauth_settings.installation_store, token_keeper)
    elif settings.bot_token is not None and identity is not None:
        authorize = StaticTokenAuthorize(settings.bot_token, identity)
    else:
        raise ValueError("either OAuth settings or a checked bot token is needed")
    app = AsyncApp(
        # Bolt names an unnamed app after its caller's file, found with inspect.stack(): that reads the source of
        # every frame (about 0.1 s of start-up). The name it would find: this file's.
        name="app.py",
        client=client,
        signing_secret=settings.signing_secret,
        # Bolt takes an AsyncAuthorize (whose own __call__ may return None, as ours does for a missing install); its
        # hint names only a callable returning an AuthorizeResult.
        authorize=authorize,  # type: ignore[arg-type]
        oauth_settings=oauth_settings,
        user_facing_authorize_error_message=NOT_INSTALLED,
        request_verification_enabled=settings.signing_secret is not None,
        logger=logging.getLogger("slack_bolt.App"),
    )
    if oauth_settings is not None:
        app.enable_token_revocation_listeners()  # app_uninstalled / tokens_revoked delete the stored install

    @app.middleware
    async def provide_services(context, body, next) -> BoltResponse | None:
        # Bolt passes context entries to listeners as keyword arguments: each listener declares the services it uses.
        context.update(services)
        # Every line logged for this request, after the ack too, carries its ID, workspace and org (LOG_FORMAT=json).
        log_context.start_request(team_id=context.team_id, enterprise_id=context.enterprise_id)
        problem = context.get(TOKEN_PROBLEM)
        if problem:  # the install's token couldn't be renewed (server.authorization): say which install to redo
            return await _answer_token_problem(context, body, problem)
        await next()
        return None

    return app


async def _answer_token_problem(context, body, problem: str) -> BoltResponse:
    """A command hears the sentence in its ack; anything else with a response URL through it; the rest (events, a
    modal's submission) gets an empty 200, and the log says why."""
    logger.warning("A request was refused: its install's token couldn't be renewed")
    if isinstance(body, dict) and body.get("command"):
        return BoltResponse(status=200, body=problem)
    if context.response_url:
        await context.respond(problem)
    return BoltResponse(status=200, body="")


# Parts of an interaction payload (and the Events API envelope) that Bolt's matchers and middleware read as objects:
# another shape is a 400. Inside an event, `user` and `channel` are IDs (strings), so only the top level is checked.
_OBJECT_FIELDS = ("view", "event", "user", "team", "channel", "container", "enterprise", "message")


def _well_formed(data: object) -> bool:
    """What Bolt parsed (its own parse_body: JSON when the body starts with `{`) is an object of the shapes its
    matchers expect: a request that would make Bolt raise is the sender's fault, a 400, never a 500."""
    if not isinstance(data, dict):
        return False
    if any(data.get(k) is not None and not isinstance(data[k], dict) for k in _OBJECT_FIELDS):
        return False
    view = data.get("view")
    if isinstance(view, dict) and view.get("state") is not None and not isinstance(view["state"], dict):
        return False
    actions = data.get("actions")
    return actions is None or (isinstance(actions, list) and all(isinstance(a, dict) for a in actions))


async def _to_bolt_request(request: web.Request) -> AsyncBoltRequest | web.Response:
    """A 400 for anything that isn't a well-formed Slack request; Bolt then verifies the signature first thing.

    The body is parsed once, by Bolt's request (it used to be parsed here first, then again by Bolt)."""
    raw = await request.read()
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return web.Response(status=400, text="The request body is not UTF-8.")
    try:
        # aiohttp's headers are the read-only multi-dict Bolt reads by name; Bolt's hint asks for a plain dict.
        bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - unparseable (RecursionError: JSON nested deeper than Python parses) or a shape Bolt can't read
        return web.Response(status=400, text="The request body is not a Slack request.")
    if not _well_formed(bolt_request.body):
        return web.Response(status=400, text="The request body is not a Slack request.")
    return bolt_request


def build_web_app(
    app: AsyncApp,
    events: bool = True,
    signing_secret: str | None = None,
    readiness: Readiness | None = None,
    *,
    trusted_proxy_hops: int = 0,
    metrics_here: bool = True,
    metrics_token: str | None = None,
) -> web.Application:
    """GET /healthz and /readyz; POST /slack/events (not in Socket Mode); with OAuth, the install pages and redirect;
    GET /metrics unless it has a port of its own (`metrics_here` false: METRICS_PORT).

    With a signing secret, every POST to /slack/events is verified on its raw bytes, and replays dropped, before
    anything decodes it (server.request_guard). The install pages and /metrics are rate-limited per client address
    (behind `trusted_proxy_hops` reverse proxies, the address they saw: server.request_guard.client_address).
    """
    guard = RequestGuard(signing_secret) if signing_secret else None
    # auto_decompress off: Slack never compresses a request, and aiohttp would otherwise inflate a compressed body
    # (a 1 KB gzip bomb is 1 MB of work) on the event loop as it arrives, before any check could refuse it.
    web_app = web.Application(client_max_size=MAX_BODY_BYTES, handler_args={"auto_decompress": False})
    add_operations_routes(
        web_app,
        readiness,
        metrics_route=metrics_here,
        metrics_token=metrics_token,
        trusted_proxy_hops=trusted_proxy_hops,
    )
    flow = app.oauth_flow
    if flow is not None:
        from services.storage.errors import database_errors  # OAuth mode only: the stores have loaded SQLAlchemy

        storage_failures = database_errors()

        # Per client address: a flood from one address is refused while everyone else installs.
        throttle, redirects = AddressThrottle(), AddressThrottle(what="OAuth redirect(s)")

        def address(request: web.Request) -> str:
            return client_address(request.remote, request.headers.getall("X-Forwarded-For", []), trusted_proxy_hops)

        async def page(request: web.Request, render) -> web.Response:
            """An install page: throttled (each view stores an OAuth state), and a database in trouble is a 503."""
            if not throttle.allow(address(request)):
                return web.Response(status=429, text=TOO_MANY_INSTALL_VIEWS, headers={"Retry-After": "1"})
            bolt_request = _page_request(request)
            if isinstance(bolt_request, web.Response):
                return bolt_request
            try:
                return await to_aiohttp_response(await render(bolt_request))
            except storage_failures as e:
                logger.warning("An install page couldn't store its OAuth state (%s): answered 503", type(e).__name__)
                return web.Response(status=503, text=INSTALL_PAGE_BUSY, headers={"Retry-After": "5"})

        async def install(request: web.Request) -> web.Response:
            return await page(request, flow.handle_installation)

        async def oauth_redirect(request: web.Request) -> web.Response:
            if not redirects.allow(address(request)):
                return web.Response(status=429, text=TOO_MANY_INSTALL_FINISHES, headers={"Retry-After": "1"})
            bolt_request = _page_request(request)
            if isinstance(bolt_request, web.Response):
                return bolt_request
            try:
                return await to_aiohttp_response(await flow.handle_callback(bolt_request))
            except Exception as e:  # noqa: BLE001 - Slack unreachable mid-install: a page that says so, not a 500
                logger.warning("Finishing an installation failed: %s", type(e).__name__)
                return web.Response(status=502, text=INSTALL_FAILED_PAGE, content_type="text/html")

        from server.oauth import ADMIN_INSTALL_PATH, admin_install_page

        async def admin_install(request: web.Request) -> web.Response:
            return await page(request, lambda bolt_request: admin_install_page(flow, bolt_request))

        web_app.router.add_get(flow.install_path, install)
        web_app.router.add_get(ADMIN_INSTALL_PATH, admin_install)  # the same redirect URL and state store finish it
        web_app.router.add_get(flow.redirect_uri_path, oauth_redirect)
    if events:

        async def slack_events(request: web.Request) -> web.Response:
            started = time.monotonic()
            if guard is not None:
                refused = await _guarded(guard, request)
                if refused is not None:
                    metrics.request_handled("other", "unauthorized" if refused.status == 401 else "replay")
                    return refused
            bolt_request = await _to_bolt_request(request)
            if isinstance(bolt_request, web.Response):
                metrics.request_handled("other", "bad_request")
                return bolt_request
            kind = metrics.request_kind(bolt_request.body)
            try:
                response = await app.async_dispatch(bolt_request)
            except Exception as e:  # noqa: BLE001 - a payload Bolt cannot read is the sender's fault: 400, not 500
                logger.warning("Could not handle a request (%s): answered 400", type(e).__name__)
                metrics.request_handled(kind, "bad_request")
                return web.Response(status=400, text="The request could not be handled.")
            metrics.request_handled(kind, metrics.response_outcome(response.status), time.monotonic() - started)
            return await to_aiohttp_response(response)

        web_app.router.add_post(EVENTS_PATH, slack_events)
    return web_app


# The install pages' `team` parameter goes into Slack's authorize URL as it is (Bolt doesn't encode it): an ID only.
_TEAM_PARAMETER = re.compile(r"[TE][A-Z0-9]{1,30}")


def _page_request(request: web.Request) -> AsyncBoltRequest | web.Response:
    """A GET page (install, OAuth redirect) as Bolt reads it: the query only. A body is refused unread."""
    if request.can_read_body or request.headers.get("Content-Encoding", "identity") != "identity":
        return web.Response(status=400, text="This page takes no request body.", headers={"Connection": "close"})
    team = request.query.get("team")
    if team is not None and not _TEAM_PARAMETER.fullmatch(team):
        return web.Response(status=400, text="The team parameter must be a workspace or organisation ID.")
    # aiohttp's headers are the read-only multi-dict Bolt reads by name; Bolt's hint asks for a plain dict.
    return AsyncBoltRequest(body="", query=request.query_string, headers=request.headers)  # type: ignore[arg-type]


async def _guarded(guard: RequestGuard, request: web.Request) -> web.Response | None:
    """A 401 for a request Slack didn't sign (unread when its headers can't be Slack's); an empty 200 for a replay of
    one already handled; else None."""
    if request.headers.get("Content-Encoding", "identity") != "identity":  # Slack never sends one: refused unread
        return web.Response(
            status=415, text="Compressed request bodies are not accepted.", headers={"Connection": "close"}
        )
    signature = request.headers.get("X-Slack-Signature")
    timestamp = request.headers.get("X-Slack-Request-Timestamp")
    if not guard.plausible(timestamp, signature):
        return web.Response(status=401, text="invalid request")
    if not await guard.verify(await request.read(), timestamp or "", signature or ""):
        return web.Response(status=401, text="invalid request")
    if not guard.first_time(signature or "", timestamp or ""):
        return web.Response(status=200)
    return None


async def start_http(
    app: AsyncApp,
    host: str,
    port: int,
    events: bool = True,
    signing_secret: str | None = None,
    readiness: Readiness | None = None,
    shutdown_timeout: float = 3.0,  # a request being handled needs no more: Slack waits 3 s for an ack
    **public: Any,  # build_web_app's trusted_proxy_hops, metrics_here, metrics_token
) -> tuple[web.AppRunner, int]:
    """Serve on host:port (0 for a free port); returns the runner and the bound port."""
    # shutdown_timeout: at SIGTERM a connection still sending its body (a slow or hostile client) would otherwise hold
    # the exit for aiohttp's 60 s; the work that matters (jobs) is drained before this, within the grace period.
    runner = web.AppRunner(
        build_web_app(app, events, signing_secret, readiness, **public),
        access_log=None,
        shutdown_timeout=shutdown_timeout,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, bound


def public_settings(settings: Settings) -> dict[str, Any]:
    """build_web_app's keyword arguments for the public endpoints, from the settings."""
    return {
        "trusted_proxy_hops": settings.trusted_proxy_hops,
        "metrics_here": settings.metrics_port is None,
        "metrics_token": settings.metrics_token,
    }


async def start_metrics_http(settings: Settings, host: str = "0.0.0.0", reuse_port: bool = False) -> web.AppRunner:
    """METRICS_PORT: GET /metrics (and /healthz) alone on a port of their own. Under gunicorn every worker binds it
    with SO_REUSEPORT (`reuse_port`): whichever answers renders every worker's metrics (multi-process mode)."""
    runner = web.AppRunner(
        build_metrics_app(settings.metrics_token, settings.trusted_proxy_hops), access_log=None, shutdown_timeout=1.0
    )
    await runner.setup()
    await web.TCPSite(runner, host, settings.metrics_port, reuse_port=reuse_port or None).start()
    logger.info("Serving GET %s on port %s", METRICS_PATH, settings.metrics_port)
    return runner


def _measured_socket_mode_handler() -> type:
    """Bolt's async Socket Mode handler, counting each request and timing its ack as the HTTP endpoint does."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
    from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest

    class MeasuredSocketModeHandler(AsyncSocketModeHandler):
        async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
            started, wall = time.monotonic(), time.time()
            response = await run_async_bolt_app(self.app, req)
            await send_async_response(client, req, response, wall)
            outcome = metrics.response_outcome(response.status)
            metrics.request_handled(metrics.request_kind(req.payload), outcome, time.monotonic() - started)

    return MeasuredSocketModeHandler


async def connect_socket_mode(app: AsyncApp, app_token: str, ping_interval: float = 10):
    """Open Bolt's async Socket Mode connection (aiohttp); returns the handler, to close on shutdown.

    `ping_interval` is Bolt's default; slack_sdk also waits that long between connection attempts.
    """
    handler = _measured_socket_mode_handler()(app, app_token, ping_interval=ping_interval)
    try:
        await handler.connect_async()
    except Exception as e:  # noqa: BLE001 - any failure to connect ends start-up with one line
        await handler.close_async()
        if isinstance(e, SlackApiError):
            _, code = error_of(e)
        else:
            code = "slack_timeout" if isinstance(e, TimeoutError) else "slack_unreachable"
        raise StartupError(
            f"Could not open a Socket Mode connection ({code}): check SLACK_APP_TOKEN (an app-level token with "
            "connections:write, from Basic Information > App-Level Tokens) and that Socket Mode is on."
        ) from None
    return handler


async def serve_forever(
    app: AsyncApp,
    settings: Settings,
    readiness: Readiness | None = None,
    stop: asyncio.Event | None = None,
    on_stop: Callable[[], Awaitable[None]] | None = None,
    on_started: Callable[[], None] | None = None,
) -> None:
    """HTTP mode, or Socket Mode when an app-level token is set (with /healthz and /readyz still served on PORT).

    `on_started` runs once the app is serving (listening, and in Socket Mode connected): work that must not delay
    start-up goes there.

    Until `stop` is set (SIGTERM); then /readyz answers 503 "draining", Socket Mode stops taking requests, `on_stop`
    lets the work in flight finish (jobs are released), and the HTTP server closes.
    """
    public = public_settings(settings)
    separate_metrics = settings.metrics_port is not None and settings.metrics_enabled
    metrics_runner = await start_metrics_http(settings) if separate_metrics else None
    if settings.app_token is not None:
        runner, port = await start_http(app, "0.0.0.0", settings.port, events=False, readiness=readiness, **public)
        handler = await connect_socket_mode(app, settings.app_token)
        logger.info("Socket Mode: connected to Slack; health checks on port %s", port)
    else:
        handler = None
        runner, port = await start_http(
            app, "0.0.0.0", settings.port, signing_secret=settings.signing_secret, readiness=readiness, **public
        )
        logger.info("HTTP mode: listening on port %s (POST %s, GET %s, %s)", port, EVENTS_PATH, HEALTH_PATH, READY_PATH)
    if readiness is not None:
        readiness.started = True
    if on_started is not None:
        on_started()
    try:
        await (stop or asyncio.Event()).wait()
        logger.info("Stopping: draining (/readyz answers 503) within the grace period")
        if readiness is not None:
            readiness.draining = True
        if handler is not None:
            await handler.close_async()
            handler = None
        if on_stop is not None:
            await on_stop()
    finally:
        if handler is not None:
            await handler.close_async()
        await runner.cleanup()
        if metrics_runner is not None:
            await metrics_runner.cleanup()
