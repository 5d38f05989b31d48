"""Who a partner is and which channels we share with it: the plan an offboarding works from (no workflow here).

admin.conversations.search (https://api.slack.com/methods/admin.conversations.search) finds an org's channels,
filtered by `connected_team_ids`, at most 20 a page (`limit` "Must be between 1 - 20"), paged by `cursor` /
`next_cursor`; it needs the Org Admin's user token with `admin.conversations:read`. Its answer names the host as an org
ID (`conversation_host_id: "E…"`) and carries `connected_team_ids`, `connected_limited_team_ids`,
`pending_connected_team_ids` and `is_archived` (../shared/slack-samples/api/admin.conversations.search.json).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.disconnecting.directory import establish_outside, find_partner, matching_names, read_directory
from services.slack.outcomes import call_outcome
from services.slack.teams import is_org_id, team_facts

logger = logging.getLogger(__name__)

OFFBOARD = "offboard"  # the job kind
DISCONNECT_METHOD = "admin.conversations.disconnectShared"
SEARCH_PAGE_SIZE = 20  # "Must be between 1 - 20" (admin.conversations.search, `limit`)
MAX_SEARCH_PAGES = 500  # 10,000 channels: a guard against a cursor that never ends
NAME_SEARCH_PAGES = 25  # resolving a name scans at most 500 of our Slack Connect channels
# Before Slack has answered a 429, the estimate assumes this many admin calls a minute (Slack publishes no tier for
# the method; Tier 2, "20+ per minute", is the usual floor of admin.* methods). Said as an estimate, never enforced.
ASSUMED_CALLS_PER_MINUTE = 20
# How often the job asks again whether the requester may still do this (users.info) and whether someone cancelled.
RECHECK_ADMIN_SECONDS = 60.0
CANCEL_CHECK_SECONDS = 0.5
HOME_REFRESH_SECONDS = 10.0
# Errors after which every further call would fail the same way: the job stops and says so.
STOPPING_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "not_an_admin",
        "missing_scope",
        "not_allowed_token_type",
        "feature_not_enabled",
        "not_an_enterprise",
        "restricted_action",
        "two_factor_setup_required",
        # Also the same for every channel (../shared/seeds/admin.conversations.disconnectShared.txt): the org, the
        # network or the method, or arguments the app builds the same way each time.
        "enterprise_is_restricted",
        "accesslimited",
        "method_deprecated",
        "deprecated_endpoint",
        "invalid_arguments",
        "invalid_arg_name",
        "invalid_array_arg",
    }
)
NOT_ESTABLISHED = "not_established"  # a Partner problem: not positively outside our org (+ ":" and Slack's code)
_PARTNER_ID = re.compile(r"[TE][A-Z0-9]{2,40}")

# Item outcomes.
DISCONNECTED, NOT_DISCONNECTED, SKIPPED, WOULD_DISCONNECT = "disconnected", "failed", "skipped", "would_disconnect"


def outcome_counts(items: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many of a job's channels ended each way; "left" for those with no outcome yet."""
    counted = {DISCONNECTED: 0, NOT_DISCONNECTED: 0, SKIPPED: 0, WOULD_DISCONNECT: 0, "left": 0}
    for item in items:
        outcome = item.get("outcome")
        counted[outcome if outcome in counted else "left"] += 1
    return counted


@dataclass(frozen=True)
class FoundChannel:
    """One channel admin.conversations.search returned, seen from our org and the partner."""

    id: str
    name: str | None
    is_private: bool = False
    is_archived: bool = False
    host_id: str | None = None  # conversation_host_id: an org `E…` (or a standalone workspace `T…`)

    def as_item(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "archived": self.is_archived, "private": self.is_private}


@dataclass(frozen=True)
class Plan:
    """The channels shared with one partner, split by what our org may do about them."""

    partner_id: str
    ours: tuple[FoundChannel, ...] = ()  # created by our org: they will be disconnected
    theirs: tuple[FoundChannel, ...] = ()  # created by the partner (or a third org): only the creator may
    pending: tuple[FoundChannel, ...] = ()  # the partner is only invited: nothing to disconnect yet
    error: str | None = None  # the search failed (Slack's code)

    @property
    def total(self) -> int:
        return len(self.ours) + len(self.theirs) + len(self.pending)


