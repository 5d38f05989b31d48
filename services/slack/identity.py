"""Who the app is, checked once at start-up (auth.test), so no request waits for it before its ack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.slack.outcomes import call_outcome

_REJECTED = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_allowed_token_type",
}
_UNREACHABLE = {"slack_unreachable", "slack_timeout", "slack_server_error", "unexpected_response"}


class StartupError(Exception):
    """The app cannot start; the message is one line for the operator."""


@dataclass(frozen=True)
class BotIdentity:
    team_id: str | None
    enterprise_id: str | None
    user_id: str | None
    bot_id: str | None


async def _auth_test(client: AsyncWebClient, token: str, api_url: str, setting: str, rejected: str) -> dict[str, Any]:
    """auth.test for a configured token; any failure ends start-up with one line naming `setting`."""
    body, error = await call_outcome(client.auth_test(token=token))
    if error in _REJECTED:
        raise StartupError(f"{setting} was rejected by Slack ({error}): {rejected}")
    if error in _UNREACHABLE:
        raise StartupError(
            f"Could not reach the Slack Web API at {api_url} ({error}): check SLACK_API_URL and the network."
        )
    if error is not None:
        raise StartupError(f"Slack refused auth.test for {setting} ({error}): check {setting}.")
    return body


async def identify_bot(client: AsyncWebClient, token: str, api_url: str) -> BotIdentity:
    """auth.test with the bot token; https://docs.slack.dev/reference/methods/auth.test"""
    body = await _auth_test(
        client,
        token,
        api_url,
        "SLACK_BOT_TOKEN",
        "copy the current Bot User OAuth Token from OAuth & Permissions in your app's settings (reinstall the app "
        "if it was removed).",
    )
    return BotIdentity(
        team_id=body.get("team_id"),
        enterprise_id=body.get("enterprise_id"),
        user_id=body.get("user_id"),
        bot_id=body.get("bot_id"),
    )


async def admin_token_org(client: AsyncWebClient, token: str, api_url: str) -> str:
    """The Enterprise org SLACK_ADMIN_TOKEN belongs to (auth.test's `enterprise_id`); it is used for that org only.

    https://docs.slack.dev/reference/methods/auth.test: "When working against a team within an Enterprise
    organization, you'll also find their enterprise_id here."
    """
    body = await _auth_test(
        client,
        token,
        api_url,
        "SLACK_ADMIN_TOKEN",
        "copy the current User OAuth Token (xoxp-…) of the Org Admin's org-wide install, or unset it.",
    )
    org = body.get("enterprise_id")
    if not isinstance(org, str) or not org:
        raise StartupError(
            "SLACK_ADMIN_TOKEN isn't from an Enterprise org (Slack's auth.test names no enterprise_id): admin tokens "
            "exist only on Enterprise orgs. Unset it, or use an Org Admin's token from an org-wide install."
        )
    return org
