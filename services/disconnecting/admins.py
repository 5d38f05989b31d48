"""Who may disconnect shared channels: Org Admins and Owners of the org being acted on, and ADMIN_USER_IDS in it.

Admin power is bound to one Enterprise org: the org of the installation serving the request. Someone from another
org (a partner's admin in a Slack Connect channel, the owner of another installed workspace) never counts, and
neither does a standalone workspace's admin: admin.conversations.disconnectShared exists only on Enterprise orgs
(../shared/seeds/admin.conversations.disconnectShared.txt: "only available to Slack workspaces on an Enterprise plan").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.slack.outcomes import call_outcome

_ADMIN_FLAGS = ("is_admin", "is_owner", "is_primary_owner")
# Refusals that are an answer, not a doubt: asking again won't change them.
_DECIDED = frozenset({"not_admin", "no_user", "not_an_enterprise", "other_org"})


@dataclass(frozen=True)
class AdminCheck:
    allowed: bool
    reason: str  # "allow_list", "org_admin", "not_admin", "not_an_enterprise", "other_org", or users.info's error

    @property
    def undecided(self) -> bool:
        """Refused because Slack couldn't say (users.info failed), not because the user isn't an admin."""
        return not self.allowed and self.reason not in _DECIDED


def org_of(user: dict[str, Any]) -> str | None:
    """The Enterprise org a users.info `user` belongs to (`enterprise_user.enterprise_id`), if any."""
    enterprise_user = user.get("enterprise_user")
    org = enterprise_user.get("enterprise_id") if isinstance(enterprise_user, dict) else None
    return org if isinstance(org, str) and org else None


def is_org_admin(user: dict[str, Any]) -> bool:
    """Org Admin or Owner: the flags of `enterprise_user` (a workspace admin in a Grid org is not one)."""
    enterprise_user = user.get("enterprise_user")
    return isinstance(enterprise_user, dict) and any(enterprise_user.get(f) is True for f in _ADMIN_FLAGS)


class AdminPolicy:
    def __init__(self, allow_list: Iterable[str] = ()) -> None:
        self._allow_list = frozenset(allow_list)

    def allow_listed(self, user_id: str) -> bool:
        """In ADMIN_USER_IDS (settings.admin_user_ids)."""
        return user_id in self._allow_list

    async def check(self, client: AsyncWebClient, user_id: str, org_id: str | None) -> AdminCheck:
        """May `user_id` disconnect channels of `org_id`? Asked afresh each time; any doubt refuses.

        https://docs.slack.dev/reference/methods/users.info (`enterprise_user`, as in
        ../shared/slack-samples/api/users.info.json).
        """
        if not user_id:
            return AdminCheck(False, "no_user")
        if not org_id:
            return AdminCheck(False, "not_an_enterprise")
        body, error = await call_outcome(client.users_info(user=user_id))
        if error is not None:
            return AdminCheck(False, error)
        user = body.get("user")
        if not isinstance(user, dict) or user.get("id") != user_id or user.get("deleted") is True:
            return AdminCheck(False, "not_admin")
        if org_of(user) != org_id:
            return AdminCheck(False, "other_org")
        if user_id in self._allow_list:
            return AdminCheck(True, "allow_list")
        if is_org_admin(user):
            return AdminCheck(True, "org_admin")
        return AdminCheck(False, "not_admin")
