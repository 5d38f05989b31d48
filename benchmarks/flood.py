"""An unsigned flood, as anyone on the internet can send: python -m benchmarks.flood URL [options].

`connections` clients post, back to back, a body just under the app's size limit with a fresh timestamp and a wrong
signature. Bounded: at most `posts` posts in all and `seconds` seconds, and it stops early when its stdin closes (the
driver closes it when its measurement is over). Loopback only: anything but 127.0.0.1 is refused.

Prints `ready` when its connections are about to start, then one JSON line: posts sent, seconds, bytes, statuses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

import aiohttp

WRONG_SIGNATURE = "v0=" + "0" * 64


async def flood(url: str, connections: int, posts: int, seconds: float, size: int) -> dict:
    body = b"payload=" + b"A" * (size - len(b"payload="))
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()  # until the driver closes it
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    statuses: Counter[str] = Counter()
    sent = 0
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections), timeout=timeout) as session:
        started = time.perf_counter()
        deadline = started + seconds

        async def client() -> None:
            nonlocal sent
            while sent < posts and time.perf_counter() < deadline and not stop.is_set():
                sent += 1
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": str(int(time.time())),
                    "X-Slack-Signature": WRONG_SIGNATURE,
                }
                try:
                    async with session.post(url, data=body, headers=headers) as reply:
                        await reply.read()
                        statuses[str(reply.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as e:
                    statuses[type(e).__name__] += 1

        print("ready", flush=True)
        await asyncio.gather(*(client() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return {"posts": sent, "seconds": elapsed, "bytes": sent * len(body), "statuses": dict(statuses)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.flood")
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--posts", type=int, required=True, help="at most this many posts in all")
    parser.add_argument("--seconds", type=float, required=True, help="and for at most this long")
    parser.add_argument("--bytes", type=int, required=True, help="each body's size")
    args = parser.parse_args()
    if urlsplit(args.url).hostname != "127.0.0.1":
        sys.exit("the flood only targets 127.0.0.1")
    result = asyncio.run(flood(args.url, args.connections, args.posts, args.seconds, args.bytes))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
