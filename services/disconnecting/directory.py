"""The partner directory from Slack itself, and whether a partner is positively outside our org (no workflow here).

team.externalTeams.list (https://docs.slack.dev/reference/methods/team.externalTeams.list; Tier 2, 20+ a minute;
Enterprise Grid only; a bot token with `team:read` and `conversations.connect:manage`) lists the organizations
connected to ours: `team_id`, `team_name`, `team_domain`, channel counts by kind (`public_channel_count`,
`private_channel_count`, `im_channel_count`, `mpim_channel_count`), `connected_workspaces`, `connection_status`
(`CONNECTED`, `DISCONNECTED`, `BLOCKED`, `IN_REVIEW`), `last_active_timestamp`; sorted by `sort_field` (`team_name`,
`last_active_timestamp`, `connection_status`) and `sort_direction`; paged by `cursor` / `response_metadata.next_cursor`,
`limit` 20 by default (../shared/slack-samples/api/team.externalTeams.list.json). So an organization's name *can* be
looked up: by listing the directory and matching `team_name`.

team.externalTeams.disconnect (https://docs.slack.dev/reference/methods/team.externalTeams.disconnect; Tier 1; bot
scope `conversations.connect:manage`; Enterprise Grid only) takes `target_team` and disconnects every Slack Connect
channel *and DM* with that organization, in the background; documented errors `invalid_target_team`,
`restricted_action`, `missing_argument`. What it did shows only afterwards, in the directory.

The slack_sdk methods are AsyncWebClient.team_externalTeams_list / team_externalTeams_disconnect (slack_sdk 3.47,
slack_sdk/web/async_client.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.slack.outcomes import call_outcome
from services.slack.teams import is_org_id, team_facts

LIST_METHOD = "team.externalTeams.list"
DISCONNECT_METHOD = "team.externalTeams.disconnect"
DIRECTORY_SCOPE = "conversations.connect:manage"
CONNECTED, DISCONNECTED, BLOCKED, IN_REVIEW = "CONNECTED", "DISCONNECTED", "BLOCKED", "IN_REVIEW"
PAGE_SIZE = 100  # `limit`: 20 by default, no maximum documented; Slack may answer fewer
MAX_PAGES = 50  # a whole directory read (names, one partner): 5,000 partners, a guard against an endless cursor
# Placing a workspace team.info can't describe reads at most this many pages (1,000 partners, under a minute at Tier 2);
# one listed further is not established: refused (fail closed), and its org ID (`E…`) still works.
PLACE_PAGES = 10
STALEST_FIRST = ("last_active_timestamp", "asc")


@dataclass(frozen=True)
class ExternalTeam:
    """One organization (or standalone workspace) connected to ours, as team.externalTeams.list describes it."""

    id: str
    name: str | None = None
    domain: str | None = None
    public: int = 0
    private: int = 0
    dms: int = 0
    group_dms: int = 0
    status: str | None = None
    last_active: int | None = None  # seconds since the epoch
    workspaces: tuple[tuple[str, str], ...] = ()  # (workspace ID, name) of its workspaces connected to ours

    @property
    def channels(self) -> int:
        return self.public + self.private

    @property
    def conversations(self) -> int:
        return self.public + self.private + self.dms + self.group_dms

    def counts(self) -> dict[str, int]:
        return {"public": self.public, "private": self.private, "dms": self.dms, "group_dms": self.group_dms}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def external_team(entry: Any) -> ExternalTeam | None:
    """One `organizations[]` entry, read defensively; None without a usable `team_id`."""
    if not isinstance(entry, dict) or not _text(entry.get("team_id")):
        return None
    workspaces = entry.get("connected_workspaces")
    # The sample lists them as an array of objects; the reference's example shows one object.
    listed = workspaces if isinstance(workspaces, list) else [workspaces] if isinstance(workspaces, dict) else []
    last = entry.get("last_active_timestamp")
    return ExternalTeam(
        id=str(entry["team_id"]).strip(),
        name=_text(entry.get("team_name")),
        domain=_text(entry.get("team_domain")),
        public=_count(entry.get("public_channel_count")),
        private=_count(entry.get("private_channel_count")),
        dms=_count(entry.get("im_channel_count")),
        group_dms=_count(entry.get("mpim_channel_count")),
        status=_text(entry.get("connection_status")),
        last_active=last if isinstance(last, int) and not isinstance(last, bool) and last > 0 else None,
        workspaces=tuple(
            (str(w["workspace_id"]), _text(w.get("workspace_name")) or str(w["workspace_id"]))
            for w in listed
            if isinstance(w, dict) and _text(w.get("workspace_id"))
        ),
    )


@dataclass(frozen=True)
class DirectoryPage:
    teams: tuple[ExternalTeam, ...] = ()
    next_cursor: str | None = None
    total: int | None = None
    error: str | None = None


async def list_page(
    bot: AsyncWebClient,
    cursor: str | None = None,
    *,
    limit: int = PAGE_SIZE,
    sort: tuple[str, str] = STALEST_FIRST,
    status: str | None = None,
) -> DirectoryPage:
    """One page of team.externalTeams.list (stalest first by default, so forgotten partners stand out)."""
    body, error = await call_outcome(
        bot.team_externalTeams_list(
            cursor=cursor or None,
            limit=limit,
            sort_field=sort[0],
            sort_direction=sort[1],
            connection_status_filter=status,
        )
    )
    if error is not None:
        return DirectoryPage(error=error)
    entries = body.get("organizations")
    teams = tuple(t for t in (external_team(e) for e in (entries if isinstance(entries, list) else [])) if t)
    metadata = body.get("response_metadata")
    following = metadata.get("next_cursor") if isinstance(metadata, dict) else None
    total = body.get("total_count")
    return DirectoryPage(
        teams,
        following if isinstance(following, str) and following else None,
        total if isinstance(total, int) and not isinstance(total, bool) else None,
    )


@dataclass(frozen=True)
class Directory:
    teams: tuple[ExternalTeam, ...] = ()
    error: str | None = None
    complete: bool = True
    found_at: str | None = None  # the cursor of the page that listed the partner looked for ("" the first)


async def read_directory(
    bot: AsyncWebClient, max_pages: int = MAX_PAGES, stop_at: str | None = None, start: str | None = None
) -> Directory:
    """Every partner, page after page (at most `max_pages`, from the cursor `start`); with `stop_at`, only until that
    partner is found (`found_at` is then the cursor of the page that lists it, for next time)."""
    teams: list[ExternalTeam] = []
    cursor: str | None = start
    for _ in range(max_pages):
        page = await list_page(bot, cursor, sort=("team_name", "asc"))
        if page.error is not None:
            return Directory(tuple(teams), page.error, complete=False)
        teams.extend(page.teams)
        if stop_at is not None and any(t.id == stop_at or stop_at in dict(t.workspaces) for t in page.teams):
            return Directory(tuple(teams), complete=False, found_at=cursor or "")
        if page.next_cursor is None:
            return Directory(tuple(teams))
        cursor = page.next_cursor
    return Directory(tuple(teams), complete=False)


def listed_as(directory: Directory, team_id: str) -> ExternalTeam | None:
    """The partner `team_id` is, or belongs to (one of its connected workspaces), in the directory."""
    for team in directory.teams:
        if team.id == team_id:
            return team
    for team in directory.teams:
        if team_id in dict(team.workspaces):
            return team
    return None


async def find_partner(
    bot: AsyncWebClient, team_id: str, max_pages: int = MAX_PAGES
) -> tuple[ExternalTeam | None, str | None]:
    """The directory's entry for one partner (or the partner a workspace belongs to), and Slack's error if any."""
    directory = await read_directory(bot, max_pages, stop_at=team_id)
    return listed_as(directory, team_id), directory.error


async def watch_partner(
    bot: AsyncWebClient, team_id: str, hint: str | None
) -> tuple[ExternalTeam | None, str | None, str | None]:
    """find_partner for a job that asks again and again: first the one page that listed the partner last time (the
    cursor `hint`), then, if it isn't there, the whole directory. Returns the entry, Slack's error, the new hint."""
    if hint is not None:
        page = await read_directory(bot, 1, stop_at=team_id, start=hint or None)
        listed = listed_as(page, team_id)
        if page.error is not None or listed is not None:
            return listed, page.error, page.found_at if listed is not None else hint
    directory = await read_directory(bot, stop_at=team_id)
    listed = listed_as(directory, team_id)
    if listed is None and directory.error is None and not directory.complete:
        # Read to MAX_PAGES (or an endless cursor) without the partner: not shown gone, only not seen yet.
        return None, "directory_incomplete", hint
    return listed, directory.error, directory.found_at


def matching_names(teams: Sequence[ExternalTeam], name: str) -> list[ExternalTeam]:
    """Partners named `name`: exact matches (ignoring case) first; else those whose name or domain contains it. Never
    by a `connected_workspaces` name: Slack doesn't say whose workspaces those are (they may be ours: our own "Sales"
    would pick the partner connected to it)."""
    wanted = name.strip().casefold().lstrip("#@")
    if not wanted:
        return []

    def names(team: ExternalTeam) -> list[str]:
        return [n.casefold() for n in (team.name, team.domain) if n]

    exact = [t for t in teams if wanted in names(t)]
    return exact or [t for t in teams if any(wanted in n for n in names(t))]


# ---- fail closed: only a partner positively known to be outside our org ------------------------------------------


@dataclass(frozen=True)
class Outside:
    """Whether `team_id` is established to be outside our org, and how (or why it couldn't be)."""

    team_id: str
    outside: bool
    ours: bool = False  # positively one of ours (our org, our workspace, a workspace of our org)
    how: str = ""  # "org_id", "team_info", "directory", "search"
    problem: str | None = None  # why it couldn't be established (team.info's or the directory's code)
    name: str | None = None
    org: str | None = None  # the partner org a workspace belongs to, when known
    org_name: str | None = None


async def establish_outside(
    bot: AsyncWebClient,
    team_id: str,
    our_org: str | None,
    our_team: str | None = None,
    *,
    directory: Directory | None = None,
    admin: AsyncWebClient | None = None,
) -> Outside:
    """Fail closed. An org ID (`E…`) other than ours is another organization (org IDs are Slack's, one per org). A
    workspace (`T…`) is outside only if team.info says it belongs to no org or to another one, or the partner
    directory lists it (as a partner or one of a partner's workspaces). Anything else — team.info rate-limited, a
    missing scope, a sibling workspace the token can't see — is not established, and nothing may be called. With the
    admin's client, the search's `internal_team_ids` / `connected_team_ids` are the last word asked."""
    if not team_id or team_id in (our_org, our_team):
        return Outside(team_id, False, ours=True, how="id")
    if is_org_id(team_id):
        return Outside(team_id, True, how="org_id")
    facts = (await team_facts(bot, [team_id])).get(team_id)
    if facts is not None:
        org = facts.get("enterprise_id")
        name = facts.get("name") if isinstance(facts.get("name"), str) else None
        if isinstance(org, str) and org:
            if org == our_org:
                return Outside(team_id, False, ours=True, how="team_info", name=name)
            org_name = facts.get("enterprise_name")
            return Outside(team_id, True, how="team_info", name=name, org=org, org_name=_text(org_name))
        if facts.get("id") == team_id:
            return Outside(team_id, True, how="team_info", name=name)
    read = directory if directory is not None else await read_directory(bot, PLACE_PAGES, stop_at=team_id)
    # Only a partner's own `team_id` places it. Slack's reference doesn't say whose workspaces `connected_workspaces`
    # lists, and `workspace_filter` ("connected orgs which are connected on a specified encoded workspace ID") reads
    # as *ours*: a workspace found only there may be one of our own, so it is not established (fail closed).
    listed = next((t for t in read.teams if t.id == team_id), None)
    if listed is not None:
        return Outside(team_id, True, how="directory", name=listed.name)
    searched, search_error = (None, None) if admin is None else await search_says(admin, team_id, our_org)
    if searched is not None:
        return Outside(team_id, searched, ours=not searched, how="search")
    return Outside(team_id, False, problem=read.error or search_error or "not_listed")


async def search_says(admin: AsyncWebClient, team_id: str, our_org: str | None) -> tuple[bool | None, str | None]:
    """admin.conversations.search's word on a workspace (one page, filtered by it): True when a channel lists it as an
    outside party (in `connected_team_ids`, never among the `internal_team_ids` — the workspaces of the host's own
    org — nor as the host), False when a channel lists it as internal, None when no channel tells (or the search
    failed: its code)."""
    body, error = await call_outcome(admin.admin_conversations_search(limit=20, connected_team_ids=team_id))
    if error is not None:
        return None, error
    conversations = [c for c in body.get("conversations") or [] if isinstance(c, dict)]
    verdict: bool | None = None
    for conversation in conversations:
        internal = conversation.get("internal_team_ids")
        if isinstance(internal, list) and team_id in internal:
            return False, None
        connected = conversation.get("connected_team_ids")
        if isinstance(connected, list) and team_id in connected and team_id != our_org:
            verdict = True
    return verdict, None
