"""How often one person may start /disconnect-shared: each attempt costs Web API calls (views.open, users.info,
conversations.info, team.info) on the workspace's rate limits, refused or not, so a member repeating it can't spend
them for everyone. Per process: enough against one person's loop, without a database write before the ack.

Every attempt past the limit still leaves a trace, without a flood of them: a person's refusals are counted from
their first one, and one audit row per person a minute says how many there were (written when that minute ends, or
when the app stops; services.audit). Outcome `too_many_attempts:<count>`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk.web.async_client import AsyncWebClient

from services.audit.log import AuditEntry, AuditEvent

logger = logging.getLogger(__name__)

ATTEMPTS_PER_MINUTE = 6  # far above what an admin does by hand
OVER_LIMIT_OUTCOME = "too_many_attempts"  # the audit row's outcome: "too_many_attempts:<refused this minute>"
_WINDOW_SECONDS = 60.0
_MAX_PEOPLE = 10_000  # people remembered at once; the oldest are forgotten first

Record = Callable[[AsyncWebClient, AuditEntry], Awaitable[None]]  # services.audit.trail.AuditTrail.record


@dataclass
class _Refusals:
    """One person's attempts refused since `first` (a minute at most), and where to record them."""

    client: AsyncWebClient
    enterprise_id: str | None
    team_id: str | None
    first: datetime
    count: int = 1
    timer: asyncio.TimerHandle | None = None


class AttemptLimiter:
    def __init__(
        self,
        per_minute: int = ATTEMPTS_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
        record: Record | None = None,
        report_after: float = _WINDOW_SECONDS,
    ) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._recent: dict[str, deque[float]] = {}
        self._record = record
        self.report_after = report_after  # a person's refusals are recorded this long after their first
        self._refusals: dict[str, _Refusals] = {}
        self._writing: set[asyncio.Task[None]] = set()
        self._closed = False  # stopping: a refusal noted now is recorded at once (no timer would ever fire)

    def allow(self, user_id: str) -> bool:
        """Count an attempt by `user_id`; False when they made `per_minute` in the last minute already."""
        now = self._clock()
        recent = self._recent.pop(user_id, None) or deque()
        while recent and now - recent[0] >= _WINDOW_SECONDS:
            recent.popleft()
        allowed = len(recent) < self.per_minute
        if allowed:
            recent.append(now)
        self._recent[user_id] = recent  # re-inserted: the dict's order is least recently seen first
        while len(self._recent) > _MAX_PEOPLE:
            del self._recent[next(iter(self._recent))]
        return allowed

    def refused(self, client: AsyncWebClient, user_id: str, enterprise_id: str | None, team_id: str | None) -> None:
        """Note an attempt `allow` refused: counted, and recorded with the others of its minute (no I/O here, so
        the ack never waits for it)."""
        if self._record is None:
            return
        pending = self._refusals.get(user_id)
        if pending is not None:
            pending.count += 1
            return
        if len(self._refusals) >= _MAX_PEOPLE:  # a bound on memory: record the oldest now to make room
            self._report(next(iter(self._refusals)))
        pending = _Refusals(client, enterprise_id or None, team_id, datetime.now(UTC))
        self._refusals[user_id] = pending
        if self._closed:  # a request still in flight when the app stops: its row now, not in a minute that never comes
            self._report(user_id)
            return
        pending.timer = asyncio.get_running_loop().call_later(self.report_after, self._report, user_id)

    def _report(self, user_id: str) -> None:
        pending = self._refusals.pop(user_id, None)
        if pending is None:
            return
        if pending.timer is not None:
            pending.timer.cancel()
        task = asyncio.ensure_future(self._write(user_id, pending))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def _write(self, user_id: str, pending: _Refusals) -> None:
        if self._record is None:
            return
        entry = AuditEntry(
            AuditEvent.REFUSED,
            user_id,
            f"{OVER_LIMIT_OUTCOME}:{pending.count}",
            enterprise_id=pending.enterprise_id,
            team_id=pending.team_id,
            at=pending.first,
        )
        try:
            await self._record(pending.client, entry)
        except Exception as e:  # noqa: BLE001 - the audit database is down: said in the log, with the count
            logger.warning(
                "Could not record %s attempt(s) by %s past the limit (%s)", pending.count, user_id, type(e).__name__
            )

    async def close(self) -> None:
        """Stopping: every count not recorded yet is recorded now, and any noted later at once."""
        self._closed = True
        for user_id in list(self._refusals):
            self._report(user_id)
        if self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)
