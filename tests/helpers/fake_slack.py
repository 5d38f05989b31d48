"""A fake of the Slack Web API and of response URLs, over real HTTP on 127.0.0.1.

It follows Slack's own records of real answers (../shared/slack-samples/, "S:" below), the reference pages in
../shared/seeds/ and Slack's documentation (URLs beside each behaviour). It models Enterprise orgs (`E…`) with their
workspaces (`T…`), standalone workspaces, users of any of them, tokens of any of them (workspace-level, org-level,
user), and channels as Slack Connect shares them: a host workspace, workspaces of the host's own org (org-shared),
partner orgs and standalone partner workspaces, connected, limited or still pending. It answers conversations.leave
with every documented shape (both `not_in_channel` shapes included), records every call, and can be told to answer
any error code, HTTP 429 with Retry-After, 5xx, non-JSON, or after a delay — before or after doing the work.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import itertools
import json
import random
import string
import time
import weakref
from collections import Counter, deque
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from tests.helpers.fake_files import FakeFiles, message_refusal
from tests.helpers.fake_hold import FakeHold
from tests.helpers.fake_offboard import FakeOffboard
from tests.helpers.fake_partners import FakePartners
from tests.helpers.fake_rotation import FakeRotation

# Every error code on the conversations.leave reference page (seeds/conversations.leave.txt).
LEAVE_ERROR_CODES = [
    "cant_leave_general", "channel_not_found", "is_archived", "last_member",
    "method_not_supported_for_channel_type", "missing_scope", "user_is_restricted", "access_denied",
    "account_inactive", "deprecated_endpoint", "ekm_access_denied", "enterprise_is_restricted",
    "invalid_auth", "is_bot", "user_is_ultra_restricted", "method_deprecated", "not_allowed_token_type",
    "not_authed", "no_permission", "org_login_required", "token_expired", "token_revoked",
    "two_factor_setup_required", "team_access_not_granted", "accesslimited", "fatal_error",
    "internal_error", "invalid_arg_name", "invalid_arguments", "invalid_array_arg", "invalid_charset",
    "invalid_form_data", "invalid_post_type", "missing_post_type", "ratelimited", "request_timeout",
    "service_unavailable", "team_added_to_org",
]  # fmt: skip

# Every error code on the admin.conversations.disconnectShared reference page.
DISCONNECT_ERROR_CODES = [
    "access_denied", "accesslimited", "account_inactive", "cannot_kick_home_team", "cannot_kick_team",
    "channel_not_found", "deprecated_endpoint", "ekm_access_denied", "enterprise_is_restricted", "fatal_error",
    "feature_not_enabled", "internal_error", "invalid_arg_name", "invalid_arguments", "invalid_array_arg",
    "invalid_auth", "invalid_charset", "invalid_form_data", "invalid_post_type", "leaving_team_not_in_channel",
    "leaving_team_required", "method_deprecated", "missing_post_type", "missing_scope", "no_permission",
    "no_teams_to_disconnect", "not_allowed_token_type", "not_an_admin", "not_an_enterprise", "not_authed",
    "not_supported", "org_login_required", "ratelimited", "request_timeout", "restricted_action",
    "service_unavailable", "team_access_not_granted", "team_added_to_org", "team_not_found", "token_expired",
    "token_revoked", "two_factor_setup_required",
]  # fmt: skip

TRIGGER_LIFETIME = 3.0
RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0

# Methods an org-level token may call only with `team_id` (a workspace of its org), else `missing_argument`:
# https://api.slack.com/enterprise/apps/changes-apis ("Some API methods require a team_id when called by an
# organization-wide app"), and each method's page, e.g. https://api.slack.com/methods/users.conversations
# ("team_id: encoded team id to list conversations in, required if org token is used").
ORG_TOKEN_NEEDS_TEAM_ID = {"users.conversations", "conversations.list", "users.list"}
# https://docs.slack.dev/reference/methods/users.conversations: "specify a limit value with a max of 999" (the older
# api.slack.com page says "no larger than 1000"); neither lists an error for a larger one ("Fewer than the requested
# number of items may be returned"), so a larger limit is clamped, not refused.
USERS_CONVERSATIONS_MAX_LIMIT = 999
# https://api.slack.com/methods/admin.conversations.search: limit "Must be between 1 - 20", default 10 (clamped).
SEARCH_MAX_LIMIT = 20

DEFAULT_BOT_SCOPES = frozenset({
    "commands", "channels:manage", "channels:join", "groups:write", "chat:write",
    "users:read", "channels:read", "groups:read", "team:read", "files:write", "im:write",
})  # fmt: skip


def slack_id(prefix: str) -> str:
    return prefix + "".join(random.choices(string.ascii_uppercase + string.digits, k=10))


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:21] or "team"


@dataclass
class Channel:
    """A conversation, and who shares it as Slack models it (S: api/conversations.info.json and its README).

    `host_team` is the workspace that created it (None: the home workspace). `internal` lists the other workspaces
    of the host's own org that have it (an org-shared channel). `connected`, `limited` and `pending` list the outside
    parties: an Enterprise org by its `E…`, a standalone workspace by its `T…` — a connection, a limited connection,
    an invitation not yet accepted.
    """

    id: str
    name: str
    is_private: bool = False
    is_general: bool = False
    is_archived: bool = False
    is_im: bool = False
    is_mpim: bool = False
    members: set[str] = field(default_factory=set)
    host_team: str | None = None
    internal: list[str] = field(default_factory=list)
    connected: list[str] = field(default_factory=list)
    limited: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    @property
    def connected_teams(self) -> list[str]:
        """The outside parties connected now (limited connections too; pending invitations are not connections)."""
        return [*self.connected, *self.limited]

    @connected_teams.setter
    def connected_teams(self, parties: list[str]) -> None:
        self.connected, self.limited = list(parties), []


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Scripted:
    """One canned answer: a JSON body, or raw text, a status, headers, a delay, or a dropped connection.

    With `act=True` the fake first does what the method normally does (e.g. really disconnects the team), then
    answers with this fault — what the seed page warns of for `internal_error`/`fatal_error`: "It's possible some
    aspect of the operation succeeded before the error was raised."
    """

    body: dict[str, Any] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    delay: float = 0.0
    reset: bool = False
    act: bool = False


# A soak's random faults. Its 429s ask for no wait (Retry-After: 0): random 429s that each paused every caller for a
# second would measure the pause, not the app; the one-second shapes are in test_failing_slack_matrix.
CHAOS = [
    Scripted(body={"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"}),
    Scripted(status=500, text="oops"),
    Scripted(status=503, text="busy"),
    Scripted(text="<html>maintenance</html>"),
    Scripted(reset=True),
    Scripted(body={"ok": False, "error": "internal_error"}),
]


@dataclass
class ResponseUrl:
    url: str
    created: float
    posts: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


def _error(code: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": code, **extra}


def _ids(value: Any) -> list[str]:
    """An array argument: a comma-separated string (form) or a JSON list."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


