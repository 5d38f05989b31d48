"""Adaptive pacing of Web API calls: as fast as Slack allows, slower once it answers 429."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

# A bulk job runs at most this many calls at once per workspace token and method.
BULK_CONCURRENCY = 4
# What a 429 teaches: Slack accepted N calls in the window (Retry-After) before it. From then on a call goes when fewer
# than N of Slack's answers came back within the window plus WINDOW_SLACK_SECONDS (`_stretch`): N at once when
# the window opens, as Slack's own "burst" allows, rather than spaced evenly, which costs a whole window over a bulk job
# (200 calls at 20 a second: 9 s in bursts, 10 s spaced). Answers come back after Slack counted the call, so a window
# later by them is a window later by Slack's count. The learned interval, what other instances are told, is that
# stretch divided by N.
WINDOW_SLACK_SECONDS = 0.01


def _stretch(window: float) -> float:
    """How long N answers are counted as one window's."""
    return window + WINDOW_SLACK_SECONDS


# After this long without a 429, the learned spacing is forgotten.
FORGET_AFTER_SECONDS = 60.0
# Fewer accepted calls than this before a 429 say nothing about the rate (another caller used the quota, or the
# 429 was not about rate at all): honour Retry-After, but learn no pace from it.
MIN_SAMPLE = 5
# Retry-After is a whole number of seconds; wait a little past it so the window has really moved.
RESUME_SLACK_SECONDS = 0.05


# How often an instance re-reads the pace the others learned (a database read, only for paced bulk calls).
SHARED_REFRESH_SECONDS = 1.0
# A paced instance reserves the starts of this many seconds at once (one database write), at most 16 starts.
SHARED_BATCH_SECONDS = 0.25


class SharedPace(Protocol):
    """The pace every instance shares (services.storage.pace_rows.PaceRows); times are Unix seconds."""

    async def learned(self, key: str) -> tuple[float, float, float] | None: ...

    async def publish(self, key: str, *, interval: float, resume_at: float, limited_at: float) -> None: ...

    async def reserve(self, key: str, interval: float, now: float, count: int = 1) -> tuple[float, float] | None: ...


@functools.lru_cache(maxsize=4096)  # asked on every Web API answer: the same few tokens and methods
def pace_key(token: str | None, method: str) -> str:
    """Rate limits are per method and per workspace token; key on a digest, never the token itself."""
    digest = hashlib.sha256((token or "").encode()).hexdigest()[:16]
    return f"{digest}:{method}"


