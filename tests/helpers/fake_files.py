"""The fake Slack's DMs and file uploads (files.uploadV2), and the size limits Slack puts on a message.

Mixins FakeSlack inherits (tests/helpers/fake_slack.py); what they rely on of it: `port`, `users`, `channels`,
`bot_user_id`, `_scope` and `_error`-shaped answers.

files.uploadV2 is three steps (slack_sdk/web/async_client.py, `files_upload_v2`):
- files.getUploadURLExternal (https://docs.slack.dev/reference/methods/files.getUploadURLExternal): `filename` and
  `length` required; answers `upload_url` and `file_id`. Bot scope `files:write`.
- a POST of the bytes to `upload_url` (slack_sdk's `_upload_file`: the body is the file, no token); Slack answers 200
  with the text "OK - <length>".
- files.completeUploadExternal (https://docs.slack.dev/reference/methods/files.completeUploadExternal): `files`
  (a JSON array of `{"id", "title"}`), `channel_id` ("Channel ID where the file will be shared. If not specified the
  file will be private."), `initial_comment`. A user ID there is refused: "input must match regex pattern:
  ^[CGDZ][A-Z0-9]{8,}$ [json-pointer:/channel_id]" (slackapi/bolt-js#2115, slackapi/node-slack-sdk#1653), so an app
  opens the DM first with conversations.open (https://docs.slack.dev/reference/methods/conversations.open: `users`,
  "If only one user is included, this creates a 1:1 DM"; `user_disabled`, `user_not_found`; bot scope `im:write`,
  what Slack names as `needed` in slackapi/python-slack-sdk#655).

Message sizes (../shared/slack-facts.md, "Payload and message sizes"): chat.postMessage refuses blocks holding more
than about 12,000 characters of text with `msg_blocks_too_long` (slackapi/bolt-js#2509: refused at ~13,200 characters
of markdown blocks; a maintainer there: "12,000 text characters with a buffer for block containers";
slackapi/bolt-js#2867: refused at 11,341 measured characters of rich_text/section/header blocks), and more than 50
blocks with `invalid_blocks`, "no more than 50 items allowed [json-pointer:/blocks]"
(ryanrosello-og/playwright-slack-report#180, a recorded answer). The fake counts every `text` string in the blocks
and refuses past 12,000. A response URL answers such a body with HTTP 400 and the code as text (a webhook's refusal,
nathanheffley/laravel-slack-blocks#19: "400 Bad Request … invalid_blocks"); slackapi/bolt-js#2867 reports `respond()`
taking blocks chat.postMessage refused, so the fake is stricter there than Slack has been seen to be, on purpose: the
app sends the same message both ways.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

# https://docs.slack.dev/reference/methods/files.completeUploadExternal, as Slack enforces it (slackapi/bolt-js#2115)
CHANNEL_ID_PATTERN = re.compile(r"^[CGDZ][A-Z0-9]{8,}$")
MESSAGE_BLOCK_TEXT_LIMIT = 12_000
MESSAGE_BLOCKS_LIMIT = 50


def block_text_length(value: Any) -> int:
    """Characters of text in blocks: every `text` string, at any depth (the fake's reading of Slack's count)."""
    if isinstance(value, list):
        return sum(block_text_length(v) for v in value)
    if isinstance(value, dict):
        return sum(len(v) if k == "text" and isinstance(v, str) else block_text_length(v) for k, v in value.items())
    return 0


def message_refusal(message: dict[str, Any]) -> dict[str, Any] | None:
    """Slack's answer to a message over its size limits, or None when it fits."""
    blocks = message.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return {"ok": False, "error": "invalid_blocks_format"}
    if not isinstance(blocks, list):
        return None
    if len(blocks) > MESSAGE_BLOCKS_LIMIT:
        problem = f"no more than {MESSAGE_BLOCKS_LIMIT} items allowed [json-pointer:/blocks]"
        return {
            "ok": False, "error": "invalid_blocks", "errors": [problem],
            "response_metadata": {"messages": [f"[ERROR] {problem}"]},
        }  # fmt: skip
    if block_text_length(blocks) > MESSAGE_BLOCK_TEXT_LIMIT:
        return {"ok": False, "error": "msg_blocks_too_long"}
    return None


@dataclass
class SharedFile:
    """A file as the app uploaded it, and where it was shared (`channel` a `D…`; `user` the DM's person, if one)."""

    id: str
    name: str
    title: str
    content: bytes
    channel: str | None
    user: str | None
    initial_comment: str | None
    at: float

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")


