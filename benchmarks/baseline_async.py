"""Baseline: a bare Bolt AsyncApp on aiohttp that acks /leave-channel and makes the same call after the ack."""

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
    async def leave(ack, command, client: AsyncWebClient) -> None:
        await ack()
        with contextlib.suppress(SlackApiError):
            await client.conversations_leave(channel=command["channel_id"])

    web_app = app.web_app(path="/slack/events")

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app.router.add_get("/healthz", health)
    return web_app


if __name__ == "__main__":
    web.run_app(create(), host="127.0.0.1", port=int(os.environ["PORT"]), access_log=None, print=None)