def _settle(tasks: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    def done(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: the shared pace is advisory, this instance's own pace stays in force

    return done


def _since(times: deque[float], cutoff: float) -> list[float]:
    """The times after `cutoff` (a deque in order), oldest first; read from the newest end."""
    found: list[float] = []
    for moment in reversed(times):
        if moment <= cutoff:
            break
        found.append(moment)
    found.reverse()
    return found


class FairSlots:
    """A semaphore whose free permits go round-robin across lanes (a lane per job).

    Each lane queues its own waiters; a released permit goes to the head of the lane after the one served last.
    So a job of 3,000 items and one of 2 alternate: the small one waits for a few permits, not behind the big one's
    whole queue (an asyncio.Semaphore is FIFO over every waiter).
    """

    def __init__(self, permits: int) -> None:
        self._free = permits
        self._lanes: dict[Hashable, deque[asyncio.Future[None]]] = {}  # insertion order is the rotation

    async def acquire(self, lane: Hashable) -> None:
        if self._free > 0 and not self._lanes:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._lanes.setdefault(lane, deque()).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the permit arrived with the cancellation: hand it on
            else:
                queue = self._lanes.get(lane)
                if queue is not None and waiter in queue:
                    queue.remove(waiter)
                    if not queue:
                        del self._lanes[lane]
            raise

    def release(self) -> None:
        while self._lanes:
            lane = next(iter(self._lanes))
            queue = self._lanes.pop(lane)
            waiter = queue.popleft()
            if queue:
                self._lanes[lane] = queue  # to the back of the rotation
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


@dataclass
class _Pace:
    interval: float = 0.0  # minimum seconds between call starts; 0 = not paced
    next_start: float = 0.0
    resume_at: float = 0.0
    paused_at: float | None = None  # a 429 burst whose rate is still to be learned
    window: float = 1.0
    burst: int = 0  # calls Slack accepted in `window` (learned here from a 429): 0 = spaced by `interval` only
    holding: int = 0  # bulk calls let in by the window and not answered yet (their slot not left)
    left: asyncio.Event = field(default_factory=asyncio.Event)  # set (and replaced) when such a call leaves its slot
    last_limited: float = float("-inf")
    accepted: deque[float] = field(default_factory=lambda: deque(maxlen=5000))  # answers other than 429
    slots: FairSlots = field(default_factory=lambda: FairSlots(BULK_CONCURRENCY))
    shared_interval: float = 0.0  # what the other instances learned (SharedPace)
    shared_read_at: float = float("-inf")
    shared_reading: asyncio.Lock = field(default_factory=asyncio.Lock)
    reserved: deque[float] = field(default_factory=deque)  # starts this instance reserved in the shared pace


class Pacer:
    """Per (token, method) pacing shared by the retry handler and bulk jobs."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedPace | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._paces: dict[str, _Pace] = {}
        self.shared = shared
        self._wall = wall
        self._publishing: set[asyncio.Task[None]] = set()
        self._publishing_keys: set[str] = set()

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

    def _learn(self, key: str, pace: _Pace) -> None:
        """Once the burst that hit the limit has come back: the rate Slack accepted in the window before it."""
        end = pace.paused_at or 0.0
        accepted = sum(1 for t in pace.accepted if end - pace.window < t <= end)
        pace.paused_at = None
        if accepted < MIN_SAMPLE:
            return
        stretch = _stretch(pace.window)
        if pace.interval:
            # Already paced and limited again: never faster, and slower only if Slack accepted less than our pace.
            # (Compounding on every 429 would crawl to a halt when 429s come for reasons other than our rate.)
            pace.interval = max(pace.interval, stretch / accepted)
            pace.burst = min(pace.burst or accepted, accepted)
        else:
            pace.interval = stretch / accepted
            pace.burst = accepted
        self._publish(key, pace)

    def _publish(self, key: str, pace: _Pace) -> None:
        """Tell the other instances the interval just learned (in the background: a 429's wait must not wait on the
        database; one write at a time per key)."""
        if self.shared is None or key in self._publishing_keys:
            return
        self._publishing_keys.add(key)
        wall_now, now = self._wall(), self._clock()
        task = asyncio.ensure_future(
            self.shared.publish(
                key,
                interval=pace.interval,
                resume_at=wall_now + max(pace.resume_at - now, 0.0),
                limited_at=wall_now - max(now - pace.last_limited, 0.0),
            )
        )
        self._publishing.add(task)
        task.add_done_callback(_settle(self._publishing))
        task.add_done_callback(lambda _: self._publishing_keys.discard(key))

    async def _shared_turn(self, key: str, pace: _Pace) -> None:
        """With other instances: adopt what they learned, and take the next start of the pace they all share."""
        if self.shared is None:
            return
        now = self._clock()
        try:
            if now - pace.shared_read_at >= SHARED_REFRESH_SECONDS:
                async with pace.shared_reading:  # callers arriving meanwhile wait for this read, not go unpaced
                    if self._clock() - pace.shared_read_at >= SHARED_REFRESH_SECONDS:
                        learned = await self.shared.learned(key)
                        pace.shared_read_at = self._clock()
                        if learned is not None:
                            interval, _resume_at, limited_at = learned
                            fresh = self._wall() - limited_at <= FORGET_AFTER_SECONDS
                            pace.shared_interval = interval if fresh else 0.0
            interval = max(pace.interval, pace.shared_interval)
            if not interval:
                return  # nobody has been limited lately: as fast as Slack lets us
            # Bursts (learned here): a window's worth of starts at once, all usable from its first, for a window.
            bursts = pace.burst > 0
            async with pace.shared_reading:
                valid_for = interval * pace.burst if bursts else interval
                while pace.reserved and pace.reserved[0] < self._wall() - valid_for:
                    pace.reserved.popleft()  # a start left unused is not made up for by a burst
                if not pace.reserved:
                    count = pace.burst if bursts else max(1, min(16, int(SHARED_BATCH_SECONDS / interval)))
                    reserved = await self.shared.reserve(key, interval, self._wall(), count)
                    if reserved is None:
                        return
                    first, step = reserved
                    pace.reserved.extend(first + (0 if bursts else n * step) for n in range(count))
                start = pace.reserved.popleft()
        except Exception:  # noqa: BLE001 - the local pace still holds
            return
        await asyncio.sleep(min(max(start - self._wall(), 0.0), 300.0))

    async def wait_turn(self, key: str, *, admit: bool = True, hold: bool = False) -> None:
        """Wait until a call may start: after any Retry-After pause, and spaced by the learned interval.

        Each caller reserves its start when it arrives (first come, first served: with FairSlots, the round-robin
        order of the jobs), and gives it up for a new one if a 429 pause began while it waited.

        With bursts learned, a call goes when fewer than `burst` answers (Slack's acceptances, whoever called) came
        back within the stretch of the window and, with `hold`, fewer than that are let in and unanswered besides
        (Pacer.slot counts its calls until they leave it). Counting answers, not starts, keeps the next window's calls
        at least a window after the ones Slack counted, whatever happened between a start and its send (a checkpoint,
        a busy loop). `admit=False` only waits out a pause.
        """
        pace = self._pace(key)
        retaken = False
        while True:
            now = self._clock()
            if pace.interval and now - pace.last_limited > FORGET_AFTER_SECONDS:
                pace.interval = 0.0
                pace.burst = 0
            if now < pace.resume_at:
                await asyncio.sleep(pace.resume_at - now)
                continue
            if pace.paused_at is not None:
                self._learn(key, pace)
                # The quiet minute counts from the end of the pause: with a Retry-After of 60 s or more, counting
                # from the 429 forgot the pace the moment it was learned.
                pace.last_limited = now
                if pace.interval and pace.next_start < now:
                    pace.next_start = now
                continue
            if pace.burst:
                if not admit:
                    return
                stretch = max(_stretch(pace.window), pace.interval * pace.burst)
                recent = _since(pace.accepted, now - stretch)
                if len(recent) + (pace.holding if hold else 0) >= pace.burst:
                    # Until the oldest answer in the stretch leaves it, or a call let in leaves its slot (answered,
                    # it was counted twice meanwhile).
                    left = pace.left
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout((recent[0] + stretch - now) if recent else pace.interval):
                            await left.wait()
                    continue
                if hold:
                    pace.holding += 1
                return
            start = max(pace.next_start, now)
            pace.next_start = start + pace.interval
            if start > now:
                await asyncio.sleep(start - now)
                if pace.resume_at > self._clock():
                    continue  # a 429 came meanwhile: wait for its pause, then take a new turn
                if not retaken and self._clock() - start > pace.interval / 2:
                    # Woken late (a busy loop): the turns due meanwhile would all go at once, a burst Slack may
                    # count against the limit. Once per call, take a new turn instead.
                    retaken = True
                    continue
            return

    @asynccontextmanager
    async def slot(self, key: str, lane: Hashable = None) -> AsyncIterator[None]:
        """A bulk call: bounded concurrency shared round-robin between lanes (jobs), then wait for its turn."""
        pace = self._pace(key)
        await pace.slots.acquire(lane)
        held = False
        try:
            await self.wait_turn(key, admit=False)
            # Bulk work only (always after the ack): a single call's retry never waits on the database.
            await self._shared_turn(key, pace)
            if pace.burst:
                await self.wait_turn(key, hold=True)
                held = pace.burst > 0
            yield
        finally:
            if held:
                pace.holding -= 1
                pace.left.set()
                pace.left = asyncio.Event()
            pace.slots.release()

    def rate_limited(self, key: str, retry_after: float) -> None:
        """Slack answered 429: every caller in this process pauses for Retry-After; the allowed rate is learned when it
        ends, and only that interval reaches the other instances (each pauses on its own 429s)."""
        pace = self._pace(key)
        now = self._clock()
        pace.last_limited = now
        if now >= pace.resume_at:
            pace.paused_at = now  # the first 429 of a burst
            pace.window = max(retry_after, 1.0)
        pace.resume_at = max(pace.resume_at, now + retry_after + RESUME_SLACK_SECONDS)
