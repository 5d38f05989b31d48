"""The test suite's fake Slack as a process of its own, for load: python -m benchmarks.fake_server --delay 1.

What it prints on its first line (JSON) is everything a load driver needs: the port, the bot token, the workspace,
a workspace admin and a member (both people Slack knows, so `/leave-channel` passes its users.info check), the
benchmark's channels (the bot is in all of them) and the ones the member is in.

Membership is sticky for the bot: a `conversations.leave` that succeeds leaves the bot in the channel, so every
command of a long run leaves for real (ok, a Rejoin offer, the DM copy and the summary) instead of finding the bot
gone after the first pass over the channels.

`bench.stats` (a pseudo-method on the Web API path, no token needed) answers the calls seen per method and the
summaries posted to response URLs, for a driver that wants to check the work after the acks was done.
`bench.times` answers when each channel's `conversations.leave` was answered and each response URL first posted to
(time.monotonic(), the same clock in every process of the machine), and the most Web API calls it had in flight at
once: what the burst case (benchmarks.burst) measures per command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from typing import Any

from aiohttp import web

from tests.helpers.fake_slack import FakeSlack

STATS_METHOD = "bench.stats"
TIMES_METHOD = "bench.times"


class CountedCalls(list):
    """The calls seen, counted by method and not kept: a load run makes hundreds of thousands, and a fake that keeps
    each one grows a heap its garbage collector stops to walk (pauses of a quarter of a second, every response late
    at once), which measures the fake instead of the app."""

    def __init__(self) -> None:
        super().__init__()
        self.by_method: Counter[str] = Counter()

    def append(self, call: Any) -> None:
        self.by_method[call.method] += 1


class BenchSlack(FakeSlack):
    def __init__(self) -> None:
        super().__init__()
        self.counted = CountedCalls()
        self.calls = self.counted
        self.left_at: dict[str, float] = {}  # channel -> when its (first) leave was answered
        self.replied_at: dict[str, float] = {}  # response URL path -> when it was first posted to
        self.in_flight = 0
        self.peak_in_flight = 0

    async def _api(self, request):
        if request.match_info["method"] == TIMES_METHOD:  # at once, whatever the delay
            times = {"left": self.left_at, "replied": self.replied_at, "peak_in_flight": self.peak_in_flight}
            return web.json_response({"ok": True, **times})
        if request.match_info["method"] == STATS_METHOD:
            return await super()._api(request)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            return await super()._api(request)
        finally:
            self.in_flight -= 1

    async def _response_url(self, request):
        response = await super()._response_url(request)
        self.replied_at.setdefault(request.path, time.monotonic())
        return response

    def _m_conversations_leave(self, params: dict, identity: dict) -> dict:
        answer = super()._m_conversations_leave(params, identity)
        self.left_at.setdefault(params.get("channel", ""), time.monotonic())
        if answer.get("ok") is True and not answer.get("not_in_channel"):
            self.channels[params["channel"]].members.add(identity["user_id"])  # back at once: the next leave is real
        return answer

    def _answer(self, method: str, params: dict, token: str | None, authorization: str) -> dict:
        if method == STATS_METHOD:
            return {"ok": True, **self.stats()}
        return super()._answer(method, params, token, authorization)

    def stats(self) -> dict[str, Any]:
        posts = [post for entry in self.response_urls.values() for post in entry.posts]
        return {
            "calls": {method: n for method, n in self.counted.by_method.items() if method != STATS_METHOD},
            "response_url_posts": len(posts),
            # "I left <#C…>." for one channel, "Left 3 channels: …" for more (services/ui/leave.py)
            "summaries_left": sum(1 for post in posts if str(post.get("text", "")).startswith(("I left ", "Left "))),
            "direct_messages": len(self.messages),
        }


async def serve(delay: float, channels: int, member_channels: int) -> None:
    fake = BenchSlack()
    fake.default_delay = delay
    fake.open_response_urls = True
    await fake.start()
    admin = fake.add_user(workspace_admin=True, real_name="Bench Admin")
    member = fake.add_user(real_name="Bench Member")
    ids = [fake.add_channel(f"bench{i:04d}") for i in range(channels)]
    for channel in ids[:member_channels]:
        fake.channels[channel].members.add(member)
    info = {
        "port": fake.port, "bot_token": fake.bot_token, "team_id": fake.team_id, "admin": admin, "member": member,
        "channels": ids, "member_channels": ids[:member_channels],
    }  # fmt: skip
    print(json.dumps(info), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.0, help="seconds every Web API call takes")
    parser.add_argument("--channels", type=int, default=100, help="channels the bot is in")
    parser.add_argument("--member-channels", type=int, default=20, help="of those, how many the member is in")
    args = parser.parse_args(sys.argv[1:])
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.delay, args.channels, args.member_channels))
