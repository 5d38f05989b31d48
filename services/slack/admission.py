"""Commands' work after the ack, let in by arrival order, with bounds on what is running and what is waiting.

Under a burst the work of a command (users.info, conversations.leave, the DM copy, the reply) used to queue for
connections in the shared HTTP pool one call at a time: past the pool's cap aiohttp hands out connections first come,
first served, so the first call of a later command went ahead of the last calls of an earlier one and every command
finished late. Here a command is let in whole, in the order its ack was sent, and the pool is sized above what is let
in (services.slack.client.connection_limit), so a command that has started never waits for a connection.

Bounds: at most `running` commands do their work at once (each holds at most one Web API connection at a time: its
calls are made one after another), at most `waiting` more are queued in arrival order, each a few kilobytes (the
command's fields and a suspended task). Past both, `enter` answers None and the command is answered in its ack that
nothing was done (listeners.commands.leave_channel): never lost silently, never an unbounded queue.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType


class WorkGate:
    def __init__(self, running: int, waiting: int) -> None:
        self.running_limit = running
        self.waiting_limit = waiting
        self.running = 0
        self.holders = 0  # tickets handed out and not done: running + waiting
        self.peak_running = 0
        self._queue: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return self.holders - self.running

    def enter(self) -> Ticket | None:
        """A place in the queue, taken at once (before the ack); None when the running and the waiting are full."""
        if self.holders >= self.running_limit + self.waiting_limit:
            return None
        self.holders += 1
        return Ticket(self)

    async def _turn(self) -> None:
        if self.running < self.running_limit and not self._queue:
            self._start()
            return
        turn = asyncio.get_running_loop().create_future()
        self._queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._stop()  # let in just as it was cancelled: the place goes to the next one
            else:
                self._queue.remove(turn)
            raise

    def _start(self) -> None:
        self.running += 1
        self.peak_running = max(self.peak_running, self.running)

    def _stop(self) -> None:
        self.running -= 1
        while self._queue and self.running < self.running_limit:
            turn = self._queue.popleft()
            if not turn.done():
                self._start()
                turn.set_result(None)

    def _leave(self, started: bool) -> None:
        self.holders -= 1
        if started:
            self._stop()


class Ticket:
    """One command's place: `async with ticket:` waits for its turn, and gives the place up when the work ends."""

    def __init__(self, gate: WorkGate) -> None:
        self._gate = gate
        self._started = False
        self._done = False

    async def __aenter__(self) -> Ticket:
        try:
            await self._gate._turn()
        except BaseException:
            self.close()
            raise
        self._started = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Give the place up (once), whether or not its turn came."""
        if not self._done:
            self._done = True
            self._gate._leave(self._started)
            self._started = False
