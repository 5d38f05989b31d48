"""Offboarding at Slack's pace: python -m benchmarks.offboard [--quick | --full] [--channels N] [--window S].

The app runs as operators run it (`python app.py`, HTTP mode, its own process, a SQLite file) against the test
suite's fake Slack in this process. Our org hosts N channels shared with one partner org; the fake accepts 20
admin.conversations.disconnectShared calls per window (a sliding window) and answers 429 with `Retry-After: <window>`
past it. An Org Admin runs `/disconnect-shared all <org>`, confirms, and the clock runs from the confirmation to the
summary. Meanwhile another admin's `/leave-channel` commands (each a real leave) come at a steady rate, and their acks
are timed, as they were timed before the job for comparison.

Targets (issue 14): the summary within 1.1x of what the limit allows (N / 20 windows), under 5% of admin calls
answered 429, acks of other commands during the job as fast as without it.

    --full     the real limit: 20 a minute, 300 channels (about 15 minutes)
    (default)  a scaled-down clock: 20 per 3 s, 300 channels (about 45 s)
    --quick    a smoke run: 20 per 1 s, 60 channels (a few seconds; not a measurement)

    --partner  issue 20's case: a partner sharing N of our channels (default 5,000, a tenth private) with both the
               search (admin.conversations.search, Tier 2) and the admin call at 20 per window (default 1 s: the
               real 60 s scaled down 60 times; --window 60 for the real tiers, about 4.5 hours). The clock runs from
               the command to a plan the admin can confirm (target: 10 s), and from the confirmation to the summary
               (target: within 1.1x of the search floor plus the disconnect floor). Also reported: the largest
               request Slack would send the app back (a view_submission echoes the whole view), and the largest
               message the app posts (its JSON, and its blocks' text).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import ROOT, app_env, free_port, wait_for_http
from tests.helpers.slack_requests import SlackSender

ADMIN_CALL = "admin.conversations.disconnectShared"
PER_WINDOW = 20


class TimedFake(FakeSlack):
    """The fake, noting when each admin call was answered other than 429."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted_at: list[float] = []

    def _m_admin_conversations_disconnectShared(self, params: dict, identity: dict) -> dict:
        self.accepted_at.append(time.perf_counter())
        return super()._m_admin_conversations_disconnectShared(params, identity)


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _acks(sender: SlackSender, fake: FakeSlack, admin: str, rate: float, stop: asyncio.Event) -> list[float]:
    """/leave-channel of a fresh channel each time, at `rate` a second, until `stop`; the acks' latencies."""
    latencies: list[float] = []
    tasks: set[asyncio.Task[None]] = set()

    async def one() -> None:
        channel = fake.add_channel(f"side-{len(latencies)}-{time.monotonic_ns()}")
        reply, _ = await sender.command("/leave-channel", "", channel_id=channel, user_id=admin)
        if reply.status == 200:
            latencies.append(reply.elapsed)

    while not stop.is_set():
        task = asyncio.create_task(one())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        await asyncio.sleep(1 / rate)
    if tasks:
        await asyncio.gather(*tasks)
    return latencies


