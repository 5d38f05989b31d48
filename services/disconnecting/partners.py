"""Who a partner is and which channels we share with it: the plan an offboarding works from (no workflow here).

admin.conversations.search (https://api.slack.com/methods/admin.conversations.search) finds an org's channels,
filtered by `connected_team_ids`, at most 20 a page (`limit` "Must be between 1 - 20"), paged by `cursor` /
`next_cursor`; it needs the Org Admin's user token with `admin.conversations:read`. Its answer names the host as an org
ID (`conversation_host_id: "E…"`) and carries `connected_team_ids`, `connected_limited_team_ids`,
`pending_connected_team_ids` and `is_archived` (../shared/slack-samples/api/admin.conversations.search.json).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.disconnecting.directory import (
    PLACE_PAGES,
    establish_outside,
    find_partner,
    matching_names,
    read_directory,
)
from services.slack.outcomes import call_outcome
from services.slack.teams import is_org_id, team_facts
from services.storage.database import Database

logger = logging.getLogger(__name__)

OFFBOARD = "offboard"  # the job kind
OFFBOARD_EVERYTHING = "offboard_everything"  # offboarding "everything" (services.disconnecting.everything)
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
# Errors after which every further call would fail the same way: the job stops and says so. Not `restricted_action`:
# "A workspace preference prevents the authenticated user from disconnecting a channel" (the seed page) is true of one
# channel and not another (../shared/slack-facts.md), so it is that channel's failure, with its sentence.
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


# admin.conversations.search's `search_channel_types` (https://docs.slack.dev/reference/methods/admin.conversations.search:
# "For example private will search private channels, while private_exclude will exclude them"). Private channels are
# searched only when asked, and only when the token's user "has permission to manage private channels on the org" (by
# default only the Primary Owner), else `not_allowed` (../shared/slack-facts.md). So the search asks twice, explicitly:
# private channels, and public ones (private_exclude); a refusal of the private sweep is said in the plan, and the public
# channels are offboarded.
PRIVATE_SWEEP = "private"
PUBLIC_SWEEP = "private_exclude"
PRIVATE_REFUSALS = frozenset({"not_allowed"})
# Slack's answer on its cursor-paged methods to a cursor it no longer takes (conversations.list lists it:
# https://api.slack.com/methods/conversations.list; not seen in admin.conversations.search's own list, handled anyway).
INVALID_CURSOR = "invalid_cursor"
# Tier 2 ("20+ per minute"): the estimate's pace for search pages, as for the admin calls.
ASSUMED_SEARCH_PAGES_PER_MINUTE = 20


@dataclass
class Sweep:
    """One kind of channel being searched: where its paging stands and what Slack said of its size."""

    types: str
    cursor: str | None = None
    pages: int = 0
    found: int = 0
    total: int | None = None  # Slack's `total_count`, when it gives one
    done: bool = False
    refused: str | None = None  # the private sweep's `not_allowed`

    def as_dict(self) -> dict[str, Any]:
        return {
            "types": self.types,
            "cursor": self.cursor,
            "pages": self.pages,
            "found": self.found,
            "total": self.total,
            "done": self.done,
            "refused": self.refused,
        }

    @classmethod
    def of(cls, data: Any) -> Sweep | None:
        if not isinstance(data, dict) or not isinstance(data.get("types"), str):
            return None
        cursor, total, refused = data.get("cursor"), data.get("total"), data.get("refused")
        return cls(
            data["types"],
            cursor if isinstance(cursor, str) and cursor else None,
            int(data.get("pages") or 0),
            int(data.get("found") or 0),
            total if isinstance(total, int) else None,
            data.get("done") is True,
            refused if isinstance(refused, str) else None,
        )


@dataclass
class Search:
    """Where the search of one partner's channels stands: kept (JSON) with the plan and then with the job, so it is
    done once, continued where it stopped, and never repeated."""

    sweeps: list[Sweep] = field(default_factory=lambda: [Sweep(PRIVATE_SWEEP), Sweep(PUBLIC_SWEEP)])
    error: str | None = None  # a code that stopped the whole search
    restarts: int = field(default=0, compare=False)  # sweeps begun again after `invalid_cursor` (this run only)

    @property
    def progress(self) -> tuple[int, int, int]:
        """Changes with each page answered, sweep ended or sweep begun again: unchanged means rate-limited."""
        return self.pages, sum(s.done for s in self.sweeps), self.restarts

    @property
    def done(self) -> bool:
        return self.error is not None or all(s.done for s in self.sweeps)

    @property
    def pages(self) -> int:
        return sum(s.pages for s in self.sweeps)

    @property
    def found(self) -> int:
        return sum(s.found for s in self.sweeps)

    @property
    def private_refused(self) -> str | None:
        return next((s.refused for s in self.sweeps if s.types == PRIVATE_SWEEP and s.refused), None)

    @property
    def expected(self) -> int | None:
        """How many channels Slack says there are in all (None until every sweep has answered once)."""
        if self.done:
            return self.found
        if any(s.total is None and not s.done for s in self.sweeps):
            return None
        return sum(max(s.total or 0, s.found) if not s.refused else 0 for s in self.sweeps)

    def pages_left(self) -> int:
        """Pages still to fetch: by Slack's counts, or one page for a sweep that hasn't answered yet."""
        if self.done:
            return 0
        left = 0
        for sweep in self.sweeps:
            if sweep.done:
                continue
            if sweep.total is None:
                left += 1
            else:
                left += max(-(-(sweep.total - sweep.found) // SEARCH_PAGE_SIZE), 1)
        return left

    def next_sweep(self) -> Sweep | None:
        """The sweep with the fewest pages so far: both kinds answer within the first two calls (the private one's
        refusal, and Slack's count of each), then they take turns."""
        waiting = [s for s in self.sweeps if not s.done]
        return min(waiting, key=lambda s: s.pages) if waiting and self.error is None else None

    def as_dict(self) -> dict[str, Any]:
        return {"sweeps": [s.as_dict() for s in self.sweeps], "error": self.error}

    @classmethod
    def of(cls, data: Any) -> Search:
        if not isinstance(data, dict):
            return cls()
        sweeps = [s for s in (Sweep.of(d) for d in data.get("sweeps") or []) if s is not None]
        error = data.get("error")
        return cls(sweeps or [Sweep(PRIVATE_SWEEP), Sweep(PUBLIC_SWEEP)], error if isinstance(error, str) else None)


@dataclass
class Findings:
    """What the search found so far, split as `classify` does, each channel once."""

    partner_id: str
    our_org: str
    ours: list[dict[str, Any]] = field(default_factory=list)
    theirs: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    search: Search = field(default_factory=Search)
    _seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._seen = {i["id"] for i in (*self.ours, *self.theirs, *self.pending) if isinstance(i, dict) and "id" in i}

    def add(self, conversations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Classify a page; returns the new channels of ours (to disconnect)."""
        new = [c for c in conversations if isinstance(c, dict) and c.get("id") not in self._seen]
        plan = classify(new, self.partner_id, self.our_org)
        added = [c.as_item() for c in plan.ours]
        self.ours.extend(added)
        self.theirs.extend(c.as_item() for c in plan.theirs)
        self.pending.extend(c.as_item() for c in plan.pending)
        self._seen.update(c.id for c in (*plan.ours, *plan.theirs, *plan.pending))
        return added

    def as_dict(self) -> dict[str, Any]:
        return {
            "partner": self.partner_id,
            "our_org": self.our_org,
            "ours": self.ours,
            "theirs": self.theirs,
            "pending": self.pending,
            "search": self.search.as_dict(),
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> Findings:
        def items(key: str) -> list[dict[str, Any]]:
            value = data.get(key)
            return (
                [i for i in value if isinstance(i, dict) and isinstance(i.get("id"), str)]
                if isinstance(value, list)
                else []
            )

        return cls(
            str(data.get("partner") or ""),
            str(data.get("our_org") or ""),
            items("ours"),
            items("theirs"),
            items("pending"),
            Search.of(data.get("search")),
        )

    def plan(self) -> Plan:
        def found(item: dict[str, Any]) -> FoundChannel:
            return FoundChannel(item["id"], item.get("name"), item.get("private") is True, item.get("archived") is True)

        return Plan(
            self.partner_id,
            tuple(found(i) for i in self.ours),
            tuple(found(i) for i in self.theirs),
            tuple(found(i) for i in self.pending),
            self.search.error,
        )


async def search_page(admin_client: AsyncWebClient, findings: Findings) -> list[dict[str, Any]]:
    """One more page of the search (the sweep whose turn it is), classified into `findings`; the new channels of
    ours. A refusal of private channels ends that sweep (said in the plan); another error stops the search
    (`findings.search.error`), except `ratelimited` after the client's own retries, which the caller waits out."""
    search = findings.search
    sweep = search.next_sweep()
    if sweep is None:
        return []
    body, error = await call_outcome(
        admin_client.admin_conversations_search(
            limit=SEARCH_PAGE_SIZE,
            cursor=sweep.cursor,
            connected_team_ids=findings.partner_id,
            search_channel_types=sweep.types,
        )
    )
    if error is not None:
        if error == INVALID_CURSOR and sweep.cursor is not None:
            # Slack no longer takes the cursor (e.g. a job resumed much later): that kind again from its start. The
            # channels already found are known to `findings` (not taken twice); MAX_SEARCH_PAGES still bounds it.
            sweep.cursor, sweep.found = None, 0
            search.restarts += 1
        elif sweep.types == PRIVATE_SWEEP and error in PRIVATE_REFUSALS:
            sweep.refused, sweep.done = error, True
        elif error != "ratelimited":
            search.error = error
        return []
    sweep.pages += 1
    page = [c for c in body.get("conversations") or [] if isinstance(c, dict)]
    sweep.found += len(page)
    total = body.get("total_count")
    if isinstance(total, int) and total >= 0:
        sweep.total = total
    following = body.get("next_cursor") or (body.get("response_metadata") or {}).get("next_cursor")
    if not isinstance(following, str) or not following or sweep.pages >= MAX_SEARCH_PAGES:
        sweep.done, sweep.cursor = True, None
    else:
        sweep.cursor = following
    return findings.add(page)


async def search_by_name(admin_client: AsyncWebClient, findings: Findings, typed: str) -> list[dict[str, Any]]:
    """Channels of ours shared with the partner whose name holds `typed` (the search's `query`), one page of each
    kind the plan's search may ask for; for the "keep these" picker while the plan's own search is not done."""
    found: list[dict[str, Any]] = []
    for sweep in findings.search.sweeps:
        if sweep.refused:
            continue
        body, error = await call_outcome(
            admin_client.admin_conversations_search(
                limit=SEARCH_PAGE_SIZE,
                query=typed,
                connected_team_ids=findings.partner_id,
                search_channel_types=sweep.types,
            )
        )
        if error is None:
            page = [c for c in body.get("conversations") or [] if isinstance(c, dict)]
            found.extend(c.as_item() for c in classify(page, findings.partner_id, findings.our_org).ours)
    return found


async def search_shared_with(
    admin_client: AsyncWebClient, partner_id: str, our_org: str, max_pages: int = 2 * MAX_SEARCH_PAGES
) -> Plan:
    """Every channel of our org shared with `partner_id`, every page (20 a page), private and public asked for
    explicitly (a refusal of private channels leaves the public ones: `Findings.search.private_refused`)."""
    findings = Findings(partner_id, our_org)
    search = findings.search
    while not search.done and search.pages < max_pages:
        before = search.progress
        await search_page(admin_client, findings)
        if search.progress == before and not search.done:
            search.error = "ratelimited"  # still limited after the client's own retries
    return findings.plan()


PLAN_KEPT_FOR = timedelta(days=1)


@dataclass(frozen=True)
class StoredPlan:
    id: str
    user_id: str
    enterprise_id: str | None
    findings: Findings
    partner_name: str | None = None


class PlanStore:
    """Plans between the search and the confirmation, in the app's database (any instance reads them)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def save(
        self, user_id: str, enterprise_id: str | None, findings: Findings, partner_name: str | None = None
    ) -> str:
        from services.storage.plan_rows import write_plan_row

        plan_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        body = {**findings.as_dict(), "partner_name": partner_name}
        values = {
            "id": plan_id,
            "created_at": now,
            "user_id": user_id,
            "enterprise_id": enterprise_id,
            "partner_id": findings.partner_id,
            "body": json.dumps(body, separators=(",", ":")),
        }
        await write_plan_row(self.database, values, now - PLAN_KEPT_FOR)
        return plan_id

    async def load(self, plan_id: str, user_id: str) -> StoredPlan | None:
        """The plan, if it exists, `user_id` made it (a plan shows channel names: only its author reads it) and it is
        younger than PLAN_KEPT_FOR (the purge runs only when a plan is written: an old row may still be there)."""
        from services.storage.plan_rows import plan_row

        if not plan_id:
            return None
        row = await plan_row(self.database, plan_id)
        if row is None or row["user_id"] != user_id:
            return None
        created = row["created_at"]
        if (created if created.tzinfo else created.replace(tzinfo=UTC)) < datetime.now(UTC) - PLAN_KEPT_FOR:
            return None
        body = json.loads(row["body"] or "{}")
        name = body.get("partner_name")
        return StoredPlan(
            row["id"],
            row["user_id"],
            row["enterprise_id"],
            Findings.of(body),
            name if isinstance(name, str) and name else None,
        )


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
    listed, _ = await find_partner(bot, team_id, PLACE_PAGES)  # a name isn't worth more than 10 pages' wait
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


def estimated_total_seconds(count: int, pages_left: int) -> float:
    """The search's remaining pages and the admin calls, at Tier 2 each: they run side by side in the job (each
    channel is disconnected as soon as it is found), so the longer of the two, plus a page for the first channels."""
    search = estimated_seconds(pages_left, ASSUMED_SEARCH_PAGES_PER_MINUTE)
    calls = estimated_seconds(count)
    if not pages_left:
        return calls
    return max(search + 60.0 / ASSUMED_CALLS_PER_MINUTE, calls + 60.0 / ASSUMED_SEARCH_PAGES_PER_MINUTE)


def plan_digest(channel_ids: Sequence[str]) -> str:
    """A short fingerprint of the channels a confirmation names (private_metadata can't hold 300 IDs)."""
    import hashlib

    return hashlib.sha256(",".join(sorted(channel_ids)).encode()).hexdigest()[:16]


def offboard_claim(enterprise_id: str | None, partner_id: str | None) -> str:
    """What an offboarding job holds alone while unfinished (services.jobs.queue: a unique column): one offboarding
    per partner and org, dry run or not, whatever the number of jobs."""
    return f"offboard:{enterprise_id or ''}:{partner_id or ''}"


def offboarding_disconnects(payload: dict[str, Any], items: Sequence[dict[str, Any]], channel_id: str) -> bool:
    """Whether the unfinished offboarding with this payload and items still means to disconnect its partner from
    `channel_id`: a whole-partner disconnect (team.externalTeams.disconnect) does every channel; a dry run none; a
    channel-by-channel one a channel it lists and has not worked yet, or one its unfinished search may still find,
    never one the admin kept (`excluded`)."""
    if payload.get("mode") == "everything":
        return True
    if payload.get("dry_run") is True or channel_id in (payload.get("excluded") or []):
        return False
    for item in items:
        if item.get("id") == channel_id:
            return item.get("outcome") is None
    return "search" in payload and not Search.of(payload.get("search")).done
