"""Shared channels as Slack describes them, seen from our org: who hosts, who else is connected, what we may remove.

Field meanings come from Slack's recorded answers (../shared/slack-samples/api/conversations.info.json and its
README), since the reference page doesn't describe them:
- `conversation_host_id`: the workspace that created the channel (a `T…`; admin.conversations.search gives an org `E…`).
- `connected_team_ids`: the other parties of a Slack Connect channel: an Enterprise org's `E…`, a standalone
  workspace's `T…`. `connected_limited_team_ids` and `pending_connected_team_ids`: limited connections, and
  invitations not yet accepted.
- `internal_team_ids`: the workspaces of the host's own org; `shared_team_ids`: lists the caller's own workspace
  even for a channel shared with no one, so it says nothing about who else is there (we never offer it).
The reference page (../shared/seeds/admin.conversations.disconnectShared.txt): "the originating workspace … may not be
disconnected. For a channel connected to other organizations, only the originating organization may call this
method."
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from slack_sdk.web.async_client import AsyncWebClient

from services.slack.outcomes import call_outcome
from services.slack.teams import is_org_id, org_names, team_facts, team_name

# A Slack Connect channel holds up to 250 organizations (Slack's help center; ../shared/slack-facts.md): every one is
# offered (services.ui.disconnect groups past 100 options). The bound leaves room for pending invitations besides, and
# keeps a forged or broken answer from building a view of thousands of options.
MAX_TEAMS = 500
# Parties one /disconnect-shared may disconnect: a Slack Connect channel rarely has more, and a cap keeps one command
# from writing thousands of audit rows or team.info calls.
MAX_PARTIES_PER_RUN = 20
# The audit row of a /disconnect-shared naming more (refused before any API call): "too_many_parties:<named>".
TOO_MANY_PARTIES_OUTCOME = "too_many_parties"

PartyState = Literal["connected", "limited", "pending"]
# Where a party's ID comes from in conversations.info, in the order a later key overrides an earlier one.
_PARTY_KEYS: tuple[tuple[str, PartyState], ...] = (
    ("connected_team_ids", "connected"),
    ("connected_limited_team_ids", "limited"),
    ("pending_connected_team_ids", "pending"),
)


@dataclass(frozen=True)
class Party:
    """Another organisation (E…) or standalone workspace (T…) connected to a channel, from outside our org."""

    id: str
    state: PartyState = "connected"

    @property
    def removable(self) -> bool:
        """A pending invitation isn't a connection: there is nothing to disconnect until it is accepted."""
        return self.state != "pending"


@dataclass(frozen=True)
class SharedChannel:
    channel_id: str
    name: str | None
    host_team_id: str | None  # the workspace (or org) that created the channel, as Slack says; None if it didn't
    parties: tuple[Party, ...] = ()  # everyone connected from outside our org, never us or the host
    team_names: dict[str, str] = field(default_factory=dict)
    problem: str | None = None  # why nothing here may be disconnected by us (CHANNEL_PROBLEMS), or an error code
    host_org_id: str | None = None  # the host's org (E…), or the host itself when it is a standalone workspace

    @property
    def team_ids(self) -> tuple[str, ...]:
        """The parties we may disconnect, in Slack's order."""
        return tuple(p.id for p in self.parties if p.removable)

    @property
    def pending(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.parties if not p.removable)

    def team_name(self, team_id: str | None) -> str | None:
        return self.team_names.get(team_id or "")


def channel_problem(channel: dict[str, Any]) -> str | None:
    """Why a channel cannot have anyone disconnected, whoever hosts it; None when it may."""
    if channel.get("is_im") or channel.get("is_mpim") or str(channel.get("id", "")).startswith("D"):
        return "dm"
    if channel.get("is_general"):
        return "general"
    if not (channel.get("is_ext_shared") or channel.get("is_org_shared") or channel.get("is_shared")):
        return "not_shared"
    return None


def _ids(channel: dict[str, Any], key: str) -> list[str]:
    """A list of IDs from an answer; the samples show `[""]` for an empty list, so blanks are dropped."""
    values = channel.get(key)
    return [v for v in values if isinstance(v, str) and v.strip()] if isinstance(values, list) else []


def parties_of(channel: dict[str, Any], excluded: set[str]) -> tuple[Party, ...]:
    """Every outside party of the channel, once each, in Slack's order; `excluded` (us, the host) never appears."""
    states: dict[str, PartyState] = {}
    for key, state in _PARTY_KEYS:
        for team_id in _ids(channel, key):
            if team_id not in excluded:
                states[team_id] = state
    return tuple(Party(team_id, state) for team_id, state in list(states.items())[:MAX_TEAMS])


def _host_org(host: str, our_org: str | None, our_team: str | None, host_facts: dict[str, Any] | None) -> str | None:
    """The organisation that created the channel, or None when Slack didn't tell us enough to know."""
    if is_org_id(host):
        return host
    if host == our_team:
        return our_org or our_team
    if host_facts is None:
        return None
    enterprise = host_facts.get("enterprise_id")
    return enterprise if isinstance(enterprise, str) and enterprise else host  # a standalone workspace is its own org


