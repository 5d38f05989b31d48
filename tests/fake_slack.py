"""A fake of the Slack Web API and of response URLs, over real HTTP on 127.0.0.1.

It follows the reference pages in ../shared/seeds/: it keeps channels and the bot's membership, answers
conversations.leave with every documented shape (both `not_in_channel` shapes included), records every
call, and can be told to answer any error code, HTTP 429 with Retry-After, 5xx, non-JSON, or after a delay.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import string
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

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


def slack_id(prefix: str) -> str:
    return prefix + "".join(random.choices(string.ascii_uppercase + string.digits, k=10))


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_general: bool = False
    is_archived: bool = False
    is_im: bool = False
    members: set[str] = field(default_factory=set)
    host_team: str | None = None
    connected_teams: list[str] = field(default_factory=list)  # teams other than the host


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None


@dataclass
class Scripted:
    """One canned answer: a JSON body, or raw text, a status, headers, a delay, or a dropped connection."""

    body: dict[str, Any] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    delay: float = 0.0
    reset: bool = False


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


class FakeSlack:
    def __init__(self) -> None:
        self.team_id = slack_id("T")
        self.enterprise_id: str | None = None
        self.bot_user_id = slack_id("U")
        self.bot_id = slack_id("B")
        self.bot_token = "xoxb-fake-" + "".join(random.choices(string.ascii_lowercase, k=24))
        self.tokens: dict[str, dict[str, Any]] = {
            self.bot_token: {
                "kind": "bot",
                "user_id": self.bot_user_id,
                "scopes": {
                    "commands", "channels:manage", "channels:join", "groups:write", "chat:write",
                    "users:read", "channels:read", "groups:read", "team:read",
                },
            }
        }  # fmt: skip
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
        self.calls: list[Call] = []
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
        self.port = 0

    # ---- lifecycle ------------------------------------------------------------------------------
    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/commands/{team}/{a}/{b}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for socket in self.sockets:
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # ---- set-up helpers ---------------------------------------------------------------------------
    def add_channel(self, name: str, *, bot_member: bool = True, others: int = 2, **flags: bool) -> str:
        prefix = "D" if flags.get("is_im") else ("G" if flags.get("is_private") else "C")
        channel = Channel(id=slack_id(prefix), name=name, **flags)
        if bot_member:
            channel.members.add(self.bot_user_id)
        channel.members.update(slack_id("U") for _ in range(others))
        self.channels[channel.id] = channel
        return channel.id

    def add_team(self, name: str, enterprise_id: str | None = None) -> str:
        team_id = slack_id("T")
        self.teams[team_id] = {"name": name, "enterprise_id": enterprise_id}
        return team_id

    def make_grid(self) -> str:
        """Turn the home workspace into a workspace of an Enterprise Grid org; returns the org's ID."""
        self.enterprise_id = slack_id("E")
        self.teams[self.team_id]["enterprise_id"] = self.enterprise_id
        return self.enterprise_id

    def add_user(self, *, org_admin: bool = False, org_owner: bool = False, workspace_admin: bool = False,
                 owner: bool = False, primary_owner: bool = False, deleted: bool = False,
                 real_name: str | None = None) -> str:  # fmt: skip
        user_id = slack_id("U")
        real_name = real_name or f"Person {user_id[-4:]}"
        user: dict[str, Any] = {
            "id": user_id, "team_id": self.team_id, "name": f"user-{user_id.lower()}", "deleted": deleted,
            "real_name": real_name, "profile": {"real_name": real_name, "display_name": ""},
            "is_admin": workspace_admin, "is_owner": owner, "is_primary_owner": primary_owner, "is_bot": False,
        }  # fmt: skip
        if self.enterprise_id:
            user["enterprise_user"] = {
                "id": user_id, "enterprise_id": self.enterprise_id, "enterprise_name": "Fake Org",
                "is_admin": org_admin, "is_owner": org_owner, "is_primary_owner": False, "teams": [self.team_id],
            }  # fmt: skip
        self.users[user_id] = user
        return user_id

    def add_admin_token(self, *, admin: bool = True, scopes: set[str] | None = None) -> str:
        """An Org Admin's user token (xoxp-) from an org-wide install."""
        user_id = self.add_user(org_admin=admin)
        token = "xoxp-fake-" + "".join(random.choices(string.ascii_lowercase, k=24))
        self.tokens[token] = {
            "kind": "user",
            "user_id": user_id,
            "scopes": {"admin.conversations:write"} if scopes is None else scopes,
        }
        return token

    def add_shared_channel(self, name: str, *, host: str | None = None, connected: list[str], **flags: Any) -> str:
        """A channel created by `host` (the home workspace by default) and connected to other teams."""
        channel_id = self.add_channel(name, **flags)
        channel = self.channels[channel_id]
        channel.host_team = host or self.team_id
        channel.connected_teams = [t for t in connected if t != channel.host_team]
        return channel_id

    def prepare_install(
        self, *, org_wide: bool = False, installer: str | None = None, user_scopes: str = "admin.conversations:write"
    ) -> str:
        """A code that oauth.v2.access exchanges for a new install (its tokens work from then on)."""
        code = f"code-{random.getrandbits(64):x}"
        self.oauth_codes[code] = {"org_wide": org_wide, "installer": installer, "user_scopes": user_scopes}
        return code

    def _oauth_v2_access(self, params: dict, authorization: str) -> dict:
        import base64

        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        if authorization.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            return {"ok": False, "error": "invalid_client_id" if client_id != self.client_id else "bad_client_secret"}
        grant = self.oauth_codes.pop(params.get("code", ""), None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        installer = grant["installer"] or self.add_user(org_admin=grant["org_wide"])
        bot_token = "xoxb-installed-" + "".join(random.choices(string.ascii_lowercase, k=20))
        user_token = "xoxp-installed-" + "".join(random.choices(string.ascii_lowercase, k=20))
        scopes = set(self.tokens[self.bot_token]["scopes"])
        self.tokens[bot_token] = {"kind": "bot", "user_id": self.bot_user_id, "scopes": scopes}
        self.tokens[user_token] = {"kind": "user", "user_id": installer, "scopes": set(grant["user_scopes"].split(","))}
        body: dict[str, Any] = {
            "ok": True, "app_id": "A0FAKEAPP", "access_token": bot_token, "token_type": "bot",
            "scope": ",".join(sorted(scopes)), "bot_user_id": self.bot_user_id,
            "authed_user": {"id": installer, "scope": grant["user_scopes"], "access_token": user_token,
                            "token_type": "user"},
            "is_enterprise_install": grant["org_wide"],
        }  # fmt: skip
        if grant["org_wide"]:
            body["team"] = None
            body["enterprise"] = {"id": self.enterprise_id, "name": "Fake Org"}
        else:
            body["team"] = {"id": self.team_id, "name": "Home Workspace"}
            body["enterprise"] = {"id": self.enterprise_id, "name": "Fake Org"} if self.enterprise_id else None
        return body

    def is_member(self, channel_id: str) -> bool:
        return self.bot_user_id in self.channels[channel_id].members

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

    def posts_to(self, url: str) -> list[dict[str, Any]]:
        return self.response_urls[url].posts

    async def wait_for(self, predicate, timeout: float = 5.0, what: str = "condition") -> Any:
        """Poll until predicate() is truthy (bounded); returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            await asyncio.sleep(0.01)

    async def next_post(self, url: str, timeout: float = 5.0, count: int = 1) -> dict[str, Any]:
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

        delay = self.delays.get(method, self.default_delay)
        if delay:
            await asyncio.sleep(delay)
        queue = self.scripts.get(method)
        if queue:
            return await self._scripted(request, queue.popleft())
        if self.chaos_rate and method != "auth.test" and self.chaos.random() < self.chaos_rate:
            self.chaos_count += 1
            return await self._scripted(request, self.chaos.choice(CHAOS))
        limited = self._over_limit(method)
        if limited is not None:
            return limited

        if method == "oauth.v2.access":
            return web.json_response(self._oauth_v2_access(params, request.headers.get("Authorization", "")))
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        identity = self.tokens.get(token)
        if identity is None:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if identity["kind"] == "app" and method != "apps.connections.open":
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(params, identity))

    async def _scripted(self, request: web.Request, answer: Scripted) -> web.StreamResponse:
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.reset:
            request.transport.close()  # type: ignore[union-attr]
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
        body = {
            "ok": True,
            "url": "https://fake.slack.test/",
            "team": "Fake Team",
            "user": "leaver",
            "team_id": self.team_id,
            "user_id": identity["user_id"],
            "is_enterprise_install": False,
        }
        if identity["kind"] == "bot":
            body["bot_id"] = self.bot_id
        if self.enterprise_id:
            body["enterprise_id"] = self.enterprise_id
        return body

    def _scope(self, identity: dict, *scopes: str) -> dict | None:
        if any(scope in identity["scopes"] for scope in scopes):
            return None
        return {"ok": False, "error": "missing_scope", "needed": ",".join(scopes)}

    def _m_users_info(self, params: dict, identity: dict) -> dict:
        if missing := self._scope(identity, "users:read"):
            return missing
        user = self.users.get(params.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _m_team_info(self, params: dict, identity: dict) -> dict:
        if missing := self._scope(identity, "team:read"):
            return missing
        team_id = params.get("team") or self.team_id
        team = self.teams.get(team_id)
        if team is None:
            return {"ok": False, "error": "team_not_found"}
        body = {"id": team_id, "name": team["name"], "domain": team["name"].lower().replace(" ", "-")[:21]}
        if team["enterprise_id"]:
            body["enterprise_id"] = team["enterprise_id"]
        return {"ok": True, "team": body}

    def _m_conversations_info(self, params: dict, identity: dict) -> dict:
        channel = self.channels.get(params.get("channel", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if missing := self._scope(identity, "groups:read" if channel.is_private else "channels:read"):
            return missing
        if channel.is_private and identity["user_id"] not in channel.members:
            return {"ok": False, "error": "channel_not_found"}
        shared = bool(channel.connected_teams)
        external = any(self.teams.get(t, {}).get("enterprise_id") != self.enterprise_id or not self.enterprise_id
                       for t in channel.connected_teams)  # fmt: skip
        body: dict[str, Any] = {
            "id": channel.id, "name": channel.name, "is_channel": not channel.is_private and not channel.is_im,
            "is_group": channel.is_private, "is_im": channel.is_im, "is_mpim": False, "is_private": channel.is_private,
            "is_general": channel.is_general, "is_archived": channel.is_archived, "is_shared": shared,
            "is_ext_shared": shared and external, "is_org_shared": shared and not external,
            "context_team_id": self.team_id, "is_member": identity["user_id"] in channel.members,
        }  # fmt: skip
        if shared:
            body["conversation_host_id"] = channel.host_team
            body["shared_team_ids"] = [channel.host_team, *channel.connected_teams]
            body["connected_team_ids"] = [channel.host_team, *channel.connected_teams]
            body["internal_team_ids"] = []
        return {"ok": True, "channel": body}

    def _m_admin_conversations_disconnectShared(self, params: dict, identity: dict) -> dict:
        """One team per call, as the reference page describes."""
        if identity["kind"] != "user":
            return {"ok": False, "error": "not_allowed_token_type"}
        if missing := self._scope(identity, "admin.conversations:write"):
            return missing
        if not self.enterprise_id:
            return {"ok": False, "error": "not_an_enterprise"}
        caller = self.users.get(identity["user_id"], {}).get("enterprise_user", {})
        if not (caller.get("is_admin") or caller.get("is_owner")):
            return {"ok": False, "error": "not_an_admin"}
        channel = self.channels.get(params.get("channel_id", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel.is_im or channel.is_general:
            return {"ok": False, "error": "not_supported"}
        if not channel.connected_teams:
            return {"ok": False, "error": "no_teams_to_disconnect"}
        leaving = [t for t in str(params.get("leaving_team_ids") or "").split(",") if t]
        if len(leaving) > 1:
            return {"ok": False, "error": "invalid_arguments"}
        if not leaving:
            if len(channel.connected_teams) > 1:
                return {"ok": False, "error": "leaving_team_required"}
            leaving = list(channel.connected_teams)
        (team_id,) = leaving
        if team_id not in self.teams:
            return {"ok": False, "error": "team_not_found"}
        if team_id == channel.host_team:
            return {"ok": False, "error": "cannot_kick_home_team"}
        if team_id not in channel.connected_teams:
            return {"ok": False, "error": "leaving_team_not_in_channel"}
        if self.teams.get(channel.host_team or "", {}).get("enterprise_id") != self.enterprise_id:
            return {"ok": False, "error": "cannot_kick_team"}
        channel.connected_teams.remove(team_id)
        return {"ok": True}

    def _m_apps_connections_open(self, params: dict, identity: dict) -> dict:
        if identity["kind"] != "app":
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}

    def _m_conversations_leave(self, params: dict, identity: dict) -> dict:
        channel = self.channels.get(params.get("channel", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel.is_im:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        needed = "groups:write" if channel.is_private else "channels:manage"
        if needed not in identity["scopes"]:
            return {"ok": False, "error": "missing_scope", "needed": needed, "provided": ",".join(identity["scopes"])}
        member = identity["user_id"] in channel.members
        if channel.is_private and not member:
            return {"ok": False, "error": "channel_not_found"}
        if channel.is_archived:
            return {"ok": False, "error": "is_archived"}
        if channel.is_general:
            return {"ok": False, "error": "cant_leave_general"}
        if not member:
            return {"ok": self.not_in_channel_ok, "not_in_channel": True}
        if channel.members == {identity["user_id"]}:
            return {"ok": False, "error": "last_member"}
        channel.members.discard(identity["user_id"])
        return {"ok": True}

    def _m_conversations_join(self, params: dict, identity: dict) -> dict:
        """Public channels only: a private one the app isn't in is invisible to it."""
        channel = self.channels.get(params.get("channel", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if missing := self._scope(identity, "channels:join"):
            return missing
        if channel.is_im:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        member = identity["user_id"] in channel.members
        if channel.is_private and not member:
            return {"ok": False, "error": "channel_not_found"}
        if channel.is_archived:
            return {"ok": False, "error": "is_archived"}
        body = {"id": channel.id, "name": channel.name, "is_channel": True, "is_member": True}
        if member:
            warning = "already_in_channel"
            return {"ok": True, "channel": body, "warning": warning, "response_metadata": {"warnings": [warning]}}
        channel.members.add(identity["user_id"])
        return {"ok": True, "channel": body}

    def _m_users_conversations(self, params: dict, identity: dict) -> dict:
        """The conversations the token's user is in, filtered by `types`, paged by `limit` and `cursor`."""
        types = set(str(params.get("types") or "public_channel").split(","))
        for kind, scope in (("public_channel", "channels:read"), ("private_channel", "groups:read")):
            if kind in types and (missing := self._scope(identity, scope)):
                return missing
        exclude_archived = str(params.get("exclude_archived", "")).lower() in ("true", "1")
        found = [
            {"id": c.id, "name": c.name, "is_private": c.is_private, "is_archived": c.is_archived}
            for c in self.channels.values()
            if identity["user_id"] in c.members
            and not c.is_im
            and ("private_channel" if c.is_private else "public_channel") in types
            and not (exclude_archived and c.is_archived)
        ]
        start = int(params.get("cursor") or 0)
        limit = max(1, min(int(params.get("limit") or 100), 1000))
        page = found[start : start + limit]
        next_cursor = str(start + limit) if start + limit < len(found) else ""
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": next_cursor}}

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
        return None

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
        if error:
            return {"ok": False, "error": error}
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
        if error:
            return {"ok": False, "error": error}
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
        entry.posts.append(json.loads(await request.read()))
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
