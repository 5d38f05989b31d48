"""The test suite's fake Slack as a process of its own, for load: python -m benchmarks.fake_server --delay 1."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys

from tests.fake_slack import FakeSlack


async def serve(delay: float) -> None:
    fake = FakeSlack()
    fake.default_delay = delay
    fake.open_response_urls = True
    await fake.start()
    print(json.dumps({"port": fake.port, "bot_token": fake.bot_token, "team_id": fake.team_id}), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.0, help="seconds every Web API call takes")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parser.parse_args(sys.argv[1:]).delay))
