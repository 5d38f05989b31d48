"""Waiting for the work a request started in the app (same event loop) to finish."""

from __future__ import annotations

import asyncio

from tests.helpers.fake_slack import FakeSlack

# Tasks that stand as long as the app: aiohttp's handlers of idle keep-alive connections, and the job runner's poller
# (started by the first bulk leave).
STANDING = ("RequestHandler.start", "JobRunner._loop")


def work_tasks() -> list[asyncio.Task]:
    """Running tasks other than the standing ones: what requests started and has not finished."""
    return [t for t in asyncio.all_tasks() if not any(s in repr(t.get_coro()) for s in STANDING)]


def busy_tasks() -> int:
    """How many tasks are at work in this loop (the app's listeners among them)."""
    return len(work_tasks())


async def settled(fake: FakeSlack, before: int) -> None:
    """Until what the app started after the ack has finished (bounded), so "nothing more was sent" can be asserted."""
    await fake.wait_for(lambda: busy_tasks() <= before, what="the app to finish its work after the ack")