class FakeSlack(FakeFiles, FakePartners, FakeRotation, FakeOffboard, FakeHold):
    def __init__(self) -> None:
        self.team_id = slack_id("T")
        self.enterprise_id: str | None = None
        self.bot_user_id = slack_id("U")
        self.bot_id = slack_id("B")
        self.app_id = "A0FAKEAPP"
        self.bot_token = "xoxb-fake-" + "".join(random.choices(string.ascii_lowercase, k=24))
        # A token's identity: kind (bot/user/app), user_id, scopes, team_id (its workspace; None for an org-level
        # bot), enterprise_id (an org-level token's org), org_level (issued by an org-wide install).
        self.tokens: dict[str, dict[str, Any]] = {
            self.bot_token: {
                "kind": "bot", "user_id": self.bot_user_id, "scopes": set(DEFAULT_BOT_SCOPES),
                "team_id": self.team_id, "org_level": False,
            }
        }  # fmt: skip
        self.orgs: dict[str, dict[str, Any]] = {}  # E… -> {"name": ...}
        self.teams: dict[str, dict[str, Any]] = {self.team_id: {"name": "Home Workspace", "enterprise_id": None}}
        self.users: dict[str, dict[str, Any]] = {}
        self.app_token = "xapp-1-A0FAKEAPP-1-" + "".join(random.choices(string.hexdigits.lower(), k=32))
        self.tokens[self.app_token] = {"kind": "app", "user_id": None, "scopes": {"connections:write"}}
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_messages: list[dict[str, Any]] = []
        self.channels: dict[str, Channel] = {}
        self.client_id = "1234567890.0987654321"
        self.client_secret = "fake-client-secret-" + "".join(random.choices(string.hexdigits.lower(), k=24))
        self.oauth_codes: dict[str, dict[str, Any]] = {}
        self.installing: dict[str, Any] | None = None  # who goes through /oauth/v2/authorize (installing_as)
        self.default_redirect_uri: str | None = None  # the app's configured Redirect URL, when the link names none
        self.calls: list[Call] = []
        self._acted: dict[str, Counter[str]] = {}  # per method, per channel: what Slack did (not 429s, not faults)
        self.scripts: dict[str, deque[Scripted]] = {}
        self.delays: dict[str, float] = {}
        self.default_delay = 0.0  # every method, unless delays names it
        self.chaos_rate = 0.0  # share of Web API calls answered with a random fault (a soak test's faults)
        self.chaos = random.Random(7)
        self.chaos_count = 0
        self.open_response_urls = False  # accept any response URL on this host (a load driver in another process)
        self.limits: dict[str, tuple[int, float]] = {}
        self._accepted: dict[str, deque[float]] = {}
        self.rate_limited_count: dict[str, int] = {}
        self.not_in_channel_ok = False  # the reference answers ok:false; other versions ok:true
        self.triggers: dict[str, float] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.external_ids: dict[str, str] = {}
        self.home_view_ids: dict[str, str] = {}
        self.view_history: dict[str, list[dict[str, Any]]] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.messages: list[dict[str, Any]] = []
        self._counter = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.requests_in_flight = 0  # requests being answered right now
        self._stopping = asyncio.Event()
        self._transports: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()
        self.port = 0
        self._rotation_init()  # token rotation, off until rotation_seconds is set (tests/helpers/fake_rotation.py)
        self.init_files()

    # ---- lifecycle ------------------------------------------------------------------------------
    async def start(self, port: int = 0) -> None:
        app = web.Application(middlewares=[self._count_connections])
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/oauth/v2/authorize", self._authorize)
        app.router.add_post("/commands/{team}/{a}/{b}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self.add_file_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]

    @web.middleware
    async def _count_connections(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Every request is counted while it is answered, and its connection remembered (see open_connections)."""
        if request.transport is not None:
            self._transports.add(request.transport)
        self.requests_in_flight += 1
        try:
            return await handler(request)
        finally:
            self.requests_in_flight -= 1

    async def _pause(self, seconds: float) -> None:
        """A slow answer: `seconds`, or until the fake stops (a test ends without waiting out a hang it caused)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def open_connections(self) -> int:
        """Connections to the fake still open (each one a keep-alive handler task in this loop)."""
        return sum(1 for transport in self._transports if not transport.is_closing())

    async def stop(self) -> None:
        self._stopping.set()
        for socket in self.sockets:
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def authorize_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/oauth/v2/authorize"

    # ---- orgs, workspaces, users ------------------------------------------------------------------
    def org_of(self, team_id: str | None) -> str | None:
        """The Enterprise org a workspace belongs to; None for a standalone workspace (or an unknown ID)."""
        return self.teams.get(team_id or "", {}).get("enterprise_id")

    def party_of(self, team_id: str) -> str:
        """How a workspace appears among a channel's outside parties: its org's `E…`, or itself when standalone."""
        return self.org_of(team_id) or team_id

    def org_name(self, enterprise_id: str | None) -> str:
        return self.orgs.get(enterprise_id or "", {}).get("name", "")

    def workspaces_of(self, enterprise_id: str) -> list[str]:
        return [t for t, team in self.teams.items() if team["enterprise_id"] == enterprise_id]

    def make_grid(self) -> str:
        """Turn the home workspace into a workspace of an Enterprise org (named "Fake Org"); returns the org's ID."""
        if self.enterprise_id:
            return self.enterprise_id
        self.enterprise_id = slack_id("E")
        self.orgs[self.enterprise_id] = {"name": "Fake Org"}
        self.teams[self.team_id]["enterprise_id"] = self.enterprise_id
        for user in self.users.values():
            if user["team_id"] == self.team_id:
                self._enterprise_fields(user, org_admin=False, org_owner=False)
        return self.enterprise_id

    def add_org(self, name: str) -> str:
        """Another Enterprise org (a partner); add its workspaces with add_team(name, enterprise_id=...)."""
        enterprise_id = slack_id("E")
        self.orgs[enterprise_id] = {"name": name}
        return enterprise_id

    def add_team(self, name: str, enterprise_id: str | None = None) -> str:
        """A workspace: of the Enterprise org `enterprise_id`, or standalone when it is None."""
        team_id = slack_id("T")
        if enterprise_id and enterprise_id not in self.orgs:
            self.orgs[enterprise_id] = {"name": f"Org {enterprise_id[-4:]}"}
        self.teams[team_id] = {"name": name, "enterprise_id": enterprise_id}
        return team_id

    def _enterprise_fields(self, user: dict[str, Any], *, org_admin: bool, org_owner: bool) -> None:
        """users.info on an Enterprise org (S: api/users.info.json: `enterprise_user`, top-level `enterprise_id`,
        `teams`)."""
        org = self.org_of(user["team_id"])
        user["enterprise_user"] = {
            "id": user["id"], "enterprise_id": org, "enterprise_name": self.org_name(org), "is_admin": org_admin,
            "is_owner": org_owner, "is_primary_owner": False, "teams": [user["team_id"]],
        }  # fmt: skip
        user["enterprise_id"] = org
        user["teams"] = [user["team_id"]]

    def add_user(self, *, org_admin: bool = False, org_owner: bool = False, workspace_admin: bool = False,
                 owner: bool = False, primary_owner: bool = False, deleted: bool = False,
                 real_name: str | None = None, team_id: str | None = None) -> str:  # fmt: skip
        """A person in `team_id` (the home workspace by default); org_admin/org_owner count on an Enterprise org."""
        user_id = slack_id("U")
        team = team_id or self.team_id
        real_name = real_name or f"Person {user_id[-4:]}"
        user: dict[str, Any] = {
            "id": user_id, "team_id": team, "name": f"user-{user_id.lower()}", "deleted": deleted,
            "real_name": real_name, "profile": {"real_name": real_name, "display_name": ""},
            "is_admin": workspace_admin, "is_owner": owner, "is_primary_owner": primary_owner, "is_bot": False,
        }  # fmt: skip
        if self.org_of(team):
            self._enterprise_fields(user, org_admin=org_admin, org_owner=org_owner)
        self.users[user_id] = user
        return user_id

    def is_org_admin(self, user_id: str | None) -> bool:
        """An Org Admin or Owner of an Enterprise org (users.info `enterprise_user.is_admin` / `is_owner`)."""
        grid = self.users.get(user_id or "", {}).get("enterprise_user") or {}
        return bool(grid.get("is_admin") or grid.get("is_owner"))

    # ---- tokens ---------------------------------------------------------------------------------
    def add_admin_token(self, *, admin: bool = True, scopes: set[str] | None = None, team_id: str | None = None) -> str:
        """A user token (xoxp-) of a new user of `team_id` (home by default) from an org-wide install: an Org Admin of
        that workspace's org unless admin=False."""
        user_id = self.add_user(org_admin=admin, team_id=team_id)
        team = self.users[user_id]["team_id"]
        token = "xoxp-fake-" + "".join(random.choices(string.ascii_lowercase, k=24))
        self.tokens[token] = {
            "kind": "user", "user_id": user_id, "team_id": team, "org_level": bool(self.org_of(team)),
            "scopes": {"admin.conversations:write"} if scopes is None else set(scopes),
        }  # fmt: skip
        return token

    def add_org_bot_token(self, enterprise_id: str | None = None, scopes: set[str] | None = None) -> str:
        """An org-level bot token (an org-wide install's xoxb-) of `enterprise_id` (the home org by default)."""
        org = enterprise_id or self.enterprise_id
        if not org:
            raise ValueError("an org-level token needs an Enterprise org: call make_grid() or add_org() first")
        token = "xoxb-org-" + "".join(random.choices(string.ascii_lowercase, k=24))
        self.tokens[token] = {
            "kind": "bot", "user_id": self.bot_user_id, "team_id": None, "enterprise_id": org, "org_level": True,
            "scopes": set(DEFAULT_BOT_SCOPES if scopes is None else scopes),
        }  # fmt: skip
        return token

    def _token_org(self, identity: dict) -> str | None:
        return identity.get("enterprise_id") or self.org_of(self._token_team(identity))

    def _token_team(self, identity: dict) -> str | None:
        """The token's own workspace (None for an org-level bot token, which belongs to an org)."""
        if identity.get("kind") == "bot" and identity.get("org_level"):
            return None
        user = self.users.get(identity.get("user_id") or "")
        if identity.get("kind") == "user" and user is not None:
            return user["team_id"]
        return identity.get("team_id") or self.team_id

    def _workspace(self, identity: dict, params: dict) -> str | None:
        """The workspace a call acts in: the token's own; for an org-level token, the `team_id` passed (a workspace
        of its org; it "will be ignored if the API call is sent using a workspace-level token",
        https://docs.slack.dev/reference/methods/users.conversations)."""
        if identity.get("org_level"):
            team = str(params.get("team_id") or "")
            if team and self.org_of(team) == self._token_org(identity):
                return team
            if identity.get("kind") == "bot":
                return None
        return self._token_team(identity)

    def _team_id_problem(self, method: str, identity: dict, params: dict) -> dict | None:
        if not identity.get("org_level") or method not in ORG_TOKEN_NEEDS_TEAM_ID:
            return None
        team = str(params.get("team_id") or "")
        if not team:
            return _error("missing_argument")
        if self.org_of(team) != self._token_org(identity):
            return _error("team_access_not_granted")
        return None

    # ---- channels -------------------------------------------------------------------------------
    def add_channel(self, name: str, *, bot_member: bool = True, others: int = 2, **flags: Any) -> str:
        prefix = "D" if flags.get("is_im") else ("G" if flags.get("is_private") else "C")
        channel = Channel(id=slack_id(prefix), name=name, **flags)
        if bot_member:
            channel.members.add(self.bot_user_id)
        channel.members.update(slack_id("U") for _ in range(others))
        self.channels[channel.id] = channel
        return channel.id

    def add_shared_channel(
        self,
        name: str,
        *,
        host: str | None = None,
        connected: list[str] | tuple[str, ...],
        pending: list[str] | tuple[str, ...] = (),
        limited: list[str] | tuple[str, ...] = (),
        internal: list[str] | tuple[str, ...] = (),
        **flags: Any,
    ) -> str:
        """A channel created by workspace `host` (home by default), shared with others.

        `connected`, `pending`, `limited` name partners by org ID (`E…`) or workspace ID (`T…`). A workspace of an
        Enterprise org is recorded as its org, as Slack shows it (S: api/conversations.info.json
        `connected_team_ids: ["E…"]`) — unless it is in the host's own org: then it is one of the channel's internal
        workspaces (org-shared). `internal` names more workspaces of the host's org. The host itself, or its org, is
        never an outside party.
        """
        host_team = host or self.team_id
        if host_team not in self.teams:
            raise ValueError(f"unknown host workspace {host_team}")
        host_org = self.org_of(host_team)
        channel_id = self.add_channel(name, **flags)
        channel = self.channels[channel_id]
        channel.host_team = host_team

        def place(team_or_org: str, kind: str) -> None:
            if team_or_org in (host_team, host_org):
                return
            if team_or_org.startswith("T") and team_or_org not in self.teams:
                raise ValueError(f"unknown workspace {team_or_org}")
            if team_or_org.startswith("E") and team_or_org not in self.orgs:
                raise ValueError(f"unknown org {team_or_org}")
            if team_or_org.startswith("T") and host_org and self.org_of(team_or_org) == host_org:
                if kind != "connected":
                    raise ValueError(f"{team_or_org} is in the host's own org: it can only be internal")
                kind = "internal"
            party = team_or_org if kind == "internal" else self.party_of(team_or_org)
            bucket = getattr(channel, kind)
            if party not in bucket and not any(party in b for b in (channel.connected, channel.limited)):
                bucket.append(party)

        for team in internal:
            if self.org_of(team) != host_org or not host_org:
                raise ValueError(f"{team} is not a workspace of the host's org")
            place(team, "connected")
        for kind, parties in (("connected", connected), ("limited", limited), ("pending", pending)):
            for party in parties:
                place(party, kind)
        return channel_id

    def _host(self, channel: Channel) -> str:
        return channel.host_team or self.team_id

    def _internal_team_ids(self, channel: Channel) -> list[str]:
        """The workspaces of the host's own org that have the channel, the host first (S: conversations.info
        `internal_team_ids: ["T…"]` beside `conversation_host_id: "T…"`); none when the host is standalone."""
        host = self._host(channel)
        return [host, *channel.internal] if self.org_of(host) else []

    def _connected_team_ids(self, channel: Channel) -> list[str]:
        """Reading of S: conversations.info + README (a single masked element, so who is listed is not recorded):
        every party connected, by org ID (`E…`) or standalone workspace ID (`T…`) — the host's own org (or the
        standalone host) first, then each connected partner, so the caller's own org is listed too. Limited
        connections are in `connected_limited_team_ids`, invitations in `pending_connected_team_ids`. A channel with
        no outside party lists none. An app must drop its own org and the host itself."""
        if not channel.connected_teams:
            return []
        return [self.party_of(self._host(channel)), *channel.connected]

    def _visible(self, channel: Channel, workspace: str | None, org: str | None) -> bool:
        """Whether a caller in `workspace` (or an org-level caller of `org` naming none) can see the channel: the
        host, an internal workspace, or any workspace of a connected (or limited) partner; pending ones can't."""
        host = self._host(channel)
        host_party = self.party_of(host)
        if workspace is None:
            return org is not None and (org == host_party or org in channel.connected_teams)
        if workspace == host or workspace in channel.internal:
            return True
        party = self.party_of(workspace)
        return party != host_party and party in channel.connected_teams

    def _context_team(self, channel: Channel, workspace: str | None, org: str | None) -> str:
        """The caller's workspace (S: `context_team_id`); for an org-level token naming none, one of its org's that
        has the channel."""
        if workspace:
            return workspace
        for team in self._internal_team_ids(channel):
            if self.org_of(team) == org:
                return team
        return next(iter(self.workspaces_of(org or "")), self._host(channel))

    def _flags(self, channel: Channel) -> dict[str, bool]:
        org_shared = len(self._internal_team_ids(channel)) > 1
        ext_shared = bool(channel.connected_teams)
        return {
            "is_shared": ext_shared or org_shared, "is_ext_shared": ext_shared, "is_org_shared": org_shared,
            "is_pending_ext_shared": bool(channel.pending),
        }  # fmt: skip

    def _summary(self, channel: Channel, context: str) -> dict[str, Any]:
        """The channel fields both conversations.info and users.conversations carry (S: both samples)."""
        return {
            "id": channel.id, "name": channel.name,
            "is_channel": not channel.is_private and not channel.is_im and not channel.is_mpim,
            "is_group": channel.is_private and not channel.is_mpim, "is_im": channel.is_im, "is_mpim": channel.is_mpim,
            "is_private": channel.is_private, "is_general": channel.is_general, "is_archived": channel.is_archived,
            **self._flags(channel),
            "context_team_id": context,
            "conversation_host_id": self._host(channel),  # a workspace T… (S: conversations.info.json)
            # The caller's own workspace, even for a channel shared with no one (S: README).
            "shared_team_ids": [context],
            "internal_team_ids": self._internal_team_ids(channel),
            "pending_connected_team_ids": list(channel.pending),
        }  # fmt: skip

    def is_member(self, channel_id: str) -> bool:
        return self.bot_user_id in self.channels[channel_id].members

    # ---- OAuth ----------------------------------------------------------------------------------
    def prepare_install(
        self, *, org_wide: bool = False, installer: str | None = None, user_scopes: str = "admin.conversations:write"
    ) -> str:
        """A code that oauth.v2.access exchanges for a new install (its tokens work from then on)."""
        if org_wide and not self.org_of(self.users[installer]["team_id"] if installer else self.team_id):
            raise ValueError("an org-wide install needs an Enterprise org: call make_grid() first")
        code = f"code-{random.getrandbits(64):x}"
        self.oauth_codes[code] = {"org_wide": org_wide, "installer": installer, "user_scopes": user_scopes}
        return code

    def installing_as(self, user_id: str, *, org_wide: bool = False) -> None:
        """Who the next visits of /oauth/v2/authorize install as, and whether on the whole org."""
        self.installing = {"user_id": user_id, "org_wide": org_wide}

    async def _authorize(self, request: web.Request) -> web.Response:
        """Slack's install page (https://docs.slack.dev/authentication/installing-with-oauth): it redirects to
        `redirect_uri` with `code` and `state`, or shows why it won't. Admin scopes: "The app requesting this scope
        must be installed by an admin or Owner of an Enterprise organization. Also, the app must be installed on the
        entire org" (seeds/admin.conversations.disconnectShared.txt)."""
        query = request.query
        if query.get("client_id") != self.client_id:
            return self._page("Invalid client_id parameter", "This link doesn't name a known app.")
        bot_scopes, user_scopes = _ids(query.get("scope")), _ids(query.get("user_scope"))
        who = self.installing or {"user_id": None, "org_wide": False}
        installer = who["user_id"] or self.add_user(workspace_admin=True)
        org = self.org_of(self.users[installer]["team_id"])
        org_admin = self.is_org_admin(installer)
        if who["org_wide"] and not (org and org_admin):
            return self._page(
                "You can't install this app on the organization",
                "Only an Org Admin or Owner of an Enterprise organization can install an app on the whole organization.",
            )
        if any(scope.startswith("admin.") for scope in user_scopes):
            if not org:
                return self._page(
                    "This app can't be installed on your workspace",
                    "This app requests permissions that are only available to Enterprise customers.",
                )
            if not (who["org_wide"] and org_admin):
                return self._page(
                    "This app can't be installed on a single workspace",
                    "Its admin scopes need an org-wide install by an Org Admin or Owner of the organization.",
                )
        code = f"code-{random.getrandbits(64):x}"
        self.oauth_codes[code] = {
            "org_wide": who["org_wide"], "installer": installer, "user_scopes": ",".join(user_scopes),
            "bot_scopes": bot_scopes, "redirect_uri": query.get("redirect_uri"),
        }  # fmt: skip
        target = query.get("redirect_uri") or self.default_redirect_uri or f"http://127.0.0.1:{self.port}/installed"
        joiner = "&" if "?" in target else "?"
        raise web.HTTPFound(target + joiner + urlencode({"code": code, "state": query.get("state", "")}))

    @staticmethod
    def _page(title: str, text: str) -> web.Response:
        body = f"<html><head><title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        return web.Response(text=body + f"<p>{html.escape(text)}</p></body></html>", content_type="text/html")

    def _oauth_v2_access(self, params: dict, authorization: str) -> dict:
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        if authorization.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            return _error("invalid_client_id" if client_id != self.client_id else "bad_client_secret")
        if params.get("grant_type") == "refresh_token":
            return self._refresh_grant(params)
        grant = self.oauth_codes.pop(params.get("code", ""), None)
        if grant is None:
            return _error("invalid_code")
        if grant.get("redirect_uri") and params.get("redirect_uri") not in (None, "", grant["redirect_uri"]):
            return _error("bad_redirect_uri")
        org_wide = grant["org_wide"]
        installer = grant["installer"] or self.add_user(org_admin=org_wide)
        team = self.users[installer]["team_id"]
        org = self.org_of(team)
        bot_scopes = set(grant["bot_scopes"]) if grant.get("bot_scopes") is not None else set(DEFAULT_BOT_SCOPES)
        user_scopes = _ids(grant["user_scopes"])
        body: dict[str, Any] = {"ok": True, "app_id": self.app_id}
        if bot_scopes:
            bot_token = "xoxb-installed-" + "".join(random.choices(string.ascii_lowercase, k=20))
            self.tokens[bot_token] = {
                "kind": "bot", "user_id": self.bot_user_id, "scopes": bot_scopes, "org_level": org_wide,
                "team_id": None if org_wide else team, "enterprise_id": org if org_wide else None,
            }  # fmt: skip
            bot_token = self.rotating_token(bot_token, body)
            body.update(access_token=bot_token, token_type="bot", scope=",".join(sorted(bot_scopes)))
            body["bot_user_id"] = self.bot_user_id
        body["authed_user"] = {"id": installer}
        if user_scopes:  # no user scope asked: no user token at all
            user_token = "xoxp-installed-" + "".join(random.choices(string.ascii_lowercase, k=20))
            self.tokens[user_token] = {
                "kind": "user", "user_id": installer, "team_id": team, "org_level": org_wide,
                "scopes": set(user_scopes),
            }  # fmt: skip
            user_token = self.rotating_token(user_token, body["authed_user"])
            body["authed_user"].update(scope=",".join(user_scopes), access_token=user_token, token_type="user")
        # An org-wide install has `"team": null` (https://api.slack.com/enterprise/apps/reference); a workspace
        # outside any Enterprise org has `"enterprise": null`.
        body["team"] = None if org_wide else {"id": team, "name": self.teams[team]["name"]}
        body["enterprise"] = {"id": org, "name": self.org_name(org)} if org else None
        body["is_enterprise_install"] = org_wide
        return body

    # ---- scripts, limits, triggers, response URLs -------------------------------------------------
    def script(self, method: str, *answers: Scripted) -> None:
        """The next calls of `method` get these answers, in order, before normal behaviour resumes."""
        self.scripts.setdefault(method, deque()).extend(answers)

    def fail(self, method: str, error: str, times: int = 1, **extra: Any) -> None:
        self.script(method, *[Scripted(body={"ok": False, "error": error, **extra}) for _ in range(times)])

    def rate_limit(self, method: str, calls: int, per_seconds: float = 1.0) -> None:
        self.limits[method] = (calls, per_seconds)

    def new_trigger_id(self) -> str:
        trigger_id = f"{next(self._counter)}.{random.randint(10**9, 10**10)}.{random.getrandbits(64):x}"
        self.triggers[trigger_id] = time.monotonic()
        return trigger_id

    def new_response_url(self) -> str:
        url = f"http://127.0.0.1:{self.port}/commands/{self.team_id}/{random.randint(10**12, 10**13)}/{random.getrandbits(96):x}"
        self.response_urls[url] = ResponseUrl(url=url, created=time.monotonic())
        return url

    # ---- what tests read ------------------------------------------------------------------------
    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def acted_on(self, method: str) -> Counter[str]:
        """How many times Slack acted on `method` for each channel (`channel` or `channel_id`): the calls that reached
        the method, not those answered 429 or with a scripted fault. Live: it keeps counting."""
        return self._acted.setdefault(method, Counter())

    def gaps_between_calls_to(self, method: str) -> list[float]:
        """Seconds between one call of `method` and the next, as the fake received them."""
        times = [c.at for c in self.calls if c.method == method]
        return [b - a for a, b in pairwise(times)]

    def posts_to(self, url: str) -> list[dict[str, Any]]:
        return self.response_urls[url].posts

    async def wait_for(self, predicate, timeout: float = 15.0, what: str = "condition") -> Any:
        """Poll until predicate() is truthy (bounded); returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            await asyncio.sleep(0.01)

    async def next_post(self, url: str, timeout: float = 15.0, count: int = 1) -> dict[str, Any]:
        posts = await self.wait_for(
            lambda: len(self.posts_to(url)) >= count and self.posts_to(url), timeout, "a response URL post"
        )
        return posts[count - 1]

    # ---- HTTP: Web API ----------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if request.content_type == "application/json":
            data = json.loads(raw or b"{}")
            params.update(data if isinstance(data, dict) else {})
        else:
            params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        return params

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await self._params(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.pop("token", None)
        params.pop("token", None)
        self.calls.append(Call(method, params, token))
        await self._held(method, params)

        delay = self.delays.get(method, self.default_delay)
        if delay:
            await self._pause(delay)
        queue = self.scripts.get(method)
        if queue:
            answer = queue.popleft()
            if answer.act:  # do the work first; the fault comes after it
                self._answer(method, params, token, auth)
            return await self._scripted(request, answer)
        if self.chaos_rate and method != "auth.test" and self.chaos.random() < self.chaos_rate:
            self.chaos_count += 1
            return await self._scripted(request, self.chaos.choice(CHAOS))
        limited = self._over_limit(method)
        if limited is not None:
            return limited
        return web.json_response(self._answer(method, params, token, auth))

    def _answer(self, method: str, params: dict, token: str | None, authorization: str) -> dict:
        """What the method does and answers, with the token's identity checked."""
        if method == "oauth.v2.access":
            return self._oauth_v2_access(params, authorization)
        if not token:
            return _error("not_authed")
        identity = self.tokens.get(token)
        if identity is None:
            return _error("invalid_auth")
        if expired := self._expired(token):
            return expired
        if identity["kind"] == "app" and method != "apps.connections.open":
            return _error("not_allowed_token_type")
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return _error("unknown_method")
        if problem := self._team_id_problem(method, identity, params):
            return problem
        channel = params.get("channel") or params.get("channel_id") or ""
        self._acted.setdefault(method, Counter())[str(channel)] += 1
        return handler(params, identity)

    async def _scripted(self, request: web.Request, answer: Scripted) -> web.StreamResponse:
        if answer.delay:
            await self._pause(answer.delay)
        if answer.reset:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        if answer.text is not None:
            return web.Response(
                status=answer.status, text=answer.text, headers=answer.headers, content_type="text/html"
            )
        return web.json_response(answer.body or {}, status=answer.status, headers=answer.headers)

    def _over_limit(self, method: str) -> web.Response | None:
        if method not in self.limits:
            return None
        calls, window = self.limits[method]
        now = time.monotonic()
        accepted = self._accepted.setdefault(method, deque())
        while accepted and accepted[0] <= now - window:
            accepted.popleft()
        if len(accepted) >= calls:
            self.rate_limited_count[method] = self.rate_limited_count.get(method, 0) + 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(int(window))}
            )
        accepted.append(now)
        return None

    # ---- methods --------------------------------------------------------------------------------
    def _m_auth_test(self, params: dict, identity: dict) -> dict:
        """Who the token is (S: api/auth.test.json). An org-level token names its org: `team_id` is the `E…` and
        `is_enterprise_install` true (seen on real org-wide installs, https://github.com/lobu-ai/lobu/pull/3047;
        Bolt reads its `url` as the org's URL, slack_bolt/oauth/async_oauth_flow.py)."""
        team = self._token_team(identity)
        org = self._token_org(identity)
        if team is None:  # an org-level bot token
            body: dict[str, Any] = {
                "ok": True, "url": f"https://{_slug(self.org_name(org))}.enterprise.slack.com/",
                "team": self.org_name(org), "user": "channel-admin", "team_id": org,
                "user_id": identity["user_id"],
            }  # fmt: skip
        else:
            user = self.users.get(identity.get("user_id") or "", {})
            body = {
                "ok": True, "url": f"https://{_slug(self.teams[team]['name'])}.slack.com/",
                "team": self.teams[team]["name"], "user": user.get("name", "channel-admin"), "team_id": team,
                "user_id": identity["user_id"],
            }  # fmt: skip
        if identity["kind"] == "bot":
            body["bot_id"] = self.bot_id
            body["app_id"] = self.app_id
        body["is_enterprise_install"] = bool(identity.get("org_level"))
        if org:
            body["enterprise_id"] = org
        return body

    def _scope(self, identity: dict, *scopes: str) -> dict | None:
        if any(scope in identity["scopes"] for scope in scopes):
            return None
        return _error("missing_scope", needed=",".join(scopes), provided=",".join(sorted(identity["scopes"])))

    def _m_users_info(self, params: dict, identity: dict) -> dict:
        if missing := self._scope(identity, "users:read"):
            return missing
        user = self.users.get(params.get("user", ""))
        if user is None:
            return _error("user_not_found")
        return {"ok": True, "user": user}

    def _m_users_list(self, params: dict, identity: dict) -> dict:
        """The people of the workspace the call acts in (no sample: only what users.info shows, paged)."""
        if missing := self._scope(identity, "users:read"):
            return missing
        workspace = self._workspace(identity, params)
        found = [u for u in self.users.values() if workspace in u.get("teams", [u["team_id"]])]
        return self._page_of("members", found, params, 200, 1000)

    def _m_team_info(self, params: dict, identity: dict) -> dict:
        """A workspace (S: api/team.info.json; `enterprise_id`, `enterprise_name` on an Enterprise org). Slack
        documents team.info for workspaces only (https://docs.slack.dev/reference/methods/team.info: "team: Team to
        get info about"), no look-up of an org by its `E…`: that is `team_not_found` here."""
        if missing := self._scope(identity, "team:read"):
            return missing
        team_id = params.get("team") or self._workspace(identity, params) or self.team_id
        team = self.teams.get(team_id)
        if team is None:
            return _error("team_not_found")
        body = {"id": team_id, "name": team["name"], "domain": _slug(team["name"])}
        if team["enterprise_id"]:
            body["enterprise_id"] = team["enterprise_id"]
            body["enterprise_name"] = self.org_name(team["enterprise_id"])
        return {"ok": True, "team": body}

    def _m_conversations_info(self, params: dict, identity: dict) -> dict:
        """S: api/conversations.info.json and its README, seen by the caller's workspace (`context_team_id`)."""
        channel = self.channels.get(params.get("channel", ""))
        if channel is None:
            return _error("channel_not_found")
        if missing := self._scope(identity, "groups:read" if channel.is_private else "channels:read"):
            return missing
        workspace, org = self._workspace(identity, params), self._token_org(identity)
        if not self._visible(channel, workspace, org):
            return _error("channel_not_found")
        if channel.is_private and identity["user_id"] not in channel.members:
            return _error("channel_not_found")
        body = self._summary(channel, self._context_team(channel, workspace, org))
        body["is_member"] = identity["user_id"] in channel.members
        body["connected_team_ids"] = self._connected_team_ids(channel)
        body["connected_limited_team_ids"] = list(channel.limited)
        return {"ok": True, "channel": body}

    def _m_admin_conversations_disconnectShared(self, params: dict, identity: dict) -> dict:
        """seeds/admin.conversations.disconnectShared.txt: one team per call, by the originating org only."""
        if identity["kind"] != "user":
            return _error("not_allowed_token_type")
        if missing := self._scope(identity, "admin.conversations:write"):
            return missing
        org = self._token_org(identity)
        if not org:  # "This endpoint can only be called for an Enterprise organization."
            return _error("not_an_enterprise")
        if not self.is_org_admin(identity["user_id"]):  # "not associated with an Org Admin or Owner"
            return _error("not_an_admin")
        channel = self.channels.get(params.get("channel_id", ""))
        if channel is None or not self._visible(channel, None, org):
            return _error("channel_not_found")
        if channel.is_im or channel.is_mpim or channel.is_general:  # "a DM, MPDM, or the 'general' channel"
            return _error("not_supported")
        leaving = _ids(params.get("leaving_team_ids"))
        if len(leaving) > 1:  # "Only one team ID may be passed at a time."
            return _error("invalid_arguments")
        host = self._host(channel)
        host_party = self.party_of(host)
        if leaving and leaving[0] not in self.teams and leaving[0] not in self.orgs:
            return _error("team_not_found")
        # "For a channel connected to other organizations, only the originating organization may call this method."
        if org != host_party:
            return _error("cannot_kick_team")
        if leaving and leaving[0] in (host, host_party):  # "The originating workspace cannot be kicked"
            return _error("cannot_kick_home_team")
        removable = [*channel.connected_teams, *channel.internal]
        if not removable:  # "This channel is not shared"
            return _error("no_teams_to_disconnect")
        if not leaving:
            if len(removable) > 1:  # "more than two teams in the channel"
                return _error("leaving_team_required")
            leaving = removable
        (team_id,) = leaving
        # A pending invitation isn't a connection; a workspace of a connected org isn't itself a party (Slack lists
        # the org's E…).
        if team_id not in removable:
            return _error("leaving_team_not_in_channel")
        for bucket in (channel.connected, channel.limited, channel.internal):
            if team_id in bucket:
                bucket.remove(team_id)
        return {"ok": True}

    def _m_admin_conversations_search(self, params: dict, identity: dict) -> dict:
        """S: api/admin.conversations.search.json ("answers conversation_host_id as an org ID and takes
        connected_team_ids as a filter", README); https://api.slack.com/methods/admin.conversations.search. Needs
        no `team_id`: admin methods act on the whole org (`team_ids` is an optional filter)."""
        if identity["kind"] != "user":
            return _error("not_allowed_token_type")
        if missing := self._scope(identity, "admin.conversations:read"):
            return missing
        org = self._token_org(identity)
        if not org:
            return _error("not_an_enterprise")
        if not self.is_org_admin(identity["user_id"]):
            return _error("not_an_admin")
        kinds = self._search_kinds(params, identity)  # search_channel_types (tests/helpers/fake_offboard.py)
        if isinstance(kinds, dict):
            return kinds
        query = str(params.get("query") or "").lower()
        partners, teams = set(_ids(params.get("connected_team_ids"))), set(_ids(params.get("team_ids")))

        def matching() -> list[Channel]:
            found = []
            for channel in self.channels.values():
                if channel.is_im or channel.is_mpim or not self._visible(channel, None, org):
                    continue
                if (query and query not in channel.name.lower()) or not kinds(channel):
                    continue
                # The filter names "the external orgs to search through"; a result carries the partner's pending
                # invitations too (S: `pending_connected_team_ids` in a search result), so a partner that is only invited
                # matches as well. Not verified against a live org.
                if partners and not partners & {*self._connected_team_ids(channel), *channel.limited, *channel.pending}:
                    continue
                if teams and not teams & set(self._internal_team_ids(channel)):
                    continue
                found.append(channel)
            return found

        found = self._search_snapshot(params, org, matching)  # a cursor pages one result set
        start = int(params.get("cursor") or 0)
        limit = max(1, min(int(params.get("limit") or 10), SEARCH_MAX_LIMIT))
        following = str(start + limit) if start + limit < len(found) else ""
        page = []
        for channel in found[start : start + limit]:  # the page's results only: a 10,000-channel org stays quick
            internal = self._internal_team_ids(channel)
            page.append({
                "id": channel.id, "name": channel.name, "is_private": channel.is_private,
                "is_archived": channel.is_archived, "is_general": channel.is_general,
                "member_count": len(channel.members),
                **{k: v for k, v in self._flags(channel).items() if k != "is_shared"},
                "internal_team_ids": internal, "connected_team_ids": self._connected_team_ids(channel),
                "pending_connected_team_ids": list(channel.pending),
                "connected_limited_team_ids": list(channel.limited),
                "conversation_host_id": self.party_of(self._host(channel)),
                "context_team_id": self._context_team(channel, None, org),
            })  # fmt: skip
        return {"ok": True, "conversations": page, "next_cursor": following, "total_count": len(found)}

    def _m_apps_connections_open(self, params: dict, identity: dict) -> dict:
        if identity["kind"] != "app":
            return _error("not_allowed_token_type")
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}

    def _out_of_reach(self, channel: Channel, identity: dict, params: dict) -> dict | None:
        """Slack's answer when the token can't act in the channel (not visible to it, private without it, archived)."""
        member = identity["user_id"] in channel.members
        if not self._visible(channel, self._workspace(identity, params), self._token_org(identity)):
            return _error("channel_not_found")
        if channel.is_private and not member:
            return _error("channel_not_found")
        if channel.is_archived:
            return _error("is_archived")
        return None

    def _m_conversations_leave(self, params: dict, identity: dict) -> dict:
        channel = self.channels.get(params.get("channel", ""))
        if channel is None:
            return _error("channel_not_found")
        if channel.is_im:
            return _error("method_not_supported_for_channel_type")
        needed = "groups:write" if channel.is_private else "channels:manage"
        if needed not in identity["scopes"]:
            return _error("missing_scope", needed=needed, provided=",".join(sorted(identity["scopes"])))
        if problem := self._out_of_reach(channel, identity, params):
            return problem
        member = identity["user_id"] in channel.members
        if channel.is_general:
            return _error("cant_leave_general")
        if not member:  # seeds/conversations.leave.txt, "Alternate response"
            return {"ok": self.not_in_channel_ok, "not_in_channel": True}
        if channel.members == {identity["user_id"]}:
            return _error("last_member")
        channel.members.discard(identity["user_id"])
        return {"ok": True}

    def _m_conversations_join(self, params: dict, identity: dict) -> dict:
        """Public channels only: a private one the app isn't in is invisible to it."""
        channel = self.channels.get(params.get("channel", ""))
        if channel is None:
            return _error("channel_not_found")
        if missing := self._scope(identity, "channels:join"):
            return missing
        if channel.is_im:
            return _error("method_not_supported_for_channel_type")
        if problem := self._out_of_reach(channel, identity, params):
            return problem
        member = identity["user_id"] in channel.members
        body = {"id": channel.id, "name": channel.name, "is_channel": True, "is_member": True}
        if member:
            warning = "already_in_channel"
            return {"ok": True, "channel": body, "warning": warning, "response_metadata": {"warnings": [warning]}}
        channel.members.add(identity["user_id"])
        return {"ok": True, "channel": body}

    def _listed(self, params: dict, identity: dict, *, member_only: bool) -> list[Channel] | dict:
        types = set(_ids(params.get("types") or "public_channel"))
        for kind, scope in (("public_channel", "channels:read"), ("private_channel", "groups:read")):
            if kind in types and (missing := self._scope(identity, scope)):
                return missing
        exclude_archived = str(params.get("exclude_archived", "")).lower() in ("true", "1")
        workspace, org = self._workspace(identity, params), self._token_org(identity)
        return [
            c
            for c in self.channels.values()
            if (identity["user_id"] in c.members or (not member_only and not c.is_private))
            and not c.is_im
            and ("private_channel" if c.is_private else "public_channel") in types
            and not (exclude_archived and c.is_archived)
            and self._visible(c, workspace, org)
            and not (c.is_private and identity["user_id"] not in c.members)
        ]

    def _page_of(self, key: str, items: list, params: dict, default: int, most: int) -> dict:
        start = int(params.get("cursor") or 0)
        limit = max(1, min(int(params.get("limit") or default), most))
        following = str(start + limit) if start + limit < len(items) else ""
        return {"ok": True, key: items[start : start + limit], "response_metadata": {"next_cursor": following}}

    def _m_users_conversations(self, params: dict, identity: dict) -> dict:
        """The conversations the token's user is in, filtered by `types`, paged by `limit` and `cursor` (S:
        api/users.conversations.json; it omits `is_member`, https://docs.slack.dev/reference/methods/users.conversations).

        With `user`, that person's conversations instead: "user: Browse a user's conversations by their user ID.
        Non-public channels are restricted to those where the calling user shares membership." (same page) — their
        public channels, and the private ones the token's user is in too. A user the fake doesn't know is
        `user_not_found`.
        """
        user = str(params.get("user") or "")
        if user and user not in self.users:
            return _error("user_not_found")
        caller = identity["user_id"]
        listed = self._listed(params, {**identity, "user_id": user} if user else identity, member_only=True)
        if isinstance(listed, dict):
            return listed
        listed = [c for c in listed if not c.is_private or caller in c.members]
        workspace, org = self._workspace(identity, params), self._token_org(identity)
        found = [self._summary(c, self._context_team(c, workspace, org)) for c in listed]
        return self._page_of("channels", found, params, 100, USERS_CONVERSATIONS_MAX_LIMIT)

    def _m_conversations_list(self, params: dict, identity: dict) -> dict:
        """The workspace's channels: public ones, and private ones the caller is in (no sample; fields as
        conversations.info's)."""
        listed = self._listed(params, identity, member_only=False)
        if isinstance(listed, dict):
            return listed
        workspace, org = self._workspace(identity, params), self._token_org(identity)
        found = [
            {**self._summary(c, self._context_team(c, workspace, org)), "is_member": identity["user_id"] in c.members}
            for c in listed
        ]
        return self._page_of("channels", found, params, 100, 1000)

    def _view_error(self, view: Any) -> str | None:
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or view.get("type") != "modal":
            return "invalid_arguments"
        title = (view.get("title") or {}).get("text", "")
        if not title or len(title) > 24 or len(view.get("blocks", [])) > 100:
            return "invalid_arguments"
        if len(view.get("private_metadata", "")) > 3000 or len(view.get("callback_id", "")) > 255:
            return "invalid_arguments"
        # "submit is required when an input block is within the blocks array" (modal view object fields,
        # https://docs.slack.dev/reference/views/modal-views).
        blocks = view.get("blocks") or []
        if not view.get("submit") and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks):
            return "invalid_arguments"
        from tests.helpers.fake_blocks import select_limits_error  # selects: 100 options, or 100 groups of 100

        return select_limits_error(view)

    def _store_view(self, view_id: str, view: dict) -> dict:
        stored = {**view, "id": view_id, "hash": f"{time.time():.6f}.{random.getrandbits(32):x}"}
        stored.setdefault("private_metadata", "")
        stored.setdefault("callback_id", "")
        if view.get("external_id"):
            self.external_ids[view["external_id"]] = view_id
        self.views[view_id] = stored
        self.view_history.setdefault(view_id, []).append(stored)
        return stored

    def _m_views_open(self, params: dict, identity: dict) -> dict:
        trigger_id = params.get("trigger_id", "")
        opened_at = self.triggers.pop(trigger_id, None)
        if opened_at is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        if time.monotonic() - opened_at > TRIGGER_LIFETIME:
            return {"ok": False, "error": "expired_trigger_id"}
        view = params.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        error = self._view_error(view)
        if error or not isinstance(view, dict):
            return {"ok": False, "error": error or "invalid_arguments"}
        return {"ok": True, "view": self._store_view(slack_id("V"), view)}

    def _m_views_update(self, params: dict, identity: dict) -> dict:
        view_id = params.get("view_id") or self.external_ids.get(params.get("external_id") or "", "")
        if view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        if params.get("hash") and params["hash"] != self.views[view_id]["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        view = params.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        error = self._view_error(view)
        if error or not isinstance(view, dict):
            return {"ok": False, "error": error or "invalid_arguments"}
        return {"ok": True, "view": self._store_view(view_id, view)}

    def _m_views_publish(self, params: dict, identity: dict) -> dict:
        """A user's Home tab: at most 100 blocks; the newest publish replaces the last."""
        view = params.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        user_id = params.get("user_id", "")
        if not isinstance(view, dict) or view.get("type") != "home" or len(view.get("blocks", [])) > 100:
            return {"ok": False, "error": "invalid_arguments"}
        if user_id not in self.users:
            return {"ok": False, "error": "not_found"}
        stored = self._store_view(self.home_view_ids.setdefault(user_id, slack_id("V")), view)
        return {"ok": True, "view": stored}

    def home_of(self, user_id: str) -> dict[str, Any] | None:
        view_id = self.home_view_ids.get(user_id)
        return self.views.get(view_id) if view_id else None

    def record_view_ack(self, view_id: str, view: dict) -> None:
        """A view_submission answered with response_action=update replaces the view, as Slack does."""
        self._store_view(view_id, view)

    def record_view_push(self, view: dict) -> str:
        """response_action=push puts a new view on the modal's stack."""
        view_id = slack_id("V")
        self._store_view(view_id, view)
        return view_id

    def messages_to(self, channel: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("channel") == channel]

    def views_with(self, callback_id: str) -> list[dict[str, Any]]:
        return [v for v in self.views.values() if v.get("callback_id") == callback_id]

    def _m_chat_postMessage(self, params: dict, identity: dict) -> dict:
        if "chat:write" not in identity["scopes"]:
            return {"ok": False, "error": "missing_scope", "needed": "chat:write"}
        channel = params.get("channel", "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel[0] in "CG":  # a channel, not a DM to a user ID
            if channel not in self.channels or (
                self.channels[channel].is_private and identity["user_id"] not in self.channels[channel].members
            ):
                return {"ok": False, "error": "channel_not_found"}
            if self.channels[channel].is_archived:
                return {"ok": False, "error": "is_archived"}
            if identity["user_id"] not in self.channels[channel].members:
                return {"ok": False, "error": "not_in_channel"}
        if refusal := message_refusal(params):
            return refusal
        self.messages.append(params)
        return {"ok": True, "channel": channel, "ts": f"{time.time():.6f}"}

    # ---- HTTP: response URLs ----------------------------------------------------------------------
    async def _response_url(self, request: web.Request) -> web.Response:
        url = f"http://127.0.0.1:{self.port}{request.path}"
        entry = self.response_urls.get(url)
        if entry is None and self.open_response_urls:
            entry = self.response_urls[url] = ResponseUrl(url=url, created=time.monotonic())
        if entry is None:
            return web.Response(status=404, text="no_service")
        if entry.status != 200:
            return web.Response(status=entry.status, text="no_service")
        if len(entry.posts) >= RESPONSE_URL_USES or time.monotonic() - entry.created > RESPONSE_URL_LIFETIME:
            return web.Response(status=404, text="expired_url")
        body = json.loads(await request.read())
        if refusal := message_refusal(body):
            return web.Response(status=400, text=refusal["error"])
        entry.posts.append(body)
        return web.Response(text="ok")

    # ---- Socket Mode ----------------------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0FAKEAPP"}})
        async for message in socket:
            if message.type == web.WSMsgType.TEXT:
                self.socket_messages.append(json.loads(message.data))
        return socket
