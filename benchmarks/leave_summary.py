"""A /leave-channel of 1,000 channels, its summary and its Rejoin: python -m benchmarks.leave_summary [--quick].

The app runs as operators run it (`python app.py`, HTTP mode, its own process, a SQLite file) against the test
suite's fake Slack in this process, which refuses what Slack refuses (more than 12,000 characters of block text:
`msg_blocks_too_long`, slackapi/bolt-js#2509 and #2867; more than 50 blocks: `invalid_blocks`). A workspace admin
runs `/leave-channel` naming 1,000 channels (the most one command takes); then presses Rejoin on the summary.

Measured: the time from the command to the summary (response URL), whether the summary, its DM copy with the Rejoin
button and the full list (a file in the DM) arrived; the time from the press to the Rejoin result and its file; every
message the app tried to post (chat.postMessage and response URLs), refused or not, with the largest one's characters
of block text and blocks, against Slack's limits (12,000 / 50) and the app's bound (10,000 / 50,
services/ui/limits.py).

    (default)  1,000 channels
    --quick    a smoke run: 300 channels (still past the size where the summary is shortened)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from services.ui.limits import MAX_MESSAGE_BLOCKS, MESSAGE_BLOCK_TEXT_BUDGET, block_text_length
from services.ui.rejoin import REJOIN_ACTION
from tests.helpers.fake_files import MESSAGE_BLOCK_TEXT_LIMIT, MESSAGE_BLOCKS_LIMIT, message_refusal
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import ROOT, app_env, free_port, wait_for_http
from tests.helpers.slack_requests import SlackSender, buttons_in


class MeasuringFake(FakeSlack):
    """The fake, noting the size of every message the app tries to post, and whether Slack would refuse it."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts: list[dict[str, Any]] = []

    def _note(self, where: str, message: dict[str, Any]) -> None:
        blocks = message.get("blocks")
        blocks = json.loads(blocks) if isinstance(blocks, str) else blocks or []
        refusal = message_refusal(message)
        self.attempts.append({
            "where": where, "chars": block_text_length(blocks), "blocks": len(blocks), "text": len(message.get("text") or ""),
            "refused": refusal["error"] if refusal else None,
        })  # fmt: skip

    def _m_chat_postMessage(self, params: dict, identity: dict) -> dict:
        self._note("chat.postMessage", params)
        return super()._m_chat_postMessage(params, identity)

    async def _response_url(self, request: web.Request) -> web.Response:
        with contextlib.suppress(ValueError):
            self._note("response_url", json.loads(await request.read()))
        return await super()._response_url(request)


def largest(attempts: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(attempts, key=lambda a: (a["chars"], a["blocks"]), default=None)


async def run(count: int) -> dict[str, Any]:
    fake = MeasuringFake()
    await fake.start()
    admin = fake.add_user(workspace_admin=True, real_name="Leaving Admin")
    channels = [fake.add_channel(f"project-{i:04d}") for i in range(count)]

    tmp = Path(tempfile.mkdtemp(prefix="leave-summary-bench-"))
    port = free_port()
    log = tmp / "app.log"
    with log.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "app.py", env=app_env(fake, tmp, PORT=str(port), LOG_LEVEL="WARNING"),
            cwd=ROOT, stderr=stderr, start_new_session=True,
        )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:
            await wait_for_http(session, f"http://127.0.0.1:{port}/readyz", process, log=log)
            sender = SlackSender(f"http://127.0.0.1:{port}", fake, session)
            sender.user_id = admin

            started = time.perf_counter()
            text = " ".join(f"<#{c}>" for c in channels)
            reply, command = await sender.command("/leave-channel", text, channel_id=channels[0], user_id=admin)
            summary = None
            with contextlib.suppress(AssertionError):
                summary = await fake.next_post(command["response_url"], timeout=120)
            leave_seconds = time.perf_counter() - started
            with contextlib.suppress(AssertionError):
                await fake.wait_for(lambda: fake.messages_to(admin), timeout=10, what="the DM")
            dms = fake.messages_to(admin)
            leave_attempts = list(fake.attempts)
            left = sum(1 for c in channels if not fake.is_member(c))

            rejoin: dict[str, Any] = {"pressed": False}
            if summary is not None and buttons_in(summary.get("blocks", [])):
                fake.attempts.clear()
                started = time.perf_counter()
                _, url = await sender.press_button(summary, REJOIN_ACTION, user_id=admin)
                done = None
                with contextlib.suppress(AssertionError):
                    done = (await fake.next_post(url, count=2, timeout=120)) and fake.posts_to(url)[-1]
                rejoin = {
                    "pressed": True,
                    "seconds": round(time.perf_counter() - started, 2),
                    "result_delivered": done is not None and f"back in {count} channels" in done["text"],
                    "rejoined": sum(1 for c in channels if fake.is_member(c)),
                    "file_rows": max((len(f.text.splitlines()) - 1 for f in fake.files_to(admin)[1:]), default=0),
                    "largest_message": largest(fake.attempts),
                    "refused": [a for a in fake.attempts if a["refused"]],
                }
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        await process.wait()
        await fake.stop()
    files = fake.files_to(admin)
    return {
        "channels": count,
        "ack_ms": round(reply.elapsed * 1000, 1),
        "leave": {
            "seconds_to_summary": round(leave_seconds, 2),
            "summary_delivered": summary is not None,
            "summary_has_rejoin": bool(summary and buttons_in(summary.get("blocks", []))),
            "dm_copy_with_rejoin": bool(dms and buttons_in(dms[0].get("blocks", []))),
            "left": left,
            "file": {"name": files[0].name, "rows": len(files[0].text.splitlines()) - 1} if files else None,
            "largest_message": largest(leave_attempts),
            "refused": [a for a in leave_attempts if a["refused"]],
        },
        "rejoin": rejoin,
        "slack_limits": {"block_text_chars": MESSAGE_BLOCK_TEXT_LIMIT, "blocks": MESSAGE_BLOCKS_LIMIT},
        "app_bound": {"block_text_chars": MESSAGE_BLOCK_TEXT_BUDGET, "blocks": MAX_MESSAGE_BLOCKS},
    }


def within(message: dict[str, Any] | None) -> bool:
    return (
        message is not None
        and message["chars"] <= MESSAGE_BLOCK_TEXT_BUDGET
        and message["blocks"] <= MAX_MESSAGE_BLOCKS
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.leave_summary", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 300 channels")
    parser.add_argument("--channels", type=int, help="channels named in the command (default 1,000; 300 with --quick)")
    args = parser.parse_args()
    count = args.channels or (300 if args.quick else 1000)
    result = asyncio.run(run(count))
    print(json.dumps(result, indent=2))
    leave, rejoin = result["leave"], result["rejoin"]
    ok = (
        leave["summary_delivered"] and leave["summary_has_rejoin"] and leave["dm_copy_with_rejoin"]
        and leave["left"] == count and leave["file"] is not None and leave["file"]["rows"] == count
        and not leave["refused"] and within(leave["largest_message"])
        and rejoin.get("result_delivered") and rejoin.get("rejoined") == count and rejoin.get("file_rows") == count
        and not rejoin.get("refused") and within(rejoin.get("largest_message"))
    )  # fmt: skip
    print(
        "verdict:",
        "met" if ok else "MISSED",
        "(summary, DM copy with Rejoin, the full list as a file, the Rejoin result and its file; every message within "
        f"{MESSAGE_BLOCK_TEXT_BUDGET:,} characters of block text and {MAX_MESSAGE_BLOCKS} blocks)",
    )
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
