"""What the fake Slack knows of offboarding at size: admin.conversations.search's channel types, and a modal stack's
Close (FakeSlack inherits this).

- `search_channel_types` (https://docs.slack.dev/reference/methods/admin.conversations.search: "For example private
  will search private channels, while private_exclude will exclude them"): private channels are searched only when
  asked, and only if the token's user "has permission to manage private channels on the org" — by default only the
  Primary Owner — otherwise `not_allowed` (../shared/slack-facts.md, "Slack Connect partners at real size").
  `private_channel_managers` grants it to others (Slack's Channel Management role with private channels).
- A search's cursor pages one result set: the first page's, kept for the pages after it (a cursor "points at the next
  page of results", https://docs.slack.dev/apis/web-api/pagination), so channels disconnected while an app pages
  through don't shift the pages after them; a search from the start sees Slack as it is now.
- A modal's Close: `clear_on_close: true` closes the whole stack, otherwise Close goes back to the view below
  (https://docs.slack.dev/reference/views/modal-views; ../shared/slack-facts.md, "Payload and message sizes").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _types(value: Any) -> set[str]:
    if isinstance(value, list):
        return {str(v).strip() for v in value if str(v).strip()}
    return {v.strip() for v in str(value or "").split(",") if v.strip()}


class FakeOffboard:
    users: dict[str, dict[str, Any]]
    views: dict[str, dict[str, Any]]

    @property
    def private_channel_managers(self) -> set[str]:
        """Users besides the Primary Owner who may manage (and so search) private channels."""
        return self.__dict__.setdefault("_private_channel_managers", set())

    @property
    def view_below(self) -> dict[str, str]:
        """A pushed view's ID → the view it was pushed on (the stack)."""
        return self.__dict__.setdefault("_view_below", {})

    def may_manage_private(self, user_id: str | None) -> bool:
        user = self.users.get(user_id or "") or {}
        return user.get("is_primary_owner") is True or user_id in self.private_channel_managers

    def _search_kinds(self, params: dict, identity: dict) -> Callable[[Any], bool] | dict:
        """Which channels a search covers, by its `search_channel_types`; or the error Slack answers."""
        kinds = _types(params.get("search_channel_types"))
        if "private" in kinds:
            if not self.may_manage_private(identity.get("user_id")):
                return {"ok": False, "error": "not_allowed"}
            return lambda channel: bool(channel.is_private)
        return lambda channel: not channel.is_private  # private_exclude, or not asked: public channels only

    def _search_snapshot(self, params: dict, org: str | None, matching: Callable[[], list[Any]]) -> list[Any]:
        snapshots: dict[tuple[Any, ...], list[Any]] = self.__dict__.setdefault("_search_snapshots", {})
        fields = ("connected_team_ids", "team_ids", "query", "search_channel_types")
        key: tuple[Any, ...] = (org, *(str(params.get(k) or "") for k in fields))
        if params.get("cursor") and key in snapshots:
            return snapshots[key]
        snapshots[key] = found = matching()
        return found

    def close_view(self, view_id: str) -> str | None:
        """The user presses Close: the view shown next (the one below), or None when the stack is gone."""
        view = self.views.get(view_id) or {}
        if view.get("clear_on_close"):
            return None
        return self.view_below.get(view_id)
