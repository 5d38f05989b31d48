"""Benchmark case "burst" (issue 23): the work after the acks, as a user feels it, under a burst.

    python -m benchmarks.run --only burst           # 2,000 commands from 100 connections
    python -m benchmarks.run --only burst --quick   # 300 commands from 30 connections, a smoke run

Every Web API call takes 1 s (benchmarks/fake_server.py --delay 1). 2,000 distinct /leave-channel commands, each of
its own channel, are sent by 100 connections back to back (each connection sends its next command once the last one
was acked). The baseline is a bare Bolt AsyncApp making the calls a leave needs, one after another per command, with
no limits (benchmarks/baseline_burst.py): users.info, conversations.leave, chat.postMessage (the DM copy), then the
reply to the response URL. Per command: send -> its channel's leave answered, send -> its reply posted; p50, p99, max;
the makespan (first send to last reply); the most Web API calls the fake had in flight at once; the app's CPU over
the makespan. Targets: ours/bare p99 (send -> reply) and makespan <= 1.2, every command replied to.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from dataclasses import dataclass

import aiohttp

from benchmarks.run import (
    OtherWork,
    command_body,
    cpu_seconds,
    signed_headers,
    start_server,
    stop_fake_process,
    stop_server,
    verdict,
)

TARGET_RATIO = 1.2
NAMES = ("ours", "bare AsyncApp")
BASELINE = {"bare AsyncApp": [sys.executable, "-m", "benchmarks.baseline_burst"]}


@dataclass
class Burst:
    commands: int
    acked: int
    replied: int
    left: list[float]  # per command: send -> its leave answered (s)
    reply: list[float]  # per command: send -> its reply posted (s)
    ack: list[float]
    makespan: float
    peak_in_flight: int
    cpu: float  # the app's CPU over the makespan, in cores

    @staticmethod
    def q(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _fake(channels: int) -> tuple[asyncio.subprocess.Process, dict]:
    from benchmarks.run import ROOT

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.fake_server", "--delay", "1", "--channels", str(channels),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    info = json.loads(await process.stdout.readline())  # type: ignore[union-attr]
    return process, info


async def _times(session: aiohttp.ClientSession, info: dict) -> dict:
    async with session.post(f"http://127.0.0.1:{info['port']}/api/bench.times") as response:
        return await response.json()


async def burst_of(name: str, commands: int, connections: int, tmp: str) -> Burst:
    from benchmarks import run

    fake, info = await _fake(commands)
    run.TARGETS.update(BASELINE)
    server = await start_server(name, f"http://127.0.0.1:{info['port']}/api/", info["bot_token"], tmp)
    sent: dict[int, float] = {}
    acks: list[float] = []
    numbers = itertools.count()
    url = f"http://127.0.0.1:{server.port}/slack/events"
    try:
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=30)
        ) as session:

            async def connection() -> None:
                while (n := next(numbers)) < commands:
                    body = command_body(info, n, info["admin"], info["channels"])
                    headers = signed_headers(body)
                    sent[n] = time.monotonic()
                    try:
                        async with session.post(url, data=body, headers=headers) as response:
                            await response.read()
                            if response.status == 200:
                                acks.append(time.monotonic() - sent[n])
                    except (aiohttp.ClientError, TimeoutError):
                        pass

            cpu_before = cpu_seconds(server.process.pid)
            await asyncio.gather(*(connection() for _ in range(connections)))
            deadline = time.monotonic() + 120
            while len((times := await _times(session, info))["replied"]) < commands and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            cpu = cpu_seconds(server.process.pid) - cpu_before
    finally:
        await stop_server(server)
        await stop_fake_process(fake)
    paths = {n: f"/commands/{info['team_id']}/{n}/bench" for n in range(commands)}
    channels = {n: info["channels"][n % len(info["channels"])] for n in range(commands)}
    left = [times["left"][channels[n]] - sent[n] for n in range(commands) if channels[n] in times["left"]]
    reply = [times["replied"][paths[n]] - sent[n] for n in range(commands) if paths[n] in times["replied"]]
    start = min(sent.values())
    makespan = max(times["replied"].values(), default=float("nan")) - start
    return Burst(commands, len(acks), len(reply), left, reply, acks, makespan, times["peak_in_flight"], cpu / makespan)


async def burst(args, tmp: str) -> dict[str, Burst]:
    commands, connections = (300, 30) if args.quick else (2000, 100)
    results = {}
    for name in NAMES:
        results[name] = await burst_of(name, commands, connections, tmp)
        await asyncio.sleep(0.5)
    return results


async def report_burst(args, tmp: str) -> bool:
    with OtherWork() as other:
        results = await burst(args, tmp)
    ours, bare = results["ours"], results["bare AsyncApp"]
    print(f"\n6. Burst: {ours.commands:,} distinct /leave-channel commands from {100 if not args.quick else 30} "
          f"connections, every Web API call 1 s {other.note()}")  # fmt: skip
    for name, b in results.items():
        print(f"   {name:<14} acked {b.acked:>5}  replied {b.replied:>5}  ack p99 {b.q(b.ack, 0.99) * 1000:6.0f} ms  "
              f"send->leave p50/p99/max {b.q(b.left, 0.5):5.2f}/{b.q(b.left, 0.99):5.2f}/{max(b.left, default=0):5.2f} s  "
              f"send->reply p50/p99/max {b.q(b.reply, 0.5):5.2f}/{b.q(b.reply, 0.99):5.2f}/{max(b.reply, default=0):5.2f} s  "
              f"makespan {b.makespan:5.2f} s  calls in flight at most {b.peak_in_flight:>5}  app CPU {b.cpu:4.0%}")  # fmt: skip
    p99 = ours.q(ours.reply, 0.99) / bare.q(bare.reply, 0.99)
    makespan = ours.makespan / bare.makespan
    ok = p99 <= TARGET_RATIO and makespan <= TARGET_RATIO and ours.replied == ours.commands
    print(f"   ours/bare: send->reply p99 {p99:.2f}x, makespan {makespan:.2f}x (targets <= {TARGET_RATIO}); "
          f"replied {ours.replied}/{ours.commands}  {verdict(ok)}")  # fmt: skip
    return ok
