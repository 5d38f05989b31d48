"""Composition only: settings → storage → clients → app → listeners → start."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from listeners import register_listeners
from server.app import build_web_app, create_bolt_app, public_settings, serve_forever, start_metrics_http
from server.operations import Readiness
from services.audit.feed import AuditChannel
from services.audit.home import HomeTab, publish_home
from services.audit.home_export import HomeExports
from services.audit.log import AuditLog
from services.audit.retention import AuditRetention
from services.audit.trail import AuditTrail
from services.disconnecting.admin_tokens import AdminTokenSource
from services.disconnecting.admins import AdminPolicy
from services.disconnecting.attempts import AttemptLimiter
from services.disconnecting.everything import OFFBOARD_EVERYTHING, EverythingOffboarding, directory_home
from services.disconnecting.jobs import DisconnectJobs
from services.disconnecting.offboarding import Offboarding
from services.disconnecting.partners import OFFBOARD
from services.disconnecting.workflow import Disconnects
from services.jobs.queue import JobRunner, JobStore
from services.leaving.offers import RejoinOffers
from services.leaving.one_channel import OneChannelLeaves
from services.leaving.policy import LeavePolicy
from services.leaving.rejoin_jobs import RejoinJobs
from services.leaving.workflow import LeaveJobs, installation_clients
from services.settings import Settings, SettingsError, load_settings
from services.slack.client import (
    COMMANDS_RUNNING,
    COMMANDS_WAITING,
    OTHER_CONNECTIONS,
    build_web_client,
    client_like,
    close_session,
    commands_running,
)
from services.slack.identity import StartupError, admin_token_org, identify_bot
from services.slack.names import NameBook
from services.slack.pacing import Pacer
from services.slack.tokens import TokenKeeper
from services.storage.database import Database
from services.storage.handled_requests import HandledRequests
from services.storage.pace_rows import PaceRows
from services.telemetry import metrics
from services.telemetry.errors import configure_error_reporting
from services.telemetry.logs import configure_logging


@dataclass
class BuiltApp:
    bolt: AsyncApp
    services: dict[str, Any]  # what listeners are given, by the name of their parameter (server.app's middleware)
    audit_log: AuditLog
    audit_feed: AuditChannel
    database: Database
    readiness: Readiness  # GET /readyz; a graceful shutdown sets readiness.draining
    jobs: JobRunner | None = None
    grace: float = 10.0  # SHUTDOWN_GRACE_SECONDS
    retention: AuditRetention | None = None  # AUDIT_RETENTION_DAYS: the audit log's purge, started after serving
    attempts: AttemptLimiter = field(default_factory=AttemptLimiter)  # refusals past the limit, recorded a minute on

    async def drain(self) -> None:
        """SIGTERM: /readyz answers 503 at once, no job is claimed any more, the calls in flight finish within the
        grace period, and every job this process holds is recorded and its lease released; one-channel leaves not
        finished by then are told so (services.slack.admission)."""
        self.readiness.draining = True
        leaves = self.services.get("one_channel_leaves")
        draining = [leaves.drain(self.grace)] if leaves is not None else []
        if self.jobs is not None:
            draining.append(self.jobs.drain(self.grace))
        await asyncio.gather(*draining)

    async def close(self) -> None:
        if self.retention is not None:
            await self.retention.stop()
        if self.jobs is not None and not self.jobs.stopping:
            await self.jobs.drain(self.grace)
        await self.attempts.close()  # the refused attempts counted but not recorded yet
        if (exports := self.services.get("home_exports")) is not None:
            await exports.close()  # the same for the Home tab's export button
        await self.audit_feed.drain()
        await close_session(self.bolt.client)
        await self.database.close()


async def build_app(settings: Settings, database: Database | None = None) -> BuiltApp:
    """Build the app inside the running loop; the bot token is checked with Slack once.

    With OAuth, the database (installations, OAuth state, audit log) is opened at start-up; with a pasted bot
    token, on the first audit entry.
    """
    metrics.configure(settings.metrics_enabled)
    database = database or Database(settings.database_url)
    # The pace learned from 429s is shared through the database by every instance and worker (services.storage.pace_rows).
    pacer = Pacer(shared=PaceRows(database))
    client = build_web_client(None, settings.api_url, settings.api_timeout, pacer, settings.retry_backoff_seconds)
    try:
        oauth = None
        identity = None
        keeper = None
        if settings.oauth:
            from server.oauth import oauth_settings
            from services.storage.secrets import box_of

            box = box_of(settings.secrets_key)
            # settings.oauth means both the client ID and secret are set.
            oauth = oauth_settings(settings.client_id, settings.client_secret, database, settings.api_url, box)  # type: ignore[arg-type]
            await database.engine()  # migrations: the stores' tables are in them
            await _secure_tokens(database, box)
            keeper = TokenKeeper(
                oauth.installation_store,
                # A refresh token is spent once: a renewal is never sent twice (no retry but on 429), since a 5xx or a
                # dropped connection may hide one Slack made (services.slack.tokens).
                client_like(client, retry_server_errors=False),
                settings.client_id,  # type: ignore[arg-type]  # set with OAuth
                settings.client_secret,  # type: ignore[arg-type]
                settings.token_refresh_margin_seconds,
            )
        else:
            identity = await identify_bot(client, settings.bot_token, settings.api_url)  # type: ignore[arg-type]  # set without OAuth
        admin_org = (
            await admin_token_org(client, settings.admin_token, settings.api_url) if settings.admin_token else None
        )
    except BaseException:
        await close_session(client)
        await database.close()
        raise
    names = NameBook()
    rejoins = RejoinOffers(database)
    runner = JobRunner(
        JobStore(database, lease_seconds=settings.job_lease_seconds),
        poll_seconds=settings.job_poll_seconds,
        retention=timedelta(days=settings.job_retention_days),
    )
    clients = installation_clients(client, settings.bot_token, oauth.installation_store if oauth else None, keeper)
    admins = AdminPolicy(settings.admin_user_ids)
    leave_jobs = LeaveJobs(runner, clients, client, admins, settings.audit_channel_id, rejoins)
    leave_jobs.register()
    audit_log = AuditLog(database)
    audit_feed = AuditChannel(settings.audit_channel_id, names)
    trail = AuditTrail(audit_log, audit_feed)
    admin_tokens = AdminTokenSource(
        settings.admin_token, oauth.installation_store if oauth else None, admin_org, keeper=keeper
    )
    rejoin_jobs = RejoinJobs(runner, clients, client, rejoins)
    rejoin_jobs.register()
    disconnects = Disconnects(admins, admin_tokens, trail, runner.store)
    handled_requests = HandledRequests(database)
    disconnect_jobs = DisconnectJobs(runner, clients, client, disconnects, handled_requests)
    disconnect_jobs.register()
    offboarding = Offboarding(runner, clients, client, disconnects)
    offboarding.register()
    everything = EverythingOffboarding(runner, clients, client, disconnects)
    everything.register()

    async def offboarding_home(enterprise_id: str | None, jobs_offset: int = 0) -> list[Any]:
        from services.ui.home_jobs import JOBS_PAGE_SIZE
        from services.ui.offboarding import home_blocks

        # One paged list, each with its Cancel: channel-by-channel jobs, then "everything" ones (issue 20).
        kinds = (OFFBOARD, OFFBOARD_EVERYTHING)
        page = await offboarding.active_jobs(enterprise_id, jobs_offset, JOBS_PAGE_SIZE, kinds=kinds)
        return home_blocks(page.running, page.total, page.offset, page.finished)

    home_tab = HomeTab(admins, audit_log, names, offboarding_home, directory_home)

    async def refresh_home(web: Any, user_id: str, enterprise_id: str | None, team_id: str | None) -> None:
        await publish_home(web, user_id, await home_tab.view(web, user_id, enterprise_id, team_id))

    offboarding.home_refresh = refresh_home
    attempts = AttemptLimiter(record=trail.record)  # past the limit: one audit row per person a minute
    everything.home_refresh = refresh_home
    leave_policy = LeavePolicy(admins, settings.audit_channel_id)
    services: dict[str, Any] = {
        "admins": admins,
        "disconnects": disconnects,
        "disconnect_attempts": attempts,
        "disconnect_jobs": disconnect_jobs,
        "offboarding": offboarding,
        "everything": everything,
        "home_tab": home_tab,
        "home_exports": HomeExports(admins, audit_log),
        "handled_requests": handled_requests,
        "rejoin_offers": rejoins,
        "rejoin_jobs": rejoin_jobs,
        "leave_policy": leave_policy,
        "leave_jobs": leave_jobs,
        "one_channel_leaves": one_channel_leaves_for(client, leave_policy, rejoins, keeper),
    }
    app = create_bolt_app(settings, client, services, identity=identity, oauth_settings=oauth, token_keeper=keeper)
    register_listeners(app)
    # In Socket Mode start-up ends once the connection is open (serve_forever).
    readiness = Readiness(database, started=not settings.socket_mode)
    built = BuiltApp(app, services, audit_log, audit_feed, database, readiness, runner, settings.shutdown_grace_seconds)
    built.attempts = attempts
    if settings.audit_retention_days is not None:
        built.retention = AuditRetention(audit_log, settings.audit_retention_days)
    return built


def one_channel_leaves_for(
    client: Any, leave_policy: LeavePolicy, rejoins: RejoinOffers, keeper: TokenKeeper | None = None
) -> OneChannelLeaves:
    """One-channel leaves after the ack, in arrival order, sized within the client's connections
    (services.slack.admission)."""
    connector = client.session.connector if client.session is not None else None
    limit = connector.limit if connector is not None and connector.limit else COMMANDS_RUNNING + OTHER_CONNECTIONS
    return OneChannelLeaves(client, leave_policy, rejoins, commands_running(limit), COMMANDS_WAITING, keeper)


async def _secure_tokens(database: Database, box: Any) -> None:
    """Every stored token under SECRETS_KEY's newest key (plaintext rows encrypted, an older key's re-encrypted); no
    key and encrypted rows ends start-up in one line naming SECRETS_KEY. Without a key (only where Settings are built
    in code: load_settings requires one with OAuth) tokens are kept as they come, and the log says so."""
    from services.storage.secrets import SecretsError, secure_stored_tokens

    try:
        changed = await secure_stored_tokens(await database.engine(), box)
    except SecretsError as e:
        raise StartupError(str(e)) from None
    log = logging.getLogger(__name__)
    if box is None:
        log.warning("SECRETS_KEY is not set: installation tokens are stored unencrypted")
    elif changed:
        log.info("Encrypted %s stored token(s) under the newest SECRETS_KEY", changed)


def tune_garbage_collector() -> None:
    """Under load, full collections over the long-lived start-up objects stall the loop: freeze those, collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


