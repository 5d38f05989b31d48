"""Adaptive pacing of Web API calls: as fast as Slack allows, slower once it answers 429."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

# A bulk job runs at most this many calls at once per workspace token and method.
BULK_CONCURRENCY = 4
# Spacing learned from a 429 keeps the rate this much below what Slack accepted before it.
SAFETY_MARGIN = 1.05
# After this long without a 429, the learned spacing is forgotten.
FORGET_AFTER_SECONDS = 60.0
# Fewer accepted calls than this before a 429 say nothing about the rate (another caller used the quota, or the
# 429 was not about rate at all): honour Retry-After, but learn no pace from it.
MIN_SAMPLE = 5
# Retry-After is a whole number of seconds; wait a little past it so the window has really moved.
RESUME_SLACK_SECONDS = 0.05


@functools.lru_cache(maxsize=4096)  # asked on every Web API answer: the same few tokens and methods
def pace_key(token: str | None, method: str) -> str:
    """Rate limits are per method and per workspace token; key on a digest, never the token itself."""
    digest = hashlib.sha256((token or "").encode()).hexdigest()[:16]
    return f"{digest}:{method}"


@dataclass
class _Pace:
    interval: float = 0.0  # minimum seconds between call starts; 0 = not paced
    next_start: float = 0.0
    resume_at: float = 0.0
    paused_at: float | None = None  # a 429 burst whose rate is still to be learned
    window: float = 1.0
    last_limited: float = float("-inf")
    accepted: deque[float] = field(default_factory=lambda: deque(maxlen=5000))  # answers other than 429
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(BULK_CONCURRENCY))


class Pacer:
    """Per (token, method) pacing shared by the retry handler and bulk jobs."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._paces: dict[str, _Pace] = {}

    def _pace(self, key: str) -> _Pace:
        pace = self._paces.get(key)
        if pace is None:
            pace = self._paces[key] = _Pace()
        return pace

    def interval(self, key: str) -> float:
        return self._pace(key).interval

    def answered(self, key: str, limited: bool) -> None:
        """Every answer of the method (paced or not, from any caller in this process) counts towards the rate."""
        if not limited:
            self._pace(key).accepted.append(self._clock())

    def _learn(self, pace: _Pace) -> None:
        """Once the burst that hit the limit has come back: the rate Slack accepted in the window before it."""
        end = pace.paused_at or 0.0
        accepted = sum(1 for t in pace.accepted if end - pace.window < t <= end)
        pace.paused_at = None
        if accepted < MIN_SAMPLE:
            return
        if pace.interval:
            # Already paced and limited again: never faster, and slower only if Slack accepted less than our pace.
            # (Compounding on every 429 would crawl to a halt when 429s come for reasons other than our rate.)
            pace.interval = max(pace.interval, pace.window / accepted)
        else:
            pace.interval = pace.window / accepted * SAFETY_MARGIN

    async def wait_turn(self, key: str) -> None:
        """Wait until a call may start: after any Retry-After pause, and spaced by the learned interval."""
        pace = self._pace(key)
        while True:
            now = self._clock()
            if pace.interval and now - pace.last_limited > FORGET_AFTER_SECONDS:
                pace.interval = 0.0
            start = max(pace.next_start, pace.resume_at, now)
            if start <= now:
                if pace.paused_at is not None:
                    self._learn(pace)
                    if pace.interval and pace.next_start < now:
                        pace.next_start = now
                    continue
                pace.next_start = now + pace.interval
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
        """Slack answered 429: everyone pauses for Retry-After; the allowed rate is learned when it ends."""
        pace = self._pace(key)
        now = self._clock()
        pace.last_limited = now
        if now >= pace.resume_at:
            pace.paused_at = now  # the first 429 of a burst
            pace.window = max(retry_after, 1.0)
        pace.resume_at = max(pace.resume_at, now + retry_after + RESUME_SLACK_SECONDS)
