"""Reading the parts of Slack's payloads every listener needs, defensively (a field may be missing or odd)."""

from __future__ import annotations

from typing import Any


def user_id_of(body: dict) -> str:
    """Who acted: `user_id` (slash commands) or `user.id` (interactions); "" when neither is usable."""
    user = body.get("user")
    user_id = body.get("user_id") or (user.get("id") if isinstance(user, dict) else None)
    return user_id if isinstance(user_id, str) else ""


def installation_org(context: Any) -> str | None:
    """The Enterprise org of the installation serving this request (our authorizers put it in the result).

    Not the payload's `enterprise_id`, which is the acting user's org: in a Slack Connect channel that can be a
    partner's. None outside an Enterprise org.
    """
    result = context.get("authorize_result") if hasattr(context, "get") else None
    org = getattr(result, "enterprise_id", None) if result is not None else None
    return org if isinstance(org, str) and org else None


def installation_team(context: Any) -> str | None:
    """The workspace of the installation serving this request (None for an org-wide install), not the payload's:
    in a Slack Connect channel the payload's `team_id` can be a partner's."""
    result = context.get("authorize_result") if hasattr(context, "get") else None
    team = getattr(result, "team_id", None) if result is not None else None
    return team if isinstance(team, str) and team else None
