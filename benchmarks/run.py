"""One command for the three performance targets, each as a ratio to a baseline run in the same run.

    python -m benchmarks.run            # the full run (about two minutes)
    python -m benchmarks.run --quick    # a short smoke run

1. Acks under a slow API: every Web API call takes 1 s; 100 concurrent /leave-channel commands for 10 s.
   Ours vs a bare Bolt AsyncApp that acks and makes the same call; the sync Bolt App behind gunicorn for reference.
2. Bulk leave at the rate limit: conversations.leave limited to 20/s (429, Retry-After: 1); 200 channels through
   the modal; time until the summary is delivered, against the 10 s the limit allows.
3. Footprint: start-up to /healthz, and resident memory after 1,000 commands, vs the bare AsyncApp.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_slack import FakeSlack  # noqa: E402
from tests.slack_requests import SIGNING_SECRET, sign  # noqa: E402

TARGETS = {
    "ours": [sys.executable, str(ROOT / "app.py")],
    "bare AsyncApp": [sys.executable, "-m", "benchmarks.baseline_async"],
    "sync App + gunicorn": [
        sys.executable, "-m", "gunicorn", "benchmarks.baseline_sync:application",
        "--workers", "2", "--bind", "127.0.0.1:{port}", "--log-level", "warning",
    ],
}  # fmt: skip


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: asyncio.subprocess.Process
    port: int
    startup: float


async def start_server(name: str, api_url: str, bot_token: str, tmp: str) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/{name.replace(' ', '_')}.db",
    }
    env.pop("SLACK_APP_TOKEN", None)
    command = [part.format(port=port) for part in TARGETS[name]]
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT, start_new_session=True)
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if process.returncode is not None:
                raise RuntimeError(f"{name} exited during start-up")
            await asyncio.sleep(0.002)
    return Server(process, port, time.perf_counter() - started)


async def stop_server(server: Server) -> None:
    try:
        os.killpg(server.process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        await asyncio.wait_for(server.process.wait(), timeout=15)
    except TimeoutError:
        os.killpg(server.process.pid, signal.SIGKILL)
        await server.process.wait()


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (gunicorn's workers), in MiB."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1])
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        total += int(rss_mib(int(child)) * 1024)
    return total / 1024


def command_body(fake_api_port: int, team_id: str, n: int) -> bytes:
    return urlencode(
        {
            "token": "x",
            "team_id": team_id,
            "channel_id": f"C0BENCH{n % 1000:04d}",
            "user_id": "U0BENCH0001",
            "command": "/leave-channel",
            "text": "",
            "api_app_id": "A0FAKEAPP",
            "is_enterprise_install": "false",
            "response_url": f"http://127.0.0.1:{fake_api_port}/commands/{team_id}/{n}/bench",
            "trigger_id": f"{n}.bench",
        }
    ).encode()


@dataclass
class Load:
    latencies: list[float]
    errors: int
    duration: float

    @property
    def over_3s(self) -> int:
        return sum(1 for latency in self.latencies if latency > 3.0) + self.errors

    @property
    def throughput(self) -> float:
        return sum(1 for latency in self.latencies if latency <= 3.0) / self.duration

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def drive(
    port: int, api_port: int, team_id: str, concurrency: int, seconds: float | None, total: int | None
) -> Load:
    """Closed-loop load: `concurrency` clients sending signed commands back to back."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    started = time.perf_counter()
    deadline = started + seconds if seconds else float("inf")
    url = f"http://127.0.0.1:{port}/slack/events"
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:

        async def client() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                n = next(counter)
                if total is not None and n >= total:
                    return
                body = command_body(api_port, team_id, n)
                ts = int(time.time())
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": str(ts),
                    "X-Slack-Signature": sign(body, ts),
                }
                sent = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        ok = response.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - sent)
                else:
                    errors += 1

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return Load(latencies, errors, time.perf_counter() - started)


async def start_fake_process(delay: float) -> tuple[asyncio.subprocess.Process, dict]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.fake_server", "--delay", str(delay),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    info = json.loads(await process.stdout.readline())  # type: ignore[union-attr]
    return process, info


async def acks_under_slow_api(args, tmp: str) -> dict:
    fake, info = await start_fake_process(delay=1.0)
    results = {}
    try:
        for name in TARGETS:
            server = await start_server(name, f"http://127.0.0.1:{info['port']}/api/", info["bot_token"], tmp)
            try:
                await drive(server.port, info["port"], info["team_id"], 10, 1.0, None)  # warm-up
                load = await drive(server.port, info["port"], info["team_id"], args.concurrency, args.seconds, None)
            finally:
                await stop_server(server)
            results[name] = load
            await asyncio.sleep(1.5)  # let the fake finish the 1 s calls of this run
    finally:
        os.killpg(fake.pid, signal.SIGTERM)
        await fake.wait()
    return results


async def footprint(args, tmp: str) -> dict:
    fake, info = await start_fake_process(delay=0.0)
    results = {}
    try:
        for name in ("ours", "bare AsyncApp"):
            startups = []
            for _ in range(args.startups):
                server = await start_server(name, f"http://127.0.0.1:{info['port']}/api/", info["bot_token"], tmp)
                startups.append(server.startup)
                await stop_server(server)
            server = await start_server(name, f"http://127.0.0.1:{info['port']}/api/", info["bot_token"], tmp)
            try:
                await drive(server.port, info["port"], info["team_id"], 20, None, args.commands)
                await asyncio.sleep(1.0)  # the work after each ack finishes
                memory = rss_mib(server.process.pid)
            finally:
                await stop_server(server)
            results[name] = {"startup": statistics.median(startups), "rss": memory}
    finally:
        os.killpg(fake.pid, signal.SIGTERM)
        await fake.wait()
    return results


