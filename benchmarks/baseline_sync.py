"""The peer it replaces: a typical sync Bolt App behind gunicorn (WSGI), acking and making the same call.

gunicorn benchmarks.baseline_sync:application --workers 2
"""

from __future__ import annotations

import contextlib
import logging
import os

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

logging.basicConfig(level=logging.WARNING)

app = App(
    client=WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
)


@app.command("/leave-channel")
def leave(ack, command, client: WebClient) -> None:
    ack()
    with contextlib.suppress(SlackApiError):
        client.conversations_leave(channel=command["channel_id"])


_bolt = SlackRequestHandler(app)


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/healthz":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"ok": true}']
    return _bolt(environ, start_response)
