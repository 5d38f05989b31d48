"""Commands' work after the ack, started in arrival order, with bounds on what is running and what is waiting.

Under a burst the work of a command (users.info, conversations.leave, the DM copy, the reply) used to queue for
connections in the shared HTTP pool one call at a time: past the pool's cap aiohttp hands out connections first come,
first served, so the first call of a later command went ahead of the last calls of an earlier one and every command
finished late. Here a command's work is started whole, in the order its ack was sent, and the pool is sized above what
runs (services.slack.client.connection_limit), so a command that has started never waits for a connection.

Bounds: at most `running` commands do their work at once (each holds at most one Web API connection at a time: its
calls are made one after another), at most `waiting` more are queued in arrival order. Past both, `submit` answers
False and the command is answered in its ack that nothing was done (listeners.commands.leave_channel): never lost
silently, never an unbounded queue.

A gate runs one kind of work (`run`, the same for every item) and a waiting command is only its item, not the
listener that received it: the Bolt request, its context and its task end with the ack. Under a flood thousands wait,
and each full collection of the garbage collector walks every object it tracks while the acks wait; an item of
strings only (services.leaving.one_channel.OneLeave) is one the collector stops tracking.

Acks first: while commands keep arriving (the last less than ARRIVING_SECONDS ago, refused ones included) the work
runs at two thirds of its share, so the acks keep the CPU they need; once the arrivals pause it runs at its whole
share, started at most START_AT_ONCE a turn of the loop. A burst is acked quickly and then worked at full speed; a
flood is acked quickly and worked at two thirds of the speed meanwhile (benchmarks/run.py, cases 1 and 6; a third
gave faster acks still and left the work three times slower, the whole share slower acks).

On shutdown (`drain`) nothing more is taken, the work goes on in its order for the grace period, then what still runs
is stopped and each command not finished (stopped, or never started) is told so once (`dropped`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Item = TypeVar("Item")

# Of the grace period, what is kept at its end for telling the commands still waiting that nothing was done.
DROP_NOTICE_SECONDS = 2.0
# Commands are "arriving" while the last came less than this long ago.
ARRIVING_SECONDS = 0.1
# Commands started in one turn of the event loop, at most (the rest at the next turns).
START_AT_ONCE = 100
# Shutdown notices sent at once, at most. Started all together, 5,000 notices had none finished after 2 s: each
# task's first steps wait behind every other's, so none gets to its answer (measured against the test fake: 0 of
# 5,000 told in the 2 s of a 10 s grace; 200 at a time, all 5,000 in under 2 s).
NOTICES_AT_ONCE = 200


class WorkGate(Generic[Item]):
    def __init__(
        self,
        running: int,
        waiting: int,
        run: Callable[[Item], Awaitable[None]],
        dropped: Callable[[Item], Awaitable[None]] | None = None,
        running_while_arriving: int | None = None,
        notices_at_once: int = NOTICES_AT_ONCE,
    ) -> None:
        self._run = run
        self._notices_at_once = max(1, notices_at_once)
        self._dropped = dropped
        self.running_limit = running
        self.waiting_limit = waiting
        # While commands keep arriving, their acks come first: the work runs at this share (two thirds by default)
        # and the rest waits until the arrivals pause (ARRIVING_SECONDS).
        self.arriving_limit = min(running, running_while_arriving or max(1, running * 2 // 3))
        self.peak_running = 0
        self.closed = False
        self._queue: deque[Item] = deque()
        self._tasks: dict[asyncio.Task[None], Item] = {}  # running, with its item (to tell its person it stopped)
        self._idle = asyncio.Event()
        self._idle.set()
        self._last_arrival = float("-inf")
        self._pause_check: asyncio.TimerHandle | None = None
        self._admitting = False  # more to start at the loop's next turn (START_AT_ONCE)
        self._draining: asyncio.Future[None] | None = None  # the one shutdown: a second drain waits for it

    @property
    def running(self) -> int:
        return len(self._tasks)

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @property
    def holders(self) -> int:
        """Commands taken and not done: running + waiting."""
        return self.running + len(self._queue)

    def submit(self, item: Item) -> bool:
        """Run the gate's work on `item` in its turn (at once if there is room); False, and nothing kept, past both
        bounds or once draining."""
        loop = asyncio.get_running_loop()
        self._last_arrival = loop.time()  # a refused command is an arrival too: its ack needs the CPU as well
        if self.closed or self.holders >= self.running_limit + self.waiting_limit:
            return False
        self._idle.clear()
        if self.running < self.arriving_limit and not self._queue:
            self._start(item)
        else:
            self._queue.append(item)
            if self._pause_check is None:
                self._pause_check = loop.call_at(self._last_arrival + ARRIVING_SECONDS, self._on_pause)
        return True

    def _limit(self) -> int:
        arriving = asyncio.get_running_loop().time() - self._last_arrival < ARRIVING_SECONDS
        return self.arriving_limit if arriving else self.running_limit

    def _on_pause(self) -> None:
        """A look after the last arrival: if none came since, the work gets its whole share."""
        loop = asyncio.get_running_loop()
        self._pause_check = None
        if loop.time() - self._last_arrival < ARRIVING_SECONDS:
            if self._queue:
                self._pause_check = loop.call_at(self._last_arrival + ARRIVING_SECONDS, self._on_pause)
            return
        self._admit()

    def _admit(self) -> None:
        """Start the next in the queue up to the limit, at most START_AT_ONCE in one turn of the loop: starting
        thousands in one callback would hold the loop for a third of a second, and an ack arriving then with it."""
        limit = self._limit()
        started = 0
        while self._queue and self.running < limit:
            if started == START_AT_ONCE:
                if not self._admitting:
                    self._admitting = True
                    asyncio.get_running_loop().call_soon(self._admit_more)
                return
            self._start(self._queue.popleft())
            started += 1

    def _admit_more(self) -> None:
        self._admitting = False
        self._admit()

    def _start(self, item: Item) -> None:
        task = asyncio.ensure_future(self._run(item))
        self._tasks[task] = item  # the loop keeps only a weak reference to a task
        self.peak_running = max(self.peak_running, self.running)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("Unexpected error in a command's work after its ack", exc_info=error)
        self._admit()
        if not self.holders:
            self._idle.set()

    async def drain(self, grace: float) -> None:
        """Shutdown: take nothing more; the work goes on, in its order, for `grace` seconds less the last
        DROP_NOTICE_SECONDS; then what still runs is stopped, and each command not finished is told so, once, in the
        order the commands came (the stopped ones first: they came before the waiting ones, and may have left their
        channel already), NOTICES_AT_ONCE at a time. Returns within `grace`; a second call waits for the first."""
        self.closed = True  # at once: a command arriving from now on is refused in its ack
        if self._draining is None:
            self._draining = asyncio.ensure_future(self._drain(grace))
        await asyncio.shield(self._draining)

    async def _drain(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        working = max(0.0, grace - min(DROP_NOTICE_SECONDS, grace / 4))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout=working)
        waiting = list(self._queue)
        self._queue.clear()
        if self._pause_check is not None:
            self._pause_check.cancel()
            self._pause_check = None
        stopped = list(self._tasks.items())  # in the order they started, which is the order they came
        for task, _ in stopped:
            task.cancel()
        if stopped:
            await asyncio.wait([task for task, _ in stopped], timeout=max(0.01, deadline - time.monotonic()))
        unfinished = deque([item for _, item in stopped] + waiting)
        if not unfinished:
            return
        count = len(unfinished)
        if self._dropped is None:
            logger.warning("Shut down with %s command(s) not finished", count)
            return
        told = 0

        async def tell(dropped: Callable[[Item], Awaitable[None]]) -> None:
            nonlocal told
            while unfinished:
                item = unfinished.popleft()
                with contextlib.suppress(Exception):  # not told: counted below
                    await dropped(item)
                    told += 1

        tellers = [asyncio.ensure_future(tell(self._dropped)) for _ in range(min(self._notices_at_once, count))]
        _, late = await asyncio.wait(tellers, timeout=max(0.1, deadline - time.monotonic()))
        for teller in late:
            teller.cancel()
        if told == count:
            logger.warning("Shut down with %s command(s) not finished: each was told so", told)
        else:
            logger.warning(
                "Shut down with %s command(s) not finished: %s told so, %s not within the grace period",
                count,
                told,
                count - told,
            )