async def describe_shared_channel(
    client: AsyncWebClient, channel_id: str, our_org: str | None, our_team: str | None, *, name_orgs: bool = False
) -> SharedChannel:
    """What may be disconnected from a channel by our org; https://docs.slack.dev/reference/methods/conversations.info

    `our_org` is the Enterprise org of the installation serving the request, `our_team` the requester's workspace.
    """
    body, error = await call_outcome(client.conversations_info(channel=channel_id))
    channel = body.get("channel") if error is None else None
    if not isinstance(channel, dict):
        return SharedChannel(channel_id, None, None, problem=error or "unexpected_response")
    name = channel.get("name") if isinstance(channel.get("name"), str) else None
    host = channel.get("conversation_host_id")
    host = host if isinstance(host, str) and host.strip() else None
    problem = channel_problem(channel)
    if problem is not None:
        return SharedChannel(channel_id, name, host, problem=problem)

    ours = {t for t in (our_org, our_team) if t}
    everyone = [t for key, _ in _PARTY_KEYS for t in _ids(channel, key)]
    facts = await team_facts(client, [t for t in (host, *(e for e in everyone if e not in ours)) if t])
    names = {team_id: n for team_id, team in facts.items() if (n := team_name(team))}
    if name_orgs:  # what the admin reads (the form, the confirmation): partner orgs by name, from the directory
        names.update(await org_names(client, [e for e in everyone if is_org_id(e) and e not in ours]))
    host_org = _host_org(host, our_org, our_team, facts.get(host)) if host else None
    # Never offered: us, our org's other workspaces (team.info says so, or they are the host org's own workspaces
    # when our org is the host), and the host.
    of_our_org = {t for t, team in facts.items() if our_org and team.get("enterprise_id") == our_org}
    internal = set(_ids(channel, "internal_team_ids")) if host_org in ours else set()
    parties = parties_of(channel, ours | of_our_org | internal | {t for t in (host, host_org) if t})
    shared = SharedChannel(channel_id, name, host, parties, names, None, host_org)
    return SharedChannel(channel_id, name, host, parties, names, _problem(shared, channel, ours), host_org)


def _problem(shared: SharedChannel, channel: dict[str, Any], ours: set[str]) -> str | None:
    """Our org's own rules, checked in the order an admin can act on them."""
    if not shared.parties and not channel.get("is_ext_shared"):
        # Shared only among our own org's workspaces: Slack manages those with admin.conversations.setTeams,
        # not disconnectShared (https://docs.slack.dev/reference/methods/admin.conversations.setTeams).
        return "org_shared_only" if channel.get("is_org_shared") else "not_shared"
    if shared.host_team_id is None or shared.host_org_id is None:
        return "host_unknown"
    if shared.host_org_id not in ours:
        return "partner_hosted"
    if not shared.parties:
        return "not_shared"
    if not shared.team_ids:
        return "only_pending"
    return None


async def host_org_of(client: AsyncWebClient, channel_id: str) -> str | None:
    """The Enterprise org that created a channel, when Slack says (conversations.info, then team.info); else None."""
    body, error = await call_outcome(client.conversations_info(channel=channel_id))
    channel = body.get("channel") if error is None else None
    host = channel.get("conversation_host_id") if isinstance(channel, dict) else None
    if not isinstance(host, str) or not host:
        return None
    org = _host_org(host, None, None, (await team_facts(client, [host])).get(host))
    return org if org and is_org_id(org) else None  # a standalone host is no Enterprise org


@dataclass(frozen=True)
class DisconnectResult:
    team_id: str
    error: str | None  # None: disconnected
    after_error: str | None = None  # disconnected, confirmed by re-reading the channel after this error from Slack

    @property
    def ok(self) -> bool:
        return self.error is None


# Answers after which the disconnect may or may not have happened: Slack says of internal_error and fatal_error
# "It's possible some aspect of the operation succeeded before the error was raised"; a 5xx, a timeout or a dropped
# connection tell nothing either. The call is never repeated: the channel is read again instead.
AMBIGUOUS_ERRORS = frozenset(
    {
        "internal_error",
        "fatal_error",
        "request_timeout",
        "service_unavailable",
        "slack_server_error",
        "slack_timeout",
        "slack_unreachable",
        "unexpected_response",
    }
)
OUTCOME_UNKNOWN = "outcome_unknown"


# After our own earlier call was sent, these mean the workspace is already gone: both on Slack's page
# (../shared/seeds/admin.conversations.disconnectShared.txt); nothing undocumented counts as done.
GONE_AFTER_OUR_CALL = frozenset({"leaving_team_not_in_channel", "no_teams_to_disconnect"})


async def disconnect_team(
    admin_client: AsyncWebClient,
    reader: AsyncWebClient,
    channel_id: str,
    team_id: str,
    our_org: str | None,
    our_team: str | None,
) -> DisconnectResult:
    """One workspace or org per call, with the Org Admin's user token (never the bot's), sent once.

    `admin_client` carries the admin token and retries nothing but 429s (nothing happened then); after an ambiguous
    answer `reader` (the bot) reads the channel to learn what really happened.
    https://docs.slack.dev/reference/methods/admin.conversations.disconnectShared
    """
    body, error = await call_outcome(
        admin_client.admin_conversations_disconnectShared(channel_id=channel_id, leaving_team_ids=team_id)
    )
    if error is None and body.get("ok") is not True:
        error = "unexpected_response"
    if error is None or error not in AMBIGUOUS_ERRORS:
        return DisconnectResult(team_id, error)
    after = await describe_shared_channel(reader, channel_id, our_org, our_team)
    if after.problem in ("not_shared", "org_shared_only"):  # nobody outside our org is connected any more
        return DisconnectResult(team_id, None, after_error=error)
    if after.problem not in (None, "only_pending"):
        return DisconnectResult(team_id, OUTCOME_UNKNOWN, after_error=error)
    if team_id in after.team_ids:
        return DisconnectResult(team_id, error)
    return DisconnectResult(team_id, None, after_error=error)
