"""Requests as Slack sends them: form-encoded, signed with the signing secret, to the app's real endpoint."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from tests.helpers.fake_slack import FakeSlack

SIGNING_SECRET = "test-signing-secret-" + "0123456789abcdef"


def sign(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Reply:
    status: int
    text: str
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.text)


def buttons_in(blocks: list[dict]) -> list[dict]:
    """Every button in a message's or view's actions blocks, each with the block_id Slack reports it under."""
    return [
        {**element, "block_id": block.get("block_id", "")}
        for block in blocks
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("type") == "button"
    ]


class SlackSender:
    def __init__(self, base_url: str, fake: FakeSlack, session: aiohttp.ClientSession, built: Any = None) -> None:
        self.built = built  # the app under test (its audit log, for assertions)
        self.base_url = base_url
        self.fake = fake
        self.session = session
        # A person Slack knows, a workspace admin: /leave-channel lets them make the bot leave any channel.
        self.user_id = fake.add_user(workspace_admin=True)
        self.pushed_view_id: str | None = None
        self.org_wide = False  # requests as from an org-wide install (is_enterprise_install)

    async def post(
        self, body: bytes, *, timestamp: int | None = None, secret: str = SIGNING_SECRET, headers: dict | None = None
    ) -> Reply:
        ts = int(time.time()) if timestamp is None else timestamp
        self.last_sent = (body, ts)  # what went out last, byte for byte: a test can replay it
        all_headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(body, ts, secret),
        }
        if headers is not None:
            all_headers = {k: v for k, v in {**all_headers, **headers}.items() if v is not None}
        started = time.monotonic()
        async with self.session.post(self.base_url + "/slack/events", data=body, headers=all_headers) as response:
            text = await response.text()
        return Reply(response.status, text, time.monotonic() - started)

    def origin(
        self, team_id: str | None = None, enterprise_id: str | None = None, user_id: str | None = None
    ) -> tuple[str, str | None]:
        """(workspace, org) a request comes from: the home workspace unless `team_id` (or the known user's own
        workspace) says otherwise; the org is that workspace's, unless `enterprise_id` names one."""
        user = self.fake.users.get(user_id or "")
        team = team_id or (user["team_id"] if user else None) or self.fake.team_id
        return team, (enterprise_id if enterprise_id is not None else self.fake.org_of(team))

    def _enterprise(self, org: str | None) -> dict | None:
        return {"id": org, "name": self.fake.org_name(org)} if org else None

    async def event(
        self, event: dict, *, enterprise_id: str | None = None, org_wide: bool = False, team_id: str | None = None
    ) -> Reply:
        """An Events API callback, signed, as JSON (from `team_id`, the home workspace by default).

        Outside an Enterprise org there is no top-level `enterprise_id` and `authorizations[].enterprise_id` is null,
        as in Slack's recorded events (e.g. slackapi/bolt-python tests/scenario_tests fixtures).
        """
        team = team_id or self.fake.team_id
        payload = {
            "token": "verification-token-unused",
            "team_id": None if org_wide else team,
            **({"enterprise_id": enterprise_id} if enterprise_id else {}),
            "api_app_id": "A0FAKEAPP",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{int(time.time() * 1000)}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": enterprise_id,
                    "team_id": None if org_wide else team,
                    "user_id": self.fake.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": org_wide,
                }
            ],
            "is_ext_shared_channel": False,
        }
        return await self.post(json.dumps(payload).encode(), headers={"Content-Type": "application/json"})

    def command_body(
        self,
        command: str,
        text: str = "",
        channel_id: str | None = None,
        *,
        team_id: str | None = None,
        enterprise_id: str | None = None,
        **fields: str,
    ) -> dict:
        """A slash command's fields, as Slack posts them (a fresh response_url and trigger_id each time); from the
        home workspace, or from `team_id` / the known `user_id`'s workspace (another org's user)."""
        team, org = self.origin(team_id, enterprise_id, fields.get("user_id"))
        return {
            "token": "verification-token-unused",
            "team_id": team,
            "team_domain": "fake",
            "channel_id": channel_id or "",
            "channel_name": "somewhere",
            "user_id": self.user_id,
            "user_name": "admin",
            "command": command,
            "text": text,
            "api_app_id": "A0FAKEAPP",
            "enterprise_id": org or "",
            **({"enterprise_name": self.fake.org_name(org)} if org else {}),
            "is_enterprise_install": "true" if self.org_wide else "false",
            "response_url": self.fake.new_response_url(),
            "trigger_id": self.fake.new_trigger_id(),
            **fields,
        }

    async def command(
        self,
        command: str,
        text: str = "",
        channel_id: str | None = None,
        *,
        team_id: str | None = None,
        enterprise_id: str | None = None,
        **fields: str,
    ) -> tuple[Reply, dict]:
        body = self.command_body(command, text, channel_id, team_id=team_id, enterprise_id=enterprise_id, **fields)
        return await self.post(urlencode(body).encode()), body

    def _view_payload(
        self, kind: str, view_id: str, values: dict, user_id: str | None, team_id: str | None, enterprise_id: str | None
    ) -> dict:
        view = self.fake.views[view_id]
        team, org = self.origin(team_id, enterprise_id, user_id)
        return {
            "type": kind,
            "team": {"id": team, "domain": "fake"},
            "user": {"id": user_id or self.user_id, "username": "admin", "name": "admin", "team_id": team},
            "api_app_id": "A0FAKEAPP",
            "token": "verification-token-unused",
            "trigger_id": self.fake.new_trigger_id(),
            "view": {
                **view,
                "team_id": team,
                "state": {"values": values},
                "root_view_id": view_id,
                "previous_view_id": None,
                "app_id": "A0FAKEAPP",
                "bot_id": self.fake.bot_id,
            },
            "is_enterprise_install": self.org_wide,
            "enterprise": self._enterprise(org),
        }

    async def submit_view(
        self,
        view_id: str,
        values: dict,
        user_id: str | None = None,
        *,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> Reply:
        """The view_submission Slack sends when the user presses the modal's submit button."""
        payload = {
            **self._view_payload("view_submission", view_id, values, user_id, team_id, enterprise_id),
            "response_urls": [],
        }
        reply = await self.post(urlencode({"payload": json.dumps(payload)}).encode())
        self.pushed_view_id = None
        if reply.status == 200 and reply.text.startswith("{"):
            answer = reply.json()
            if answer.get("response_action") == "update":
                self.fake.record_view_ack(view_id, answer["view"])
            if answer.get("response_action") == "push":
                self.pushed_view_id = self.fake.record_view_push(answer["view"])
                self.fake.view_below[self.pushed_view_id] = view_id
        return reply

    async def block_suggestion(
        self, view_id: str, action_id: str, value: str, block_id: str, user_id: str | None = None
    ) -> Reply:
        """The block_suggestion Slack sends when the user types in (or opens) an external select of a modal: the view
        as it stands, the typed `value` (S: slack_bolt's block_suggestion fixtures; https://docs.slack.dev/reference/
        block-kit/block-elements/multi-select-menu-element#external_multi_select)."""
        payload = {
            **self._view_payload("block_suggestion", view_id, {}, user_id, None, None),
            "container": {"type": "view", "view_id": view_id},
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
        }
        return await self.post(urlencode({"payload": json.dumps(payload)}).encode())

    async def block_action(
        self,
        view_id: str,
        values: dict,
        action: dict,
        user_id: str | None = None,
        *,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> Reply:
        """The block_actions Slack sends when the user changes an element with dispatch_action on."""
        payload = {
            **self._view_payload("block_actions", view_id, values, user_id, team_id, enterprise_id),
            "container": {"type": "view", "view_id": view_id},
            "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
        }
        return await self.post(urlencode({"payload": json.dumps(payload)}).encode())

    async def _press(
        self, blocks: list[dict], action_id: str, user_id: str, where: dict, team: str, org: str | None
    ) -> Reply:
        """The block_actions Slack sends when a user presses a button; `where` says what it was pressed in."""
        button = next((b for b in buttons_in(blocks) if b.get("action_id") == action_id), None)
        assert button is not None, f"no {action_id} button there"
        payload = {
            "type": "block_actions",
            "team": {"id": team, "domain": "fake"},
            "user": {"id": user_id, "username": "admin", "name": "admin", "team_id": team},
            "api_app_id": "A0FAKEAPP",
            "token": "verification-token-unused",
            "trigger_id": self.fake.new_trigger_id(),
            "is_enterprise_install": self.org_wide,
            "enterprise": self._enterprise(org),
            **where,
            "actions": [{**button, "action_ts": f"{time.time():.6f}"}],
        }
        return await self.post(urlencode({"payload": json.dumps(payload)}).encode())

    async def press_button(
        self,
        message: dict,
        action_id: str,
        *,
        channel_id: str = "",
        user_id: str | None = None,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> tuple[Reply, str]:
        """A button pressed in an (ephemeral) message the app sent; returns the reply and the press's response_url."""
        response_url = self.fake.new_response_url()
        where = {
            "container": {"type": "message", "message_ts": f"{time.time():.6f}", "channel_id": channel_id,
                          "is_ephemeral": True},
            "channel": {"id": channel_id, "name": "somewhere"},
            "response_url": response_url,
        }  # fmt: skip
        user = user_id or self.user_id
        team, org = self.origin(team_id, enterprise_id, user)
        reply = await self._press(message.get("blocks", []), action_id, user, where, team, org)
        return reply, response_url

    async def home_opened(
        self, user_id: str, tab: str = "home", *, team_id: str | None = None, enterprise_id: str | None = None
    ) -> Reply:
        """The app_home_opened event Slack sends each time the user opens the app's Home (or Messages) tab."""
        event: dict[str, Any] = {"type": "app_home_opened", "user": user_id, "channel": "D0HOME", "tab": tab,
                 "event_ts": f"{time.time():.6f}"}  # fmt: skip
        if self.fake.home_of(user_id) is not None:
            event["view"] = self.fake.home_of(user_id)
        team, org = self.origin(team_id, enterprise_id, user_id)
        return await self.event(event, enterprise_id=org, team_id=team, org_wide=self.org_wide)

    async def home_button(
        self, user_id: str, action_id: str, *, team_id: str | None = None, enterprise_id: str | None = None
    ) -> Reply:
        """A button pressed in the user's Home tab (block_actions from a view of type home)."""
        view = self.fake.home_of(user_id)
        assert view is not None, "no Home tab published for this user"
        team, org = self.origin(team_id, enterprise_id, user_id)
        where = {
            "container": {"type": "view", "view_id": view["id"]},
            "view": {**view, "team_id": team, "app_id": "A0FAKEAPP", "bot_id": self.fake.bot_id},
        }
        return await self._press(view["blocks"], action_id, user_id, where, team, org)
