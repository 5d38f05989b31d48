"""What operators, load balancers and Prometheus ask the process: GET /healthz, GET /readyz, GET /metrics.

/healthz answers 200 as long as the event loop runs. /readyz answers 200 only when start-up is done, the process is
not draining, and the database answers; otherwise 503 with one line saying why. /metrics (unless METRICS_ENABLED=false)
is Prometheus' text format (services.telemetry.metrics): on PORT, or alone on METRICS_PORT; with METRICS_TOKEN, only
for `Authorization: Bearer <token>` (compared in constant time); rate-limited per client address.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from server.request_guard import AddressThrottle, client_address
from services.storage.database import Database
from services.telemetry import metrics

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
# How long /readyz waits for the database: below the probe's own timeout (set that to 3 s or more).
DATABASE_TIMEOUT = 2.0


@dataclass
class Readiness:
    """Start-up done, not draining, and the database answering.

    `draining` is the hook for a graceful shutdown: set it and /readyz turns 503, so the load balancer stops sending
    new requests while those in flight finish.
    """

    database: Database | None = None
    started: bool = False
    draining: bool = False
    database_timeout: float = DATABASE_TIMEOUT
    _last_problem: str | None = field(default=None, repr=False)

    async def problem(self) -> str | None:
        """None when ready; else one line for the probe (no host, file or user in it)."""
        if not self.started:
            return "starting"
        if self.draining:
            return "draining"
        if self.database is None:
            return None
        if self.database.migrating:  # a first start or an upgrade: serving already, ready once the schema is
            return "migrating"
        found = await self.database.ping(self.database_timeout)
        self._log_change(found)
        return None if found is None else found[0]

    def _log_change(self, found: tuple[str, str] | None) -> None:
        """One log line each time the database's state changes, not one per probe."""
        detail = None if found is None else found[1]
        if detail == self._last_problem:
            return
        if found is None:
            logger.info("Readiness: the database answers again")
        else:
            logger.warning("Readiness: %s (%s)", found[0], found[1])
        self._last_problem = detail


async def _health(_: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def add_operations_routes(
    web_app: web.Application,
    readiness: Readiness | None,
    *,
    metrics_route: bool = True,
    metrics_token: str | None = None,
    trusted_proxy_hops: int = 0,
) -> None:
    """GET /healthz, GET /readyz (without a Readiness, /readyz is /healthz), and GET /metrics when metrics are on
    (and `metrics_route`: not when /metrics has a port of its own)."""
    web_app.router.add_get(HEALTH_PATH, _health)

    async def ready(_: web.Request) -> web.Response:
        reason = await readiness.problem() if readiness is not None else None
        if reason is None:
            return web.Response(text="ready\n")
        return web.Response(status=503, text=f"not ready: {reason}\n")

    web_app.router.add_get(READY_PATH, ready)
    if metrics_route and metrics.enabled():
        web_app.router.add_get(METRICS_PATH, metrics_handler(metrics_token, trusted_proxy_hops))


METRICS_UNAUTHORIZED = "GET /metrics needs the METRICS_TOKEN: Authorization: Bearer <token>."


def _bearer_matches(header: str | None, token: bytes) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time (hmac.compare_digest on the bytes)."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        given = ""
    return hmac.compare_digest(given.strip().encode("utf-8", "replace"), token)


def metrics_handler(token: str | None, trusted_proxy_hops: int = 0) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /metrics: with a token, a 401 (unrendered, uncounted) without it; then a per-address rate limit."""
    # Anyone who can reach the port can ask for /metrics, and rendering it (every worker's file under gunicorn)
    # costs the loop milliseconds: a flood is answered 429 unrendered, per client address, so one address flooding
    # doesn't refuse Prometheus. Prometheus scrapes every 15 s or so.
    scrapes = AddressThrottle(
        per_second=2.0, burst=10, overall_per_second=20.0, overall_burst=50, what="/metrics request(s)"
    )
    expected = token.encode() if token is not None else None

    async def scrape(request: web.Request) -> web.Response:
        if expected is not None and not _bearer_matches(request.headers.get("Authorization"), expected):
            return web.Response(status=401, text=METRICS_UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
        address = client_address(request.remote, request.headers.getall("X-Forwarded-For", []), trusted_proxy_hops)
        if not scrapes.allow(address):
            return web.Response(status=429, text="Too many /metrics requests.", headers={"Retry-After": "1"})
        body, content_type = metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    return scrape


def build_metrics_app(token: str | None, trusted_proxy_hops: int = 0) -> web.Application:
    """METRICS_PORT's server: GET /metrics and GET /healthz, nothing else (no request body is read)."""
    web_app = web.Application(client_max_size=1024)
    web_app.router.add_get(HEALTH_PATH, _health)
    web_app.router.add_get(METRICS_PATH, metrics_handler(token, trusted_proxy_hops))
    return web_app
