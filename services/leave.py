"""Leaving channels with the bot token (conversations.leave), one or many."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from slack_sdk.web.async_client import AsyncWebClient

from services.api_calls import call_outcome
from services.pacing import pace_key
from services.slack_client import pacer_of

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], Awaitable[None]]


class LeaveStatus(Enum):
    LEFT = "left"
    NOT_IN_CHANNEL = "not_in_channel"
    FAILED = "failed"


@dataclass(frozen=True)
class LeaveResult:
    channel_id: str
    status: LeaveStatus
    error: str | None = None


@dataclass(frozen=True)
class LeaveOutcome:
    """Every channel asked for, each exactly once, in the order asked."""

    results: tuple[LeaveResult, ...]

    def with_status(self, status: LeaveStatus) -> list[LeaveResult]:
        return [r for r in self.results if r.status is status]


def result_from_response(channel_id: str, body: dict | None, error: str | None) -> LeaveResult:
    """The one place that decides what conversations.leave's answer means."""
    body = body or {}
    # Not a member: `not_in_channel: true` with `ok` false (the reference) or true (other versions).
    if body.get("not_in_channel") is True:
        return LeaveResult(channel_id, LeaveStatus.NOT_IN_CHANNEL)
    if error is None and body.get("ok") is True:
        return LeaveResult(channel_id, LeaveStatus.LEFT)
    return LeaveResult(channel_id, LeaveStatus.FAILED, error or "unexpected_response")


async def leave_channel(client: AsyncWebClient, channel_id: str) -> LeaveResult:
    """conversations.leave for the bot; https://docs.slack.dev/reference/methods/conversations.leave"""
    body, error = await call_outcome(client.conversations_leave(channel=channel_id))
    if error:
        logger.info("conversations.leave %s: %s", channel_id, error)
    return result_from_response(channel_id, body, error)


async def leave_channels(
    client: AsyncWebClient,
    channel_ids: Sequence[str],
    on_progress: ProgressCallback | None = None,
) -> LeaveOutcome:
    """Leave many channels after the ack: bounded concurrency, paced by what Slack accepts."""
    if len(channel_ids) == 1:
        return LeaveOutcome((await leave_channel(client, channel_ids[0]),))
    pacer = pacer_of(client)
    key = pace_key(client.token, "conversations.leave")
    results: dict[str, LeaveResult] = {}

    async def leave_one(channel_id: str) -> None:
        async with pacer.slot(key):
            results[channel_id] = await leave_channel(client, channel_id)
        if on_progress is not None:
            await on_progress(len(results), len(channel_ids))

    await asyncio.gather(*(leave_one(c) for c in channel_ids))
    return LeaveOutcome(tuple(results[c] for c in channel_ids))