class FakeFiles:
    """conversations.open, files.getUploadURLExternal, the upload URL, files.completeUploadExternal."""

    port: int
    users: dict[str, dict[str, Any]]
    channels: dict[str, Any]
    bot_user_id: str

    def init_files(self) -> None:
        self.dms: dict[str, str] = {}  # user ID -> the app's DM with them (D…)
        self.uploads: dict[str, dict[str, Any]] = {}  # file ID -> what getUploadURLExternal was told, and the bytes
        self.files: list[SharedFile] = []  # every file completed, in order
        self.upload_status = 200  # what the upload URL answers (a test makes it refuse)

    def add_file_routes(self, app: web.Application) -> None:
        app.router.add_post("/upload/v1/{file_id}", self._upload)

    def _scope(self, identity: dict, *scopes: str) -> dict | None:  # FakeSlack's
        raise NotImplementedError

    # ---- what tests read ------------------------------------------------------------------------
    def files_to(self, user_id: str) -> list[SharedFile]:
        """Files shared in the app's DM with the person."""
        return [f for f in self.files if f.user == user_id]

    def dm_of(self, user_id: str) -> str | None:
        return self.dms.get(user_id)

    # ---- methods --------------------------------------------------------------------------------
    def _m_conversations_open(self, params: dict, identity: dict) -> dict:
        """A 1:1 DM with one user (group DMs aren't modelled: more than one user is refused here)."""
        if missing := self._scope(identity, "im:write"):
            return missing
        channel = str(params.get("channel") or "")
        if channel:
            if channel in self.dms.values():
                return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel}}
            return {"ok": False, "error": "channel_not_found"}
        users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) > 1:
            return {"ok": False, "error": "invalid_arguments"}
        (user_id,) = users
        user = self.users.get(user_id)
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        if user.get("deleted"):
            return {"ok": False, "error": "user_disabled"}
        if user_id in self.dms:
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": self.dms[user_id]}}
        self.dms[user_id] = "D" + user_id[1:]
        return {"ok": True, "channel": {"id": self.dms[user_id]}}

    def _m_files_getUploadURLExternal(self, params: dict, identity: dict) -> dict:
        if missing := self._scope(identity, "files:write"):
            return missing
        filename = str(params.get("filename") or "")
        length = str(params.get("length") or "")
        if not filename or not length.isdigit() or int(length) < 1:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{len(self.uploads) + 1:010d}"
        self.uploads[file_id] = {"filename": filename, "length": int(length), "content": None}
        return {"ok": True, "upload_url": f"http://127.0.0.1:{self.port}/upload/v1/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self.uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="not_found")
        if self.upload_status != 200:
            return web.Response(status=self.upload_status, text="upload_failed")
        data = await request.read()
        upload["content"] = data
        return web.Response(text=f"OK - {len(data)}")

    def _m_files_completeUploadExternal(self, params: dict, identity: dict) -> dict:
        if missing := self._scope(identity, "files:write"):
            return missing
        try:
            given = json.loads(str(params.get("files") or ""))
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(given, list) or not given or not all(isinstance(f, dict) for f in given):
            return {"ok": False, "error": "invalid_arguments"}
        channel = str(params.get("channel_id") or "") or None
        user = None
        if channel is not None:
            if not CHANNEL_ID_PATTERN.match(channel):
                problem = "input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$ [json-pointer:/channel_id]"
                return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": [problem]}}
            users = [u for u, dm in self.dms.items() if dm == channel]
            if channel.startswith("D") and not users:
                return {"ok": False, "error": "channel_not_found"}
            if not channel.startswith("D"):
                # A private channel the caller isn't in is invisible to it; a public one it isn't in is refused with
                # `not_in_channel`: sharing takes real membership (getnao/nao#1372, where chat:write.public let the
                # message through and the upload beside it failed so).
                known = self.channels.get(channel)
                member = known is not None and identity["user_id"] in known.members
                if known is None or (not member and known.is_private):
                    return {"ok": False, "error": "channel_not_found"}
                if not member:
                    return {"ok": False, "error": "not_in_channel"}
            user = users[0] if users else None
        shared = []
        for entry in given:
            upload = self.uploads.get(str(entry.get("id")))
            if upload is None or upload["content"] is None:
                return {"ok": False, "error": "file_not_found"}
            shared.append((str(entry.get("id")), upload, str(entry.get("title") or upload["filename"])))
        answered = []
        for file_id, upload, title in shared:
            self.uploads.pop(file_id)
            comment = params.get("initial_comment")
            shared_file = SharedFile(
                file_id, upload["filename"], title, upload["content"], channel, user, comment, time.monotonic()
            )
            self.files.append(shared_file)
            answered.append({"id": file_id, "name": upload["filename"], "title": title})
        return {"ok": True, "files": answered}