async def run(channels: int, window: float, ack_rate: float) -> dict:
    fake = TimedFake()
    await fake.start()
    fake.make_grid()
    admin = fake.add_user(org_admin=True, real_name="Offboarding Admin")
    other_admin = fake.add_user(org_owner=True, real_name="Side Admin")
    admin_token = fake.add_admin_token(scopes={"admin.conversations:write", "admin.conversations:read"})
    partner = fake.add_org("Partner Corp")
    hosted = [fake.add_shared_channel(f"deal-{i:04d}", connected=[partner]) for i in range(channels)]
    fake.rate_limit(ADMIN_CALL, PER_WINDOW, window)

    tmp = Path(tempfile.mkdtemp(prefix="offboard-bench-"))
    port = free_port()
    env = app_env(fake, tmp, PORT=str(port), SLACK_ADMIN_TOKEN=admin_token, LOG_LEVEL="WARNING")
    log = tmp / "app.log"
    with log.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "app.py", env=env, cwd=ROOT, stderr=stderr, start_new_session=True
        )
    try:
        async with aiohttp.ClientSession() as session:
            await wait_for_http(session, f"http://127.0.0.1:{port}/readyz", process, log=log)
            sender = SlackSender(f"http://127.0.0.1:{port}", fake, session)

            stop = asyncio.Event()
            alone_task = asyncio.create_task(_acks(sender, fake, other_admin, ack_rate, stop))
            await asyncio.sleep(5)
            stop.set()
            alone = await alone_task

            _, command = await sender.command("/disconnect-shared", f"all {partner}", user_id=admin)
            views = await fake.wait_for(
                lambda: fake.views_with("offboard_plan"), timeout=max(60.0, channels / 5), what="the plan"
            )
            plan = views[0]
            values = {"offboard_keep": {"offboard_keep": {"type": "multi_external_select", "selected_options": []}}}
            await sender.submit_view(plan["id"], values, user_id=admin)
            confirm_id = sender.pushed_view_id
            assert confirm_id is not None, "the plan did not push a confirmation"
            stop = asyncio.Event()
            during_task = asyncio.create_task(_acks(sender, fake, other_admin, ack_rate, stop))
            started = time.perf_counter()
            confirm_ack = await sender.submit_view(confirm_id, {}, user_id=admin)
            summary = await fake.next_post(command["response_url"], timeout=channels / PER_WINDOW * window * 3 + 60)
            elapsed = time.perf_counter() - started
            stop.set()
            during = await during_task
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        await process.wait()
        await fake.stop()
    ideal = channels / PER_WINDOW * window
    calls = len(fake.calls_to(ADMIN_CALL))
    limited = fake.rate_limited_count.get(ADMIN_CALL, 0)
    return {
        "channels": channels,
        "limit": f"{PER_WINDOW} per {window:g} s",
        "seconds": round(elapsed, 2),
        "ideal_seconds": ideal,
        "ratio": round(elapsed / ideal, 3),
        "first_call_after": round(fake.accepted_at[0] - started, 3) if fake.accepted_at else None,
        "last_call_after": round(fake.accepted_at[-1] - started, 3) if fake.accepted_at else None,
        "disconnected": sum(1 for c in hosted if fake.channels[c].connected_teams == []),
        "summary_ok": f"disconnected from {channels} of {channels} channels" in summary["text"],
        "admin_calls": calls,
        "429s": limited,
        "share_429": round(limited / calls, 4) if calls else None,
        "confirm_ack_ms": round(confirm_ack.elapsed * 1000, 1),
        "acks_alone": {"n": len(alone), "p50_ms": round(statistics.median(alone) * 1000, 1) if alone else None,
                       "p99_ms": round(_p(alone, 0.99) * 1000, 1), "max_ms": round(max(alone, default=0) * 1000, 1)},
        "acks_during_job": {"n": len(during), "p50_ms": round(statistics.median(during) * 1000, 1) if during else None,
                            "p99_ms": round(_p(during, 0.99) * 1000, 1),
                            "max_ms": round(max(during, default=0) * 1000, 1)},
    }  # fmt: skip


SEARCH = "admin.conversations.search"


def _block_text(message: dict) -> int:
    """Characters of text in a message's blocks (what msg_blocks_too_long counts)."""
    total = 0

    def walk(node: object) -> None:
        nonlocal total
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                total += len(node["text"])
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks") or [])
    return total


