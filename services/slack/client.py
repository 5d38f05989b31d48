"""The Web API client: base URL, timeout, one shared HTTP session, and retries that honour Retry-After."""

from __future__ import annotations

import random
import resource

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from services.slack.pacing import Pacer, pace_key
from services.telemetry import metrics

RATE_LIMIT_RETRIES = 5
SERVER_ERROR_RETRIES = 2
CONNECTION_RETRIES = 2
# slack_sdk's default backoff factor (slack_sdk/http_retry/builtin_interval_calculators.py): 0.5 s, then 1 s.
DEFAULT_BACKOFF_SECONDS = 0.5
# Commands doing their work after the ack at once (services.slack.admission), and more waiting in arrival order.
# Each running command holds at most one connection (its calls go one after another).
COMMANDS_RUNNING = 3000
COMMANDS_WAITING = 20_000
# Connections beyond the commands': jobs (MAX_JOBS_AT_ONCE, each paced to a few calls at once), the Home tab, views.
OTHER_CONNECTIONS = 1000
# File descriptors kept for everything else (the listening socket, clients' connections to the app, the database).
_OTHER_FILES = 1024


def _retry_after(response: HttpResponse) -> float:
    for name, values in response.headers.items():
        if name.lower() == "retry-after":
            value = values[0] if isinstance(values, list) else values
            try:
                return min(max(float(value), 0.0), 300.0)
            except (TypeError, ValueError):
                break
    return 1.0  # Slack sometimes sends 429 without a usable Retry-After


def _method_and_token(request: HttpRequest) -> tuple[str, str | None]:
    method = request.url.rstrip("/").rsplit("/", 1)[-1]
    token = None
    for name, values in request.headers.items():
        if name.lower() == "authorization":
            value = values[0] if isinstance(values, list) else values
            token = value.removeprefix("Bearer ")
    return method, token


class PacedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, but the wait goes through the shared Pacer so every caller slows down."""

    def __init__(self, pacer: Pacer, max_retry_count: int = RATE_LIMIT_RETRIES) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.pacer = pacer

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        # slack_sdk asks this of every answer: the pacer counts what Slack accepted, whoever made the call.
        if response is not None:
            method, token = _method_and_token(request)
            self.pacer.answered(pace_key(token, method), response.status_code == 429)
        return await super().can_retry_async(state=state, request=request, response=response, error=error)

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:  # only 429 answers are retried here, and they always come with a response
            raise error if error is not None else RuntimeError("a rate-limit retry without an answer")
        method, token = _method_and_token(request)
        key = pace_key(token, method)
        wait = _retry_after(response)
        metrics.retry_after_wait(method, wait)
        self.pacer.rate_limited(key, wait)
        state.next_attempt_requested = True
        await self.pacer.wait_turn(key)
        state.increment_current_attempt()


class ProportionalJitter(Jitter):
    """slack_sdk's RandomJitter adds up to 1 s whatever the backoff; this adds up to twice the backoff, so at the
    default 0.5 s it is the same, and a shorter backoff (SLACK_RETRY_BACKOFF_SECONDS) shortens the jitter too."""

    def __init__(self, backoff: float) -> None:
        self.spread = 2 * backoff

    def recalculate(self, duration: float) -> float:
        return duration + random.random() * self.spread


def backoff(seconds: float = DEFAULT_BACKOFF_SECONDS) -> BackoffRetryIntervalCalculator:
    """Waits between retries of 5xx answers and dropped connections: `seconds`, doubling, each plus jitter."""
    return BackoffRetryIntervalCalculator(backoff_factor=seconds, jitter=ProportionalJitter(seconds))


def retry_handlers(pacer: Pacer, backoff_seconds: float = DEFAULT_BACKOFF_SECONDS) -> list[AsyncRetryHandler]:
    return [
        AsyncConnectionErrorRetryHandler(
            max_retry_count=CONNECTION_RETRIES, interval_calculator=backoff(backoff_seconds)
        ),
        AsyncServerErrorRetryHandler(
            max_retry_count=SERVER_ERROR_RETRIES, interval_calculator=backoff(backoff_seconds)
        ),
        PacedRateLimitRetryHandler(pacer),
    ]


def pacer_of(client: AsyncWebClient) -> Pacer:
    """The Pacer behind a client's retry handlers (a fresh one for a client built elsewhere)."""
    for handler in client.retry_handlers or []:
        if isinstance(handler, PacedRateLimitRetryHandler):
            return handler.pacer
    return Pacer()


def client_like(
    base: AsyncWebClient, *, token: str | None = None, team_id: str | None = None, retry_server_errors: bool = True
) -> AsyncWebClient:
    """A client on `base`'s session and pacing, for another token, or for one workspace of an org-level token.

    An org-wide install's bot token is refused (`missing_argument`) by some methods unless `team_id` is passed;
    inside a request Bolt's per-request client adds it (slack_bolt/app/async_app.py, `team_id=req.context.team_id`),
    outside one (background posts, resumed work, CLIs) this does the same (slack_sdk's `team_id` default param).
    With `retry_server_errors=False` only 429s are retried: for calls that must not be sent twice (an admin action
    whose 5xx may hide a success: see `internal_error`/`fatal_error` on
    https://docs.slack.dev/reference/methods/admin.conversations.disconnectShared).
    """
    return AsyncWebClient(
        token=token if token is not None else base.token,
        base_url=base.base_url,
        timeout=base.timeout,
        session=base.session,
        team_id=team_id,
        logger=base.logger,
        retry_handlers=retry_handlers_like(base, retry_server_errors=retry_server_errors),
    )


def retry_handlers_like(base: AsyncWebClient, *, retry_server_errors: bool) -> list[AsyncRetryHandler]:
    """`base`'s retry handlers, only its 429 one when `retry_server_errors` is False (see client_like)."""
    handlers = list(base.retry_handlers or [])
    if not retry_server_errors:
        handlers = [h for h in handlers if isinstance(h, PacedRateLimitRetryHandler)]
    return handlers


async def close_session(client: AsyncWebClient) -> None:
    """Close the aiohttp session of a client made by build_web_client (at shutdown)."""
    if client.session is not None:
        await client.session.close()


def connection_limit() -> int:
    """Open connections to the Web API (and response URLs) at once: the commands' and OTHER_CONNECTIONS, within the
    process's open-file limit (its soft limit raised to the hard one first, as servers do).

    Above what services.slack.admission lets run, so a command that has started never waits for a connection: a
    connection cap shared by every call would reorder work across commands (the first call of a later command
    taking the connection the last call of an earlier one waits for).
    """
    wanted = COMMANDS_RUNNING + OTHER_CONNECTIONS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted + _OTHER_FILES:
        target = hard if hard == resource.RLIM_INFINITY else min(hard, wanted + _OTHER_FILES)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(min(wanted, soft - _OTHER_FILES), 100)


def commands_running(limit: int) -> int:
    """How many commands may run at once with `limit` connections (OTHER_CONNECTIONS kept for the rest)."""
    return max(min(COMMANDS_RUNNING, limit - OTHER_CONNECTIONS), limit // 2)


def build_web_client(
    token: str | None,
    api_url: str,
    timeout: float,
    pacer: Pacer | None = None,
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
) -> AsyncWebClient:
    """Must be called inside the running event loop: the client owns one aiohttp session for all calls."""
    session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout), connector=aiohttp.TCPConnector(limit=connection_limit())
    )
    return AsyncWebClient(
        token=token,
        base_url=api_url,
        timeout=int(max(timeout, 1)),
        session=session,
        retry_handlers=retry_handlers(pacer or Pacer(), backoff_seconds),
    )