# After the server starts serving: the full collection of tune_garbage_collector (tens of milliseconds over every
# object start-up made) waits this long, off the start-up path.
GC_TUNING_DELAY_SECONDS = 1.0


def after_serving(built: BuiltApp) -> None:
    """What start-up doesn't wait for, once the app serves: the job runner's first claim (jobs left by a stopped or
    crashed instance, this one before a restart or another: a SQLite file is read with sqlite3 first, SQLAlchemy is
    loaded only when there is one), the audit log's retention purge (AUDIT_RETENTION_DAYS), the database's schema (if start-up didn't start on it), the metrics (in a
    thread), and the garbage collector's tuning."""
    if built.jobs is not None:
        built.jobs.start()
    if built.retention is not None:
        built.retention.start()
    built.database.prepare()
    if metrics.enabled():
        asyncio.get_running_loop().run_in_executor(None, metrics.warm_up)
    asyncio.get_running_loop().call_later(GC_TUNING_DELAY_SECONDS, tune_garbage_collector)


async def start(settings: Settings) -> BuiltApp:
    """`python app.py`'s start-up. The schema first: brought up to date in a child process on the other core while
    this one starts and serves (nothing to do, read with sqlite3, when a SQLite file is at the newest revision).
    Serving never waits for it and this process never loads what migrating needs: a first start is as light as a
    restart. The database's first use waits for the child (services.storage.database.Database.engine); a bulk leave
    in that moment is acked before its job is written if need be (listeners.leave_jobs.ACK_BUDGET_SECONDS)."""
    database = Database(settings.database_url)
    database.prepare()
    return await build_app(settings, database)