async def run_partner(channels: int, private: int, window: float) -> dict:
    fake = TimedFake()
    await fake.start()
    fake.make_grid()
    admin = fake.add_user(org_admin=True, real_name="Offboarding Admin")
    admin_token = fake.add_admin_token(scopes={"admin.conversations:write", "admin.conversations:read"})
    fake.private_channel_managers.add(fake.tokens[admin_token]["user_id"])  # may search private channels
    partner = fake.add_org("Partner Corp")
    hosted = [
        fake.add_shared_channel(f"partner-project-{i:05d}-deal-room", connected=[partner], is_private=i < private)
        for i in range(channels)
    ]
    fake.rate_limit(ADMIN_CALL, PER_WINDOW, window)
    fake.rate_limit(SEARCH, PER_WINDOW, window)

    tmp = Path(tempfile.mkdtemp(prefix="offboard-partner-bench-"))
    port = free_port()
    env = app_env(fake, tmp, PORT=str(port), SLACK_ADMIN_TOKEN=admin_token, LOG_LEVEL="WARNING")
    log = tmp / "app.log"
    with log.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "app.py", env=env, cwd=ROOT, stderr=stderr, start_new_session=True
        )
    bodies: list[int] = []
    try:
        async with aiohttp.ClientSession() as session:
            await wait_for_http(session, f"http://127.0.0.1:{port}/readyz", process, log=log)
            sender = SlackSender(f"http://127.0.0.1:{port}", fake, session)
            commanded = time.perf_counter()
            _, command = await sender.command("/disconnect-shared", f"all {partner}", user_id=admin)
            views = await fake.wait_for(lambda: fake.views_with("offboard_plan"), timeout=60.0, what="the plan")
            to_plan = time.perf_counter() - commanded
            plan = views[0]
            plan_text = json.dumps(plan["blocks"])
            # The admin keeps 100 channels (the picker's most) from what the plan found: the largest submission.
            keep = await sender.block_suggestion(plan["id"], "offboard_keep", "", "offboard_keep", user_id=admin)
            bodies.append(len(sender.last_sent[0]))
            options = json.loads(keep.text)["options"]
            values = {
                "offboard_keep": {"offboard_keep": {"type": "multi_external_select", "selected_options": options}},
                "offboard_dry_run": {"dry_run": {"type": "checkboxes", "selected_options": []}},
            }
            await sender.submit_view(plan["id"], values, user_id=admin)
            bodies.append(len(sender.last_sent[0]))
            confirm_id = sender.pushed_view_id
            assert confirm_id is not None, "the plan did not push a confirmation"
            started = time.perf_counter()
            await sender.submit_view(confirm_id, {}, user_id=admin)
            bodies.append(len(sender.last_sent[0]))
            floor = (channels - len(options)) / PER_WINDOW * window + channels / 20 / PER_WINDOW * window
            summary = await fake.next_post(command["response_url"], timeout=floor * 3 + 120)
            elapsed = time.perf_counter() - started
            await asyncio.sleep(1.0)  # the DM copy and files, if any
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        await process.wait()
        await fake.stop()
    search_floor = -(-(channels - private) // 20) / PER_WINDOW * window + -(-private // 20) / PER_WINDOW * window
    disconnect_floor = (channels - len(options)) / PER_WINDOW * window
    posted = [p for url in fake.response_urls.values() for p in url.posts] + list(fake.messages)
    kept = {o["value"] for o in options}
    return {
        "channels": channels,
        "private": private,
        "kept": len(kept),
        "limits": f"search and admin call each {PER_WINDOW} per {window:g} s",
        "command_to_confirmable_plan_s": round(to_plan, 2),
        "plan_said": "so far" if "so far" in plan_text else "complete",
        "confirm_to_summary_s": round(elapsed, 2),
        "search_floor_s": round(search_floor, 2),
        "disconnect_floor_s": round(disconnect_floor, 2),
        "ratio_to_search_plus_disconnect": round(elapsed / (search_floor + disconnect_floor), 3),
        "ratio_to_disconnect_alone": round(elapsed / disconnect_floor, 3),
        "disconnected": sum(1 for c in hosted if c not in kept and fake.channels[c].connected_teams == []),
        "kept_still_connected": sum(1 for c in kept if fake.channels[c].connected_teams == [partner]),
        "summary_first_line": summary["text"].split("\n", 1)[0][:200],
        "search_calls": len(fake.calls_to(SEARCH)),
        "search_429s": fake.rate_limited_count.get(SEARCH, 0),
        "admin_calls": len(fake.calls_to(ADMIN_CALL)),
        "admin_429s": fake.rate_limited_count.get(ADMIN_CALL, 0),
        "largest_request_from_slack_bytes": max(bodies),
        "plan_view_bytes": len(json.dumps(plan)),
        "largest_message_json_bytes": max((len(json.dumps(p)) for p in posted), default=0),
        "largest_message_block_text_chars": max((_block_text(p) for p in posted), default=0),
        "messages_posted": len(posted),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.offboard", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smoke run: 60 channels, 20 per 1 s")
    mode.add_argument("--full", action="store_true", help="the real limit: 20 per 60 s (about 15 minutes)")
    parser.add_argument("--channels", type=int, help="channels hosted by us (default 300; 60 with --quick)")
    parser.add_argument("--window", type=float, help="seconds per 20 admin calls (default 3; 1 quick; 60 full)")
    parser.add_argument("--ack-rate", type=float, default=2.0, help="other commands a second meanwhile (default 2)")
    parser.add_argument("--partner", action="store_true", help="issue 20's partner at size (see above)")
    parser.add_argument("--private", type=int, help="of the --partner channels, how many private (default a tenth)")
    args = parser.parse_args()
    if args.partner:
        channels = args.channels or (200 if args.quick else 5000)
        window = args.window or 1.0
        private = args.private if args.private is not None else channels // 10
        result = asyncio.run(run_partner(channels, private, window))
        print(json.dumps(result, indent=2))
        ok = (
            result["command_to_confirmable_plan_s"] <= 10
            and result["ratio_to_search_plus_disconnect"] <= 1.1
            and result["disconnected"] == channels - result["kept"]
            and result["kept_still_connected"] == result["kept"]
        )
        print("verdict:", "met" if ok else "MISSED", "(a plan within 10 s, the summary within 1.1x of the floors)")
        return 0 if ok or args.quick else 1
    channels = args.channels or (60 if args.quick else 300)
    window = args.window or (1.0 if args.quick else 60.0 if args.full else 3.0)
    result = asyncio.run(run(channels, window, args.ack_rate))
    print(json.dumps(result, indent=2))
    ok = (
        result["summary_ok"]
        and result["disconnected"] == channels
        and result["ratio"] <= 1.1
        and (result["share_429"] or 0) < 0.05
    )
    print("verdict:", "met" if ok else "MISSED", "(summary within 1.1x of the limit, under 5% 429s)")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