async def bulk_at_rate_limit(args, tmp: str) -> dict:
    fake = FakeSlack()
    fake.rate_limit("conversations.leave", calls=20, per_seconds=1.0)
    await fake.start()
    channels = [fake.add_channel(f"bulk{i}") for i in range(args.channels)]
    server = await start_server("ours", fake.api_url, fake.bot_token, tmp)
    try:
        async with aiohttp.ClientSession() as session:
            from tests.slack_requests import SlackSender

            sender = SlackSender(f"http://127.0.0.1:{server.port}", fake, session)
            _, command = await sender.command("/leave-channel", "pick", channel_id=channels[0])
            (view_id,) = await fake.wait_for(lambda: list(fake.views), what="the modal")
            values = {
                "leave_pick_channels": {
                    "channels": {"type": "multi_conversations_select", "selected_conversations": channels}
                }
            }
            started = time.perf_counter()
            await sender.submit_view(view_id, values)
            summary = await fake.next_post(command["response_url"], timeout=120)
            elapsed = time.perf_counter() - started
    finally:
        await stop_server(server)
        await fake.stop()
    calls = len(fake.calls_to("conversations.leave"))
    return {
        "seconds": elapsed,
        "ideal": args.channels / 20,
        "left": sum(1 for c in channels if not fake.is_member(c)),
        "all_reported": summary["text"].startswith(f"Left {args.channels} channels"),
        "calls": calls,
        "429s": fake.rate_limited_count.get("conversations.leave", 0),
        "progress_updates": len(fake.view_history.get(view_id, [])) - 2,
    }


QUICK = False


def verdict(ok: bool) -> str:
    if QUICK:
        return "(smoke run: no verdict)"
    return "PASS" if ok else "MISS"


async def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run")
    parser.add_argument("--quick", action="store_true", help="a short smoke run, not a measurement")
    parser.add_argument("--only", choices=["acks", "bulk", "footprint"], help="run one target only")
    args = parser.parse_args()
    global QUICK
    QUICK = args.quick
    args.concurrency, args.seconds = (20, 2.0) if args.quick else (100, 10.0)
    args.channels = 40 if args.quick else 200
    args.commands, args.startups = (200, 1) if args.quick else (1000, 5)

    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}{' (quick smoke run)' if args.quick else ''}")  # fmt: skip
    all_ok = True
    with tempfile.TemporaryDirectory() as tmp:
        all_ok &= await report_acks(args, tmp) if args.only in (None, "acks") else True
        all_ok &= await report_bulk(args, tmp) if args.only in (None, "bulk") else True
        all_ok &= await report_footprint(args, tmp) if args.only in (None, "footprint") else True
    return 0 if all_ok or args.quick else 1


async def report_acks(args, tmp: str) -> bool:
    acks = await acks_under_slow_api(args, tmp)
    ours, bare = acks["ours"], acks["bare AsyncApp"]
    print(f"\n1. Acks, every Web API call 1 s, {args.concurrency} concurrent commands for {args.seconds:.0f} s")
    for name, load in acks.items():
        print(f"   {name:<22} acks {len(load.latencies):>6}  over 3 s/failed {load.over_3s:>5}  "
              f"p50 {load.p(0.5) * 1000:7.1f} ms  p99 {load.p(0.99) * 1000:7.1f} ms  "
              f"{load.throughput:7.1f} acks/s")  # fmt: skip
    p99_ratio = ours.p(0.99) / bare.p(0.99)
    tput_ratio = ours.throughput / bare.throughput
    ok1 = ours.over_3s == 0 and p99_ratio <= 1.1 and tput_ratio >= 0.9
    print(f"   ours/bare: p99 {p99_ratio:.2f}x (target <= 1.1), throughput {tput_ratio:.2f}x (target >= 0.9), "
          f"acks over 3 s {ours.over_3s} (target 0)  {verdict(ok1)}")  # fmt: skip
    return ok1


async def report_bulk(args, tmp: str) -> bool:
    bulk = await bulk_at_rate_limit(args, tmp)
    ratio = bulk["seconds"] / bulk["ideal"]
    share = bulk["429s"] / max(bulk["calls"], 1)
    ok2 = ratio <= 1.1 and bulk["left"] == args.channels and bulk["all_reported"] and share < 0.05
    print(f"\n2. Bulk leave of {args.channels} channels, conversations.leave limited to 20/s")
    print(f"   summary after {bulk['seconds']:.2f} s = {ratio:.2f}x the {bulk['ideal']:.0f} s the limit allows "
          f"(target <= 1.1); left {bulk['left']}/{args.channels}; {bulk['429s']} of {bulk['calls']} calls "
          f"answered 429 = {share:.1%} (target < 5%); {bulk['progress_updates']} progress updates  "
          f"{verdict(ok2)}")  # fmt: skip
    return ok2


async def report_footprint(args, tmp: str) -> bool:
    feet = await footprint(args, tmp)
    start_ratio = feet["ours"]["startup"] / feet["bare AsyncApp"]["startup"]
    rss_ratio = feet["ours"]["rss"] / feet["bare AsyncApp"]["rss"]
    ok3 = start_ratio <= 1.5 and rss_ratio <= 1.5
    print(f"\n3. Footprint (start-up median of {args.startups}; memory after {args.commands} commands)")
    for name, values in feet.items():
        print(f"   {name:<22} start-up to /healthz {values['startup'] * 1000:6.0f} ms   RSS {values['rss']:6.1f} MiB")
    print(f"   ours/bare: start-up {start_ratio:.2f}x, RSS {rss_ratio:.2f}x (targets <= 1.5)  {verdict(ok3)}")
    return ok3


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
