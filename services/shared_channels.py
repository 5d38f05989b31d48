"""Shared channels: which workspaces are connected (conversations.info, team.info) and disconnecting them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from slack_sdk.web.async_client import AsyncWebClient

from services.api_calls import call_outcome

MAX_TEAMS = 100  # a multi-select holds at most 100 options
_NAME_LOOKUPS_AT_ONCE = 5


@dataclass(frozen=True)
class SharedChannel:
    channel_id: str
    name: str | None
    host_team_id: str | None
    team_ids: tuple[str, ...]  # connected workspaces that may be disconnected (never the host)
    team_names: dict[str, str] = field(default_factory=dict)
    problem: str | None = None  # "not_shared", "general", "dm", or the error code of conversations.info

    def team_name(self, team_id: str | None) -> str | None:
        return self.team_names.get(team_id or "")


def channel_problem(channel: dict) -> str | None:
    """Why a channel cannot have workspaces disconnected, before any admin call; None when it can."""
    if channel.get("is_im") or channel.get("is_mpim") or str(channel.get("id", "")).startswith("D"):
        return "dm"
    if channel.get("is_general"):
        return "general"
    if not (channel.get("is_ext_shared") or channel.get("is_org_shared") or channel.get("is_shared")):
        return "not_shared"
    return None


def connected_teams(channel: dict) -> tuple[str | None, tuple[str, ...]]:
    """The host team and every other team connected to the channel, in Slack's order, once each."""
    host = channel.get("conversation_host_id") or channel.get("context_team_id")
    seen: list[str] = []
    for key in ("connected_team_ids", "shared_team_ids", "internal_team_ids"):
        for team_id in channel.get(key) or []:
            if isinstance(team_id, str) and team_id and team_id != host and team_id not in seen:
                seen.append(team_id)
    return (host if isinstance(host, str) else None), tuple(seen[:MAX_TEAMS])


async def team_names(client: AsyncWebClient, team_ids: Sequence[str]) -> dict[str, str]:
    """team.info for each team; a team Slack won't describe is simply left unnamed."""
    limit = asyncio.Semaphore(_NAME_LOOKUPS_AT_ONCE)

    async def one(team_id: str) -> tuple[str, str | None]:
        async with limit:
            body, error = await call_outcome(client.team_info(team=team_id))
        team = body.get("team") if error is None else None
        name = team.get("name") if isinstance(team, dict) else None
        return team_id, name if isinstance(name, str) and name.strip() else None

    found = await asyncio.gather(*(one(t) for t in dict.fromkeys(team_ids)))
    return {team_id: name for team_id, name in found if name}


async def describe_shared_channel(client: AsyncWebClient, channel_id: str) -> SharedChannel:
    """conversations.info then team.info; https://docs.slack.dev/reference/methods/conversations.info"""
    body, error = await call_outcome(client.conversations_info(channel=channel_id))
    channel = body.get("channel") if error is None else None
    if not isinstance(channel, dict):
        return SharedChannel(channel_id, None, None, (), problem=error or "unexpected_response")
    host, teams = connected_teams(channel)
    problem = channel_problem(channel) or (None if teams else "not_shared")
    names = await team_names(client, [t for t in (host, *teams) if t]) if problem is None else {}
    name = channel.get("name")
    return SharedChannel(channel_id, name if isinstance(name, str) else None, host, teams, names, problem)


@dataclass(frozen=True)
class DisconnectResult:
    team_id: str
    error: str | None  # None: disconnected

    @property
    def ok(self) -> bool:
        return self.error is None


async def disconnect_team(client: AsyncWebClient, admin_token: str, channel_id: str, team_id: str) -> DisconnectResult:
    """One workspace per call, with the Org Admin's user token (never the bot's).

    https://docs.slack.dev/reference/methods/admin.conversations.disconnectShared
    """
    body, error = await call_outcome(
        client.admin_conversations_disconnectShared(channel_id=channel_id, leaving_team_ids=team_id, token=admin_token)
    )
    if error is None and body.get("ok") is not True:
        error = "unexpected_response"
    return DisconnectResult(team_id, error)
