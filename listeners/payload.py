"""Reading the parts of Slack's payloads every listener needs, defensively (a field may be missing or odd)."""

from __future__ import annotations


def user_id_of(body: dict) -> str:
    """Who acted: `user_id` (slash commands) or `user.id` (interactions); "" when neither is usable."""
    user = body.get("user")
    user_id = body.get("user_id") or (user.get("id") if isinstance(user, dict) else None)
    return user_id if isinstance(user_id, str) else ""