def _ids(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str) and v.strip()] if isinstance(value, list) else []


def _found(conversation: dict[str, Any]) -> FoundChannel | None:
    channel_id = conversation.get("id")
    if not isinstance(channel_id, str) or not channel_id:
        return None
    name = conversation.get("name")
    host = conversation.get("conversation_host_id")
    return FoundChannel(
        channel_id,
        name if isinstance(name, str) and name else None,
        conversation.get("is_private") is True,
        conversation.get("is_archived") is True,
        host if isinstance(host, str) and host else None,
    )


def classify(conversations: Sequence[dict[str, Any]], partner_id: str, our_org: str) -> Plan:
    """Split search results: ours (we created it, the partner is connected), theirs, pending; each channel once."""
    ours: dict[str, FoundChannel] = {}
    theirs: dict[str, FoundChannel] = {}
    pending: dict[str, FoundChannel] = {}
    for conversation in conversations:
        found = _found(conversation)
        if found is None or found.id in ours or found.id in theirs or found.id in pending:
            continue
        # The search was filtered by `connected_team_ids=<partner>`: every result is shared with the partner. Slack's
        # recorded answer lists a workspace-shaped ID in a result's `connected_team_ids`
        # (../shared/slack-samples/api/admin.conversations.search.json) where conversations.info lists an Enterprise
        # partner by its org ID, so the partner's own ID is not required there: a channel is pending only when the
        # partner appears among the pending and nowhere else. A result that isn't really shared with the partner
        # costs one admin call that Slack refuses (no_teams_to_disconnect), reported as such; dropping it silently
        # would leave the partner in the channel.
        listed = {*_ids(conversation.get("connected_team_ids")), *_ids(conversation.get("connected_limited_team_ids"))}
        invited = partner_id in _ids(conversation.get("pending_connected_team_ids"))
        connected = partner_id in listed or not invited
        if found.host_id != our_org:
            theirs[found.id] = found  # the partner (or a third org, or a host Slack didn't name) created it
        elif connected:
            ours[found.id] = found
        else:
            pending[found.id] = found
    return Plan(partner_id, tuple(ours.values()), tuple(theirs.values()), tuple(pending.values()))


async def search_shared_with(
    admin_client: AsyncWebClient, partner_id: str, our_org: str, max_pages: int = MAX_SEARCH_PAGES
) -> Plan:
    """Every channel of our org shared with `partner_id`, every page (20 a page), public and private."""
    conversations: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while pages < max_pages:
        body, error = await call_outcome(
            admin_client.admin_conversations_search(
                limit=SEARCH_PAGE_SIZE, cursor=cursor, connected_team_ids=partner_id
            )
        )
        pages += 1
        if error is not None:
            return Plan(partner_id, error=error)
        page = body.get("conversations")
        conversations.extend(c for c in page if isinstance(c, dict)) if isinstance(page, list) else None
        following = body.get("next_cursor") or (body.get("response_metadata") or {}).get("next_cursor")
        if not isinstance(following, str) or not following:
            break
        cursor = following
    plan = classify(conversations, partner_id, our_org)
    return Plan(plan.partner_id, plan.ours, plan.theirs, plan.pending, None)


@dataclass(frozen=True)
class Partner:
    """Who is being offboarded: the ID that leaves (an org `E…` or a standalone workspace `T…`) and a name if known."""

    id: str | None
    name: str | None = None
    problem: str | None = None  # why it couldn't be resolved (OFFBOARD_PROBLEMS key)
    candidates: tuple[tuple[str, str], ...] = ()  # (id, name) when a name matched several


