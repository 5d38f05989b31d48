"""AUDIT_RETENTION_DAYS: audit entries older than that are purged at start-up and then every hour.

The cut-off is midnight UTC, that many days back: it moves once a day, so whichever instance (or gunicorn worker)
purges first each day deletes the day's expired rows and writes the one `purged` entry; the others, finding nothing
older than the same cut-off, delete nothing and write nothing. An entry is kept at least the retention period and at
most a day longer. Purges that overlap delete each row once (services.storage.audit_rows.purge_audit_rows).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.audit.log import AuditLog

logger = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0
_RETRY_SECONDS = 300.0  # after a failed purge (the database away for a moment)


def retention_cutoff(days: int, now: datetime) -> datetime:
    """Midnight UTC, `days` days before `now`'s date: entries written before it are purged."""
    start_of_today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start_of_today - timedelta(days=days)


class AuditRetention:
    def __init__(
        self,
        log: AuditLog,
        days: int,
        *,
        every: float = PURGE_EVERY_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.log = log
        self.days = days
        self.every = every
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def purge_once(self) -> int:
        """Purge what is older than the cut-off now; returns how many entries were deleted."""
        cutoff = retention_cutoff(self.days, self._clock())
        count = await self.log.purge(cutoff, note=f" days={self.days}")
        if count:
            logger.info("Audit retention: purged %s entr%s written before %s", count, "y" if count == 1 else "ies",
                        cutoff.date().isoformat())  # fmt: skip
        return count

    def start(self) -> None:
        """Purge now (once the app serves: start-up doesn't wait for it), then every `every` seconds."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="audit-retention")

    async def _loop(self) -> None:
        while True:
            wait = self.every
            try:
                await self.purge_once()
            except Exception as e:  # noqa: BLE001 - the database away for a moment: tried again soon
                logger.warning(
                    "Audit retention: the purge failed (%s); trying again in a few minutes", type(e).__name__
                )
                wait = min(self.every, _RETRY_SECONDS)
            await asyncio.sleep(wait)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
