"""Who may disconnect shared channels: Org Admins and Owners, and the people in ADMIN_USER_IDS."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from services.api_calls import call_outcome

_ADMIN_FLAGS = ("is_admin", "is_owner", "is_primary_owner")


@dataclass(frozen=True)
class AdminCheck:
    allowed: bool
    reason: str  # "allow_list", "org_admin", "workspace_admin", "not_admin", or the error code of users.info

    @property
    def undecided(self) -> bool:
        """Refused because Slack couldn't say (users.info failed), not because the user isn't an admin."""
        return not self.allowed and self.reason not in ("not_admin", "no_user")


def is_admin_profile(user: dict) -> tuple[bool, str]:
    """Grid: enterprise_user's admin/owner flags; outside a Grid: the workspace's."""
    enterprise_user = user.get("enterprise_user")
    if isinstance(enterprise_user, dict) and any(enterprise_user.get(f) is True for f in _ADMIN_FLAGS):
        return True, "org_admin"
    if not isinstance(enterprise_user, dict) and any(user.get(f) is True for f in _ADMIN_FLAGS):
        return True, "workspace_admin"
    return False, "not_admin"


class AdminPolicy:
    def __init__(self, allow_list: Iterable[str] = ()) -> None:
        self._allow_list = frozenset(allow_list)

    async def check(self, client: AsyncWebClient, user_id: str) -> AdminCheck:
        """Asked afresh each time: a user demoted a minute ago is refused now. Any doubt refuses."""
        if not user_id:
            return AdminCheck(False, "no_user")
        if user_id in self._allow_list:
            return AdminCheck(True, "allow_list")
        body, error = await call_outcome(client.users_info(user=user_id))
        if error is not None:
            return AdminCheck(False, error)
        user = body.get("user")
        if not isinstance(user, dict) or user.get("id") != user_id or user.get("deleted") is True:
            return AdminCheck(False, "not_admin")
        allowed, reason = is_admin_profile(user)
        return AdminCheck(allowed, reason)
