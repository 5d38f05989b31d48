"""Leaving channels with the bot token (conversations.leave), one or many."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.slack.bulk import ProgressCallback, each_paced
from services.slack.outcomes import call_outcome

logger = logging.getLogger(__name__)

# users.conversations' page size: "specify a limit value with a max of 999"
# (https://docs.slack.dev/reference/methods/users.conversations, Pagination; the older api.slack.com page said
# "no larger than 1000": 999 is within both).
PRIVATE_LIST_PAGE_SIZE = 999
# Pages to read when learning which channels are private (up to 4,995 channels).
_PRIVATE_LIST_PAGES = 5


class LeaveStatus(Enum):
    LEFT = "left"
    NOT_IN_CHANNEL = "not_in_channel"
    FAILED = "failed"
    # Not asked of Slack (services.leaving.policy): the requester isn't in the channel and isn't an admin; the channel
    # is the audit channel.
    NOT_A_MEMBER = "not_a_member"
    AUDIT_CHANNEL = "audit_channel"


@dataclass(frozen=True)
class LeaveResult:
    channel_id: str
    status: LeaveStatus
    error: str | None = None


@dataclass(frozen=True)
class LeaveOutcome:
    """Every channel asked for, each exactly once, in the order asked."""

    results: tuple[LeaveResult, ...]
    private_ids: frozenset[str] = frozenset()  # channels known to be private (the app can't rejoin those alone)
    # Channels whose privacy wasn't asked of Slack (a leave of one channel): the Rejoin press learns it from
    # conversations.join's answer (services.leaving.rejoin.privacy_from_joins).
    unknown_ids: frozenset[str] = frozenset()

    def with_status(self, status: LeaveStatus) -> list[LeaveResult]:
        return [r for r in self.results if r.status is status]


def result_from_response(channel_id: str, body: dict[str, Any] | None, error: str | None) -> LeaveResult:
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
    refused: Mapping[str, LeaveStatus] | None = None,
    known_private: frozenset[str] | None = None,
) -> LeaveOutcome:
    """Leave channels after the ack, many at once but paced.

    Channels in `refused` (services.leaving.policy) are not left: they are reported with their reason, in the order
    asked, and count as done in the progress. Which channels are private (for the Rejoin button) is `known_private`
    when the caller learnt it for free (a member's own channel list); otherwise, for more than one channel, one
    listing of the bot's private channels first (private_channel_ids); a single channel is left with no call but
    its leave, its privacy left to the Rejoin press (LeaveOutcome.unknown_ids).
    """
    refused = refused or {}
    to_leave = [c for c in channel_ids if c not in refused]
    if not to_leave:
        return LeaveOutcome(tuple(LeaveResult(c, refused[c]) for c in channel_ids))
    skipped = len(channel_ids) - len(to_leave)

    async def progress(done: int, total: int) -> None:
        if on_progress is not None:
            await on_progress(done + skipped, total + skipped)

    private = known_private
    if private is None and len(to_leave) > 1:
        private = await private_channel_ids(client)
    left = await each_paced(client, "conversations.leave", to_leave, lambda c: leave_channel(client, c), progress)
    by_channel = {r.channel_id: r for r in left}
    results = tuple(by_channel.get(c) or LeaveResult(c, refused[c]) for c in channel_ids)
    if private is None:
        return LeaveOutcome(results, unknown_ids=frozenset(to_leave))
    return LeaveOutcome(results, frozenset(c for c in to_leave if c in private))


async def private_channel_ids(client: AsyncWebClient) -> frozenset[str]:
    """The private channels the app is in (users.conversations), known before it leaves any.

    Private channel IDs may start with C like public ones, and once the app has left one it can no longer see it;
    this is what lets the Rejoin button tell the two apart. Any failure means "not known": the join says the rest.
    """
    found: set[str] = set()
    cursor = None
    for _ in range(_PRIVATE_LIST_PAGES):
        body, error = await call_outcome(
            client.users_conversations(
                types="private_channel", exclude_archived=True, limit=PRIVATE_LIST_PAGE_SIZE, cursor=cursor
            )
        )
        if error is not None:
            logger.info("users.conversations: %s", error)
            break
        found.update(
            c["id"] for c in body.get("channels") or [] if isinstance(c, dict) and isinstance(c.get("id"), str)
        )
        cursor = (body.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return frozenset(found)
