"""What operators, load balancers and Prometheus ask the process: GET /healthz, GET /readyz, GET /metrics.

/healthz answers 200 as long as the event loop runs. /readyz answers 200 only when start-up is done, the process is
not draining, and the database answers; otherwise 503 with one line saying why. /metrics (unless METRICS_ENABLED=false)
is Prometheus' text format (services.telemetry.metrics).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiohttp import web

from server.request_guard import PageThrottle
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


def add_operations_routes(web_app: web.Application, readiness: Readiness | None) -> None:
    """GET /healthz, GET /readyz (without a Readiness, /readyz is /healthz), and GET /metrics when metrics are on."""
    web_app.router.add_get(HEALTH_PATH, _health)

    async def ready(_: web.Request) -> web.Response:
        reason = await readiness.problem() if readiness is not None else None
        if reason is None:
            return web.Response(text="ready\n")
        return web.Response(status=503, text=f"not ready: {reason}\n")

    web_app.router.add_get(READY_PATH, ready)
    if metrics.enabled():
        # Anyone who can reach the port can ask for /metrics, and rendering it (every worker's file under gunicorn)
        # costs the loop milliseconds: a flood is answered 429 unrendered. Prometheus scrapes every 15 s or so.
        scrapes = PageThrottle(per_second=2.0, burst=10, what="/metrics request(s)")

        async def scrape(_: web.Request) -> web.Response:
            if not scrapes.allow():
                return web.Response(status=429, text="Too many /metrics requests.", headers={"Retry-After": "1"})
            body, content_type = metrics.exposition()
            return web.Response(body=body, headers={"Content-Type": content_type})

        web_app.router.add_get(METRICS_PATH, scrape)
