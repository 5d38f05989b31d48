"""Who may make the bot leave a channel: Slack's own rule for removing an app — someone in that channel, or an admin.

Admins are Org Admins and Owners (`enterprise_user.is_admin` / `is_owner` / `is_primary_owner` in users.info), the
workspace's admins and owners (`is_admin`, `is_owner`, `is_primary_owner`), and the people in ADMIN_USER_IDS — each
only when they belong to the installation serving the request (its Enterprise org, or outside one its workspace), so
an admin of a partner organization in a Slack Connect channel is not an admin here. Everyone else may make the bot
leave only the channels they are in. The audit channel (AUDIT_CHANNEL_ID) is never left by command, whoever asks.

Everything here runs after the ack: one users.info call, and for non-admins one paged users.conversations call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.disconnecting.admins import AdminPolicy, is_org_admin, org_of
from services.leaving.leave import PRIVATE_LIST_PAGE_SIZE, LeaveStatus
from services.slack.outcomes import call_outcome

# At most this many channels per /leave-channel (named or picked); the pick modal's select allows no more either.
MAX_LEAVE_CHANNELS = 1000

# users.conversations pages read for one person's channels (999 each, up to 99,900 channels); the reading stops as
# soon as every channel asked about has been seen.
_MEMBERSHIP_PAGES = 100
_WORKSPACE_ADMIN_FLAGS = ("is_admin", "is_owner", "is_primary_owner")

USERS_INFO = "users.info"
USERS_CONVERSATIONS = "users.conversations"
# Not a Slack code: the person's channels ran past _MEMBERSHIP_PAGES pages without naming every channel asked about.
MEMBERSHIP_UNFINISHED = "membership_list_too_long"


@dataclass(frozen=True)
class LeaveRights:
    """What the requester may make the bot leave: every channel not in `refused`, unless `error` says Slack couldn't
    confirm it (then nothing may be left)."""

    refused: dict[str, LeaveStatus] = field(default_factory=dict)
    admin: bool = False
    error: str | None = None  # the code Slack answered, when the check couldn't be made
    failed_method: str | None = None  # the method that answered it (users.info or users.conversations)
    # A non-admin's channels as listed (users.conversations says `is_private`): which of those asked are private.
    # None for an admin (nothing was listed).
    private: frozenset[str] | None = None


def belongs_here(user: dict[str, Any], org_id: str | None, team_id: str | None) -> bool:
    """Whether a users.info `user` belongs to the installation: its Enterprise org, or (outside one) its workspace."""
    if org_id:
        return org_of(user) == org_id
    return bool(team_id) and user.get("team_id") == team_id


def is_leave_admin(user: object, user_id: str, allow_listed: bool, org_id: str | None, team_id: str | None) -> bool:
    """An admin for /leave-channel: an Org Admin or Owner, a workspace admin or owner, or in ADMIN_USER_IDS — of
    this installation."""
    if not isinstance(user, dict) or user.get("id") != user_id or user.get("deleted") is True:
        return False
    if not belongs_here(user, org_id, team_id):
        return False
    return allow_listed or is_org_admin(user) or any(user.get(f) is True for f in _WORKSPACE_ADMIN_FLAGS)


class LeavePolicy:
    def __init__(self, admins: AdminPolicy, audit_channel_id: str | None) -> None:
        self._admins = admins
        self.audit_channel_id = audit_channel_id

    async def rights(
        self,
        client: AsyncWebClient,
        user_id: str,
        channel_ids: Sequence[str],
        org_id: str | None,
        team_id: str | None,
    ) -> LeaveRights:
        """Which of `channel_ids` `user_id` may make the bot leave. Admin first (users.info, one call); only a
        non-admin's channels are listed. Any doubt refuses everything (`error`)."""
        refused: dict[str, LeaveStatus] = {}
        if self.audit_channel_id and self.audit_channel_id in channel_ids:
            refused[self.audit_channel_id] = LeaveStatus.AUDIT_CHANNEL
        to_check = [c for c in channel_ids if c not in refused]
        if not to_check:
            return LeaveRights(refused)
        if not user_id:
            return LeaveRights(refused, error="user_not_found", failed_method=USERS_INFO)
        body, error = await call_outcome(client.users_info(user=user_id))
        if error is not None:
            return LeaveRights(refused, error=error, failed_method=USERS_INFO)
        if is_leave_admin(body.get("user"), user_id, self._admins.allow_listed(user_id), org_id, team_id):
            return LeaveRights(refused, admin=True)
        private: set[str] = set()
        member_of, error = await channels_of(client, user_id, to_check, private)
        if error is not None:
            return LeaveRights(refused, error=error, failed_method=USERS_CONVERSATIONS)
        refused.update((c, LeaveStatus.NOT_A_MEMBER) for c in to_check if c not in member_of)
        return LeaveRights(refused, private=frozenset(private))


async def channels_of(
    client: AsyncWebClient, user_id: str, wanted: Iterable[str], private: set[str] | None = None
) -> tuple[frozenset[str], str | None]:
    """Which of `wanted` the person is in, by users.conversations with `user` and the bot token; those of them
    that are private (`is_private`) are added to `private`.

    https://docs.slack.dev/reference/methods/users.conversations — "user: Browse a user's conversations by their
    user ID. Non-public channels are restricted to those where the calling user shares membership." So this lists
    the public channels the person is in and the private ones they share with the bot (the bot has to be in a
    private channel to leave it anyway). Archived channels are included (`exclude_archived` false), so an archived
    one is reported as archived, not as "you're not in it". Pages of 999 ("a max of 999", same page).
    """
    remaining = set(wanted)
    found: set[str] = set()
    cursor = None
    for _ in range(_MEMBERSHIP_PAGES):
        body, error = await call_outcome(
            client.users_conversations(
                user=user_id,
                types="public_channel,private_channel",
                exclude_archived=False,
                limit=PRIVATE_LIST_PAGE_SIZE,
                cursor=cursor,
            )
        )
        if error is not None:
            return frozenset(found), error
        for channel in body.get("channels") or []:
            channel_id = channel.get("id") if isinstance(channel, dict) else None
            if channel_id in remaining:
                remaining.discard(channel_id)
                found.add(channel_id)
                if private is not None and channel.get("is_private") is True:
                    private.add(channel_id)
        cursor = (body.get("response_metadata") or {}).get("next_cursor")
        if not remaining or not cursor:
            return frozenset(found), None
    return frozenset(found), MEMBERSHIP_UNFINISHED
