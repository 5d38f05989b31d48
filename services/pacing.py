"""Adaptive pacing of Web API calls: as fast as Slack allows, slower once it answers 429."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

# A bulk job runs at most this many calls at once per workspace token and method.
BULK_CONCURRENCY = 4
# Spacing learned from a 429 is kept this much above the rate Slack accepted before it.
SAFETY_MARGIN = 1.15
# After this long without a 429, the learned spacing is forgotten.
FORGET_AFTER_SECONDS = 60.0
# Retry-After is a whole number of seconds; wait a little past it so the window has really moved.
RESUME_SLACK_SECONDS = 0.05


def pace_key(token: str | None, method: str) -> str:
    """Rate limits are per method and per workspace token; key on a digest, never the token itself."""
    digest = hashlib.sha256((token or "").encode()).hexdigest()[:16]
    return f"{digest}:{method}"


@dataclass
class _Pace:
    interval: float = 0.0  # minimum seconds between call starts; 0 = not paced
    next_start: float = 0.0
    resume_at: float = 0.0
    last_limited: float = float("-inf")
    starts: deque[float] = field(default_factory=lambda: deque(maxlen=2000))
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(BULK_CONCURRENCY))


class Pacer:
    """Per (token, method) pacing shared by the retry handler and bulk jobs."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._paces: dict[str, _Pace] = {}

    def _pace(self, key: str) -> _Pace:
        pace = self._paces.get(key)
        if pace is None:
            pace = self._paces[key] = _Pace()
        return pace

    def interval(self, key: str) -> float:
        return self._pace(key).interval

    async def wait_turn(self, key: str) -> None:
        """Wait until a call may start: after any Retry-After pause, and spaced by the learned interval."""
        pace = self._pace(key)
        while True:
            now = self._clock()
            if pace.interval and now - pace.last_limited > FORGET_AFTER_SECONDS:
                pace.interval = 0.0
            start = max(pace.next_start, pace.resume_at, now)
            if start <= now:
                pace.next_start = now + pace.interval
                pace.starts.append(now)
                return
            await asyncio.sleep(start - now)

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """A bulk call: bounded concurrency, then wait for its turn."""
        pace = self._pace(key)
        async with pace.slots:
            await self.wait_turn(key)
            yield

    def rate_limited(self, key: str, retry_after: float) -> None:
        """Slack answered 429: pause everyone for Retry-After and stay below the rate it accepted."""
        pace = self._pace(key)
        now = self._clock()
        already_paused = now < pace.resume_at
        pace.resume_at = max(pace.resume_at, now + retry_after + RESUME_SLACK_SECONDS)
        pace.last_limited = now
        if already_paused:
            return  # the other calls of the same burst: one adjustment per pause
        window = max(retry_after, 1.0)
        accepted = sum(1 for t in pace.starts if t > now - window)
        learned = window / max(accepted, 1) * SAFETY_MARGIN
        pace.interval = max(learned, pace.interval * 1.5)
