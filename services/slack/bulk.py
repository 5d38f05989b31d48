"""Many calls of one method after the ack: bounded concurrency, paced by what Slack accepts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from slack_sdk.web.async_client import AsyncWebClient

from services.slack.client import pacer_of
from services.slack.pacing import pace_key

ProgressCallback = Callable[[int, int], Awaitable[None]]
Result = TypeVar("Result")


async def each_paced(
    client: AsyncWebClient,
    method: str,
    channel_ids: Sequence[str],
    one: Callable[[str], Awaitable[Result]],
    on_progress: ProgressCallback | None = None,
) -> list[Result]:
    """`one(channel_id)` for every channel, in the order given; a single channel is never paced."""
    if len(channel_ids) == 1:
        return [await one(channel_ids[0])]
    pacer = pacer_of(client)
    key = pace_key(client.token, method)
    results: dict[str, Result] = {}

    async def paced(channel_id: str) -> None:
        async with pacer.slot(key):
            results[channel_id] = await one(channel_id)
        if on_progress is not None:
            await on_progress(len(results), len(channel_ids))

    await asyncio.gather(*(paced(c) for c in channel_ids))
    return [results[c] for c in channel_ids]
