"""Holding the fake's answers to chosen calls until the test lets them go (FakeSlack inherits this): a job that is
still running at a known point, without sleeping or slowing every call down.

`hold(method, when)` returns an event; every call of `method` whose parameters `when` accepts waits, before the fake
does anything for it, until the event is set (or the fake stops). Then it is answered as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class FakeHold:
    _stopping: asyncio.Event

    def hold(self, method: str, when: Callable[[dict[str, Any]], bool] = lambda _: True) -> asyncio.Event:
        released = asyncio.Event()
        self.__dict__.setdefault("_holds", []).append((method, when, released))
        return released

    async def _held(self, method: str, params: dict[str, Any]) -> None:
        for held_method, when, released in self.__dict__.get("_holds", []):
            if held_method == method and not released.is_set() and when(params):
                waits = {asyncio.ensure_future(self._stopping.wait()), asyncio.ensure_future(released.wait())}
                await asyncio.wait(waits, timeout=60, return_when=asyncio.FIRST_COMPLETED)  # bounded
                for waiting in waits:
                    waiting.cancel()