async def resolve_partner(
    bot: AsyncWebClient, admin_client: AsyncWebClient, text: str, our_org: str, our_team: str | None = None
) -> Partner:
    """Who `text` names, only if positively outside our org (services.disconnecting.directory.establish_outside):
    an `E…` is an org; a `T…` is a standalone workspace, or a workspace of a partner org (then its org leaves, as
    Slack lists that org by its `E…`); a name is looked up in Slack's partner directory (team.externalTeams.list
    names every connected organization), or, when the directory can't be read, among the standalone workspaces
    connected to our Slack Connect channels (team.info names them). When Slack can't tell whether a workspace is
    ours (team.info rate-limited, a missing scope, a sibling the token can't see), it is refused: nothing is called."""
    word = text.strip()
    if not word:
        return Partner(None, problem="no_partner")
    if _PARTNER_ID.fullmatch(word):
        outside = await establish_outside(bot, word, our_org, our_team, admin=admin_client)
        if outside.ours:
            return Partner(None, problem="our_org")
        if not outside.outside:
            return Partner(None, problem=f"{NOT_ESTABLISHED}:{outside.problem or 'unknown'}")
        if outside.org:
            return Partner(outside.org, outside.org_name or await _directory_name(bot, outside.org))
        if is_org_id(word):
            return Partner(word, await _directory_name(bot, word))
        return Partner(word, outside.name)
    return await _by_name(bot, admin_client, word, our_org)


async def _directory_name(bot: AsyncWebClient, team_id: str) -> str | None:
    """A partner's name from Slack's directory (None when it can't be read or doesn't list it)."""
    listed, _ = await find_partner(bot, team_id)
    return listed.name if listed is not None and listed.id == team_id else None


async def _by_name(bot: AsyncWebClient, admin_client: AsyncWebClient, name: str, our_org: str) -> Partner:
    directory = await read_directory(bot)
    if directory.error is None:
        found = [t for t in matching_names(directory.teams, name) if t.id != our_org]
        if len(found) == 1:
            return Partner(found[0].id, found[0].name)
        if found:
            ranked = sorted(found, key=lambda t: (t.name or t.id).casefold())[:10]
            return Partner(None, problem="ambiguous", candidates=tuple((t.id, t.name or t.id) for t in ranked))
        return Partner(None, problem="unknown_name")
    # The directory can't be read (a missing scope, not on Grid…): the standalone workspaces our channels name.
    parties: dict[str, None] = {}
    cursor: str | None = None
    for _ in range(NAME_SEARCH_PAGES):
        body, error = await call_outcome(
            admin_client.admin_conversations_search(
                limit=SEARCH_PAGE_SIZE, cursor=cursor, search_channel_types="external_shared"
            )
        )
        if error is not None:
            return Partner(None, problem=f"search:{error}")
        for conversation in body.get("conversations") or []:
            if isinstance(conversation, dict):
                for key in ("connected_team_ids", "connected_limited_team_ids", "pending_connected_team_ids"):
                    for party in _ids(conversation.get(key)):
                        if party != our_org:
                            parties[party] = None
        cursor = body.get("next_cursor") or None
        if not cursor:
            break
    facts = await team_facts(bot, [p for p in parties if not is_org_id(p)])
    names = {
        team_id: str(team["name"])
        for team_id, team in facts.items()
        if isinstance(team.get("name"), str) and team.get("enterprise_id") in (None, "")
    }
    wanted = name.casefold().lstrip("#@")
    exact = [(t, n) for t, n in names.items() if n.casefold() == wanted]
    matches = exact or [(t, n) for t, n in names.items() if wanted in n.casefold()]
    if len(matches) == 1:
        return Partner(matches[0][0], matches[0][1])
    if matches:
        return Partner(None, problem="ambiguous", candidates=tuple(sorted(matches, key=lambda m: m[1])[:10]))
    return Partner(None, problem="unknown_name")


def estimated_seconds(count: int, calls_per_minute: float = ASSUMED_CALLS_PER_MINUTE) -> float:
    """How long `count` admin calls take at `calls_per_minute` (the first minute's burst is not counted on)."""
    return count * 60.0 / calls_per_minute if count else 0.0


def plan_digest(channel_ids: Sequence[str]) -> str:
    """A short fingerprint of the channels a confirmation names (private_metadata can't hold 300 IDs)."""
    import hashlib

    return hashlib.sha256(",".join(sorted(channel_ids)).encode()).hexdigest()[:16]
