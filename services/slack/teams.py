"""Workspaces and organisations by ID: which kind an ID is, and what team.info says of a workspace."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.slack.outcomes import call_outcome

_LOOKUPS_AT_ONCE = 5
ORG_NAME_PAGES = 10  # naming partner orgs reads at most 1,000 partners of the directory


def is_org_id(team_id: str) -> bool:
    """An Enterprise org's ID (`E…`), as opposed to a workspace's (`T…`)."""
    return team_id.startswith("E")


async def team_facts(client: AsyncWebClient, team_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """team.info for each workspace ID (`T…`); a team Slack won't describe is left out.

    https://docs.slack.dev/reference/methods/team.info documents workspace look-ups only, so org IDs (`E…`) are
    never sent: an organisation's name comes from the partner directory (org_names).
    """
    limit = asyncio.Semaphore(_LOOKUPS_AT_ONCE)

    async def one(team_id: str) -> tuple[str, dict[str, Any] | None]:
        async with limit:
            body, error = await call_outcome(client.team_info(team=team_id))
        team = body.get("team") if error is None else None
        return team_id, team if isinstance(team, dict) else None

    wanted = [t for t in dict.fromkeys(team_ids) if t and not is_org_id(t)]
    found = await asyncio.gather(*(one(t) for t in wanted))
    return {team_id: team for team_id, team in found if team is not None}


def team_name(team: dict[str, Any]) -> str | None:
    """A workspace's name from its team.info record, if it has one."""
    name = team.get("name")
    return name if isinstance(name, str) and name.strip() else None


async def team_names(client: AsyncWebClient, team_ids: Sequence[str]) -> dict[str, str]:
    """Workspace names by ID (team.info); organisations (their names are in the partner directory: org_names, asked
    only where an admin reads them, not on every audit line) and teams Slack won't describe are left unnamed."""
    facts = await team_facts(client, team_ids)
    return {team_id: name for team_id, team in facts.items() if (name := team_name(team))}


async def org_names(client: AsyncWebClient, org_ids: Sequence[str], max_pages: int = ORG_NAME_PAGES) -> dict[str, str]:
    """Partner organisations' names (`E…`) from team.externalTeams.list
    (https://docs.slack.dev/reference/methods/team.externalTeams.list: every organization connected to ours, with
    `team_name`; a bot token with `team:read` and `conversations.connect:manage`, Enterprise Grid only), read until
    every one asked for is named (at most `max_pages` pages of 100); {} when Slack won't list them."""
    wanted = {o for o in org_ids if o}
    names: dict[str, str] = {}
    cursor: str | None = None
    for _ in range(max_pages if wanted else 0):
        body, error = await call_outcome(
            client.team_externalTeams_list(cursor=cursor, limit=100, sort_field="team_name", sort_direction="asc")
        )
        if error is not None:
            break
        for entry in body.get("organizations") or []:
            team_id = entry.get("team_id") if isinstance(entry, dict) else None
            name = entry.get("team_name") if isinstance(entry, dict) else None
            if team_id in wanted and isinstance(name, str) and name.strip():
                names[team_id] = name
        metadata = body.get("response_metadata")
        following = metadata.get("next_cursor") if isinstance(metadata, dict) else None
        if wanted <= names.keys() or not isinstance(following, str) or not following:
            break
        cursor = following
    return names
