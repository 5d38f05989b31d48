"""Names for the IDs in the audit log (people, channels, workspaces), looked up once and remembered for a while."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.slack.outcomes import call_outcome
from services.slack.teams import team_names

NAME_TTL_SECONDS = 600.0
_MAX_REMEMBERED = 5000
_LOOKUPS_AT_ONCE = 5


def user_name(user: dict[str, Any]) -> str | None:
    """What people call someone in Slack: the full name, else the display name, else the handle."""
    profile = user.get("profile")
    if not isinstance(profile, dict):
        profile = {}
    for value in (profile.get("real_name"), user.get("real_name"), profile.get("display_name"), user.get("name")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def installation_key(enterprise_id: str | None, team_id: str | None) -> str:
    """Whose token read a name: names are never shared across installations (a private channel's name is private)."""
    return f"{enterprise_id or '-'}/{team_id or '-'}"


class NameBook:
    """Successful look-ups are kept for NAME_TTL_SECONDS, per installation; failures are asked again next time."""

    def __init__(self, ttl: float = NAME_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._known: OrderedDict[tuple[str, str, str], tuple[float, str]] = OrderedDict()

    def _remembered(self, scope: str, kind: str, ids: Iterable[str]) -> tuple[dict[str, str], list[str]]:
        found: dict[str, str] = {}
        missing: list[str] = []
        now = self._clock()
        for id_ in dict.fromkeys(i for i in ids if i):
            entry = self._known.get((scope, kind, id_))
            if entry is not None and now - entry[0] < self._ttl:
                found[id_] = entry[1]
            else:
                missing.append(id_)
        return found, missing

    def _remember(self, scope: str, kind: str, names: dict[str, str]) -> None:
        now = self._clock()
        for id_, name in names.items():
            self._known[(scope, kind, id_)] = (now, name)
            self._known.move_to_end((scope, kind, id_))
        while len(self._known) > _MAX_REMEMBERED:
            self._known.popitem(last=False)

    async def _names(
        self, scope: str, kind: str, ids: Iterable[str], look_up: Callable[[list[str]], Awaitable[dict[str, str]]]
    ) -> dict[str, str]:
        found, missing = self._remembered(scope, kind, ids)
        if missing:
            fresh = await look_up(missing)
            self._remember(scope, kind, fresh)
            found.update(fresh)
        return found

    async def users(self, client: AsyncWebClient, scope: str, user_ids: Iterable[str]) -> dict[str, str]:
        async def look_up(ids: list[str]) -> dict[str, str]:
            return await _each(ids, lambda i: _user(client, i))

        return await self._names(scope, "user", user_ids, look_up)

    async def channels(self, client: AsyncWebClient, scope: str, channel_ids: Iterable[str]) -> dict[str, str]:
        """Channel names without the #; a private channel the app isn't in stays unnamed."""

        async def look_up(ids: list[str]) -> dict[str, str]:
            return await _each(ids, lambda i: _channel(client, i))

        return await self._names(scope, "channel", channel_ids, look_up)

    async def teams(self, client: AsyncWebClient, scope: str, team_ids: Iterable[str]) -> dict[str, str]:
        return await self._names(scope, "team", team_ids, lambda ids: team_names(client, ids))


async def _each(ids: list[str], one: Callable[[str], Awaitable[str | None]]) -> dict[str, str]:
    limit = asyncio.Semaphore(_LOOKUPS_AT_ONCE)

    async def limited(id_: str) -> tuple[str, str | None]:
        async with limit:
            return id_, await one(id_)

    return {id_: name for id_, name in await asyncio.gather(*(limited(i) for i in ids)) if name}


async def _user(client: AsyncWebClient, user_id: str) -> str | None:
    body, error = await call_outcome(client.users_info(user=user_id))
    user = body.get("user") if error is None else None
    return user_name(user) if isinstance(user, dict) else None


async def _channel(client: AsyncWebClient, channel_id: str) -> str | None:
    body, error = await call_outcome(client.conversations_info(channel=channel_id))
    channel = body.get("channel") if error is None else None
    name = channel.get("name") if isinstance(channel, dict) else None
    return name if isinstance(name, str) and name else None