async def run(settings: Settings) -> None:
    built = await start(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await serve_forever(
            built.bolt,
            settings,
            built.readiness,
            stop=stop,
            on_stop=built.drain,
            on_started=lambda: after_serving(built),
        )
    finally:
        await built.close()
    logging.getLogger(__name__).info("Stopped")


def _settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as e:
        sys.exit(f"Configuration error: {e}")
    configure_logging(settings.log_level, settings.secrets(), log_format=settings.log_format)
    configure_error_reporting(settings.sentry_dsn, settings.secrets())  # SENTRY_DSN; nothing is imported without it
    return settings


async def web_app() -> web.Application:
    """For a process manager in HTTP mode: gunicorn 'app:web_app' --worker-class aiohttp.GunicornWebWorker."""
    settings = _settings_or_exit()
    if settings.socket_mode:
        sys.exit("Configuration error: SLACK_APP_TOKEN is set, but Socket Mode runs as one process: use python app.py.")
    try:
        built = await build_app(settings)
    except StartupError as e:
        sys.exit(f"Start-up error: {e}")
    application = build_web_app(
        built.bolt, signing_secret=settings.signing_secret, readiness=built.readiness, **public_settings(settings)
    )
    metrics_server: list[web.AppRunner] = []

    async def close(_: web.Application) -> None:
        for runner in metrics_server:
            await runner.cleanup()
        await built.close()

    if settings.metrics_port is not None and settings.metrics_enabled:

        async def serve_metrics(_: web.Application) -> None:  # every worker binds METRICS_PORT (SO_REUSEPORT)
            metrics_server.append(await start_metrics_http(settings, reuse_port=True))

        application.on_startup.append(serve_metrics)

    async def start_jobs(_: web.Application) -> None:
        # on_startup runs before the worker listens: the rest once this start-up step has returned.
        asyncio.get_running_loop().call_soon(after_serving, built)

    async def drain(_: web.Application) -> None:  # gunicorn's SIGTERM: the worker stops, its jobs are released
        await built.drain()

    application.on_startup.append(start_jobs)
    application.on_shutdown.append(drain)
    application.on_cleanup.append(close)
    return application


def main() -> None:
    settings = _settings_or_exit()
    try:
        asyncio.run(run(settings))
    except StartupError as e:
        sys.exit(f"Start-up error: {e}")
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
