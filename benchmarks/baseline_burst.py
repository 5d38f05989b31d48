"""Baseline for the burst case: a bare Bolt AsyncApp that acks /leave-channel and then makes, one after another and
with no limits, the calls a leave needs: users.info (who may), conversations.leave, the DM copy (chat.postMessage to
the user) and the reply to the response URL (Bolt's `respond`). Naive on purpose: slack_sdk's defaults (a session per
call, so no connection cap) and no error handling beyond not crashing."""

from __future__ import annotations

import contextlib
import logging
import os

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logging.basicConfig(level=logging.WARNING)


def create() -> web.Application:
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @app.command("/leave-channel")
    async def leave(ack, command, client: AsyncWebClient, respond) -> None:
        await ack()
        channel = command["channel_id"]
        with contextlib.suppress(SlackApiError):
            await client.users_info(user=command["user_id"])
            await client.conversations_leave(channel=channel)
            await client.chat_postMessage(channel=command["user_id"], text=f"I left <#{channel}>.")
        await respond(text=f"I left <#{channel}>.")

    web_app = app.web_app(path="/slack/events")

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app.router.add_get("/healthz", health)
    return web_app


if __name__ == "__main__":
    web.run_app(create(), host="127.0.0.1", port=int(os.environ["PORT"]), access_log=None, print=None)
