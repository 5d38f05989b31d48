"""Undoing a leave: rejoining the public channels just left (conversations.join)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.slack.bulk import each_paced
from services.slack.outcomes import call_outcome

logger = logging.getLogger(__name__)

# Answers worth pressing the button again for; anything else would fail the same way again.
RETRYABLE_JOIN_ERRORS = frozenset(
    {
        "ratelimited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "slack_unreachable",
        "slack_timeout",
        "slack_server_error",
        "unexpected_response",
    }
)


class JoinStatus(Enum):
    REJOINED = "rejoined"
    ALREADY_IN = "already_in"
    ARCHIVED = "archived"
    FAILED = "failed"


@dataclass(frozen=True)
class JoinResult:
    channel_id: str
    status: JoinStatus
    error: str | None = None

    @property
    def retryable(self) -> bool:
        return self.status is JoinStatus.FAILED and (self.error or "") in RETRYABLE_JOIN_ERRORS


def join_result(channel_id: str, body: dict[str, Any], error: str | None) -> JoinResult:
    """The one place that decides what conversations.join's answer means."""
    if error is None and body.get("ok") is True:
        warnings = (body.get("response_metadata") or {}).get("warnings") or []
        if body.get("warning") == "already_in_channel" or "already_in_channel" in warnings:
            return JoinResult(channel_id, JoinStatus.ALREADY_IN)
        return JoinResult(channel_id, JoinStatus.REJOINED)
    if error == "is_archived":
        return JoinResult(channel_id, JoinStatus.ARCHIVED)
    return JoinResult(channel_id, JoinStatus.FAILED, error or "unexpected_response")


async def join_channel(client: AsyncWebClient, channel_id: str) -> JoinResult:
    """conversations.join for the bot; https://docs.slack.dev/reference/methods/conversations.join"""
    body, error = await call_outcome(client.conversations_join(channel=channel_id))
    if error:
        logger.info("conversations.join %s: %s", channel_id, error)
    return join_result(channel_id, body, error)


async def join_channels(client: AsyncWebClient, channel_ids: Sequence[str]) -> list[JoinResult]:
    """Rejoin public channels, paced like leaving; each channel is tried once per press."""
    if not channel_ids:
        return []
    return await each_paced(client, "conversations.join", channel_ids, lambda c: join_channel(client, c))


# What conversations.join answers for a private channel the app has left: it can no longer see it
# (https://docs.slack.dev/reference/methods/conversations.join: `channel_not_found`; `method_not_supported_for_channel_type`
# for a conversation that can't be joined).
_PRIVATE_ANSWERS = frozenset({"channel_not_found", "method_not_supported_for_channel_type"})


def privacy_from_joins(
    results: Sequence[JoinResult], private_ids: Sequence[str], unknown_ids: Collection[str]
) -> tuple[list[JoinResult], list[str]]:
    """The join results and the private channels, with what the joins taught about channels whose privacy wasn't
    asked when they were left (a leave of one channel makes no call to learn it): such a channel that Slack no
    longer shows the app, a moment ago a member, is one it can't rejoin alone — a private channel (or one deleted
    since), explained with the /invite instructions like any known private one."""
    joined: list[JoinResult] = []
    private = list(private_ids)
    for result in results:
        if result.channel_id in unknown_ids and result.status is JoinStatus.FAILED and result.error in _PRIVATE_ANSWERS:
            private.append(result.channel_id)
        else:
            joined.append(result)
    return joined, private
