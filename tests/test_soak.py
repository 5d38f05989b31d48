"""Soak (issues 9 and 12): mixed commands and submissions with 5% of Web API calls failing, nothing lost and nothing
leaking; and hostile members beside real traffic (eviction attempts, 3,000-ID commands, replays, an unsigned flood
from strangers): nothing is done for them, the real commands are answered, the log stays small.

The everyday suite runs a smaller soak (it shares the machine with its other workers); .ci/run runs the full sizes
alone: SOAK_OPERATIONS=2000 HOSTILE_SOAK_OPERATIONS=400.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from urllib.parse import urlencode

import pytest

from services.disconnecting.attempts import ATTEMPTS_PER_MINUTE
from services.error_texts import ADMIN_CHECK_FAILED, ADMIN_ONLY, TOO_MANY_ATTEMPTS
from services.settings import Settings
from services.ui.disconnect import TOO_MANY
from tests.helpers.app import settings_for, suite_database
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.leave import chosen
from tests.helpers.logs import log_capture
from tests.helpers.slack_requests import SlackSender
from tests.helpers.tasks import work_tasks

pytestmark = pytest.mark.runs_long  # soaks: see runs_long in pyproject.toml

OPERATIONS = int(os.environ.get("SOAK_OPERATIONS", "200"))
AT_ONCE = 50

HOSTILE_OPERATIONS = int(os.environ.get("HOSTILE_SOAK_OPERATIONS", "200"))
FLOODERS = int(os.environ.get("HOSTILE_FLOODERS", "8"))
FLOOD_POSTS_EACH = 60
FLOOD_BODY_BYTES = int(os.environ.get("HOSTILE_FLOOD_BYTES", str(256 * 1024)))
LOG_LIMIT_BYTES = 64 * 1024  # the whole run's log at INFO, flood included
HOSTILE_AT_ONCE = int(os.environ.get("HOSTILE_AT_ONCE", "5"))  # real commands in flight at once

# Posts unsigned bodies with a fresh timestamp and a made-up signature from several connections; prints each status.
FLOODER = """
import asyncio, sys, time, aiohttp
url, flooders, each, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
async def one(session, body):
    out = []
    for _ in range(each):
        headers = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64,
                   "Content-Type": "application/x-www-form-urlencoded"}
        async with session.post(url, data=body, headers=headers) as reply:
            out.append(str(reply.status))
    return out
async def main():
    body = b"payload=" + b"A" * size
    async with aiohttp.ClientSession() as session:
        results = await asyncio.gather(*(one(session, body) for _ in range(flooders)))
    print(" ".join(s for r in results for s in r))
asyncio.run(main())
"""


@pytest.fixture
async def app_settings(fake_slack: FakeSlack, tmp_path) -> Settings:
    """An Enterprise org from the start: the app learns its org once, at start-up (auth.test)."""
    fake_slack.make_grid()
    return settings_for(fake_slack, database_url=await suite_database(tmp_path))


async def test_soak_with_faults(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channels = [fake_slack.add_channel(f"soak{i}") for i in range(60)]
    rng = random.Random(2026)
    acks: list[float] = []
    lost: list[str] = []
    tasks_before = len(work_tasks())
    fake_slack.chaos_rate = 0.05
    limit = asyncio.Semaphore(AT_ONCE)

    async def replied(url: str, what: str) -> None:
        try:
            await fake_slack.next_post(url, timeout=30)
        except AssertionError:
            lost.append(f"{what}: {[(c.method, c.params.get('channel')) for c in fake_slack.calls[-3:]]}")

    async def operation(n: int) -> None:
        kind = rng.random()
        async with limit:
            if kind < 0.55:
                reply, body = await slack.command("/leave-channel", "", channel_id=rng.choice(channels))
                acks.append(reply.elapsed)
                await replied(body["response_url"], "leave")
            elif kind < 0.70:
                named = " ".join(f"<#{c}>" for c in rng.sample(channels, 3))
                reply, body = await slack.command("/leave-channel", named, channel_id=channels[0])
                acks.append(reply.elapsed)
                await replied(body["response_url"], "bulk leave")
            elif kind < 0.80:
                reply, _ = await slack.command("/leave-channel", "help", channel_id=channels[0])
                acks.append(reply.elapsed)
                if "/leave-channel pick" not in reply.text:
                    lost.append("help")
            elif kind < 0.95:
                reply, body = await slack.command("/leave-channel", "pick", channel_id=channels[0])
                acks.append(reply.elapsed)
                url = body["response_url"]
                await fake_slack.wait_for(
                    lambda url=url: _view_for(fake_slack, url) or fake_slack.posts_to(url), 30, "a modal or a reply"
                )
                view_id = _view_for(fake_slack, url)
                if view_id is not None:
                    submitted = await slack.submit_view(view_id, chosen(*rng.sample(channels, 2)))
                    acks.append(submitted.elapsed)
                    await replied(url, "pick")
            else:
                # Each by another member: one person is held to a few attempts a minute (services.disconnecting.attempts).
                someone = fake_slack.add_user()
                reply, body = await slack.command("/disconnect-shared", "", channel_id=channels[0], user_id=someone)
                acks.append(reply.elapsed)
                await replied(body["response_url"], "refusal")
                posts = fake_slack.posts_to(body["response_url"])
                if posts and not _is_refusal(posts):
                    lost.append(f"refusal text: {posts[0]['text'][:80]}")

    started = time.monotonic()
    await asyncio.gather(*(operation(n) for n in range(OPERATIONS)))
    elapsed = time.monotonic() - started

    assert lost == []
    assert fake_slack.chaos_count > OPERATIONS * 0.02, "the faults were really injected"
    assert len(acks) >= OPERATIONS
    assert max(acks) < 3.0, f"slowest ack {max(acks):.2f}s"
    # ~600 of the operations are bulk leaves, each a job written to the database as it goes (services.jobs.queue): on a
    # SQLite file, one writer at a time, that is several thousand small writes.
    assert elapsed < 150, f"took {elapsed:.1f}s"
    await fake_slack.wait_for(lambda: fake_slack.requests_in_flight == 0, timeout=10, what="Web API calls to end")
    # What the app started for each request has finished: only idle keep-alive connection handlers remain,
    # and there are no more of those than the two connection pools (the harness's and the app's) can hold.
    try:
        await fake_slack.wait_for(lambda: len(work_tasks()) <= tasks_before, timeout=30, what="background tasks to end")
    except AssertionError:
        left = sorted({repr(t.get_coro()).split(" at ")[0] for t in work_tasks()})
        raise AssertionError(f"tasks still running 30 s after the last answer: {left}") from None
    # Each keep-alive connection still open has its handler task: the harness's to the app (at most its pool's limit),
    # the app's to the fake Slack (counted by the fake).
    assert slack.session.connector is not None
    idle_handlers = slack.session.connector.limit + fake_slack.open_connections()
    assert len(asyncio.all_tasks()) - len(work_tasks()) <= idle_handlers + 1  # + the job runner's poller
    refusals = [r for r in await slack.built.audit_log.latest(10_000) if r["event"] == "refused"]
    assert len(refusals) == sum(1 for url in fake_slack.response_urls.values() if _is_refusal(url.posts))


def _is_refusal(posts: list[dict]) -> bool:
    return bool(posts) and (posts[0]["text"] == ADMIN_ONLY or posts[0]["text"].startswith(ADMIN_CHECK_FAILED[:30]))


def _view_for(fake: FakeSlack, response_url: str) -> str | None:
    for view_id, view in fake.views.items():
        if response_url in view.get("private_metadata", ""):
            return view_id
    return None


async def test_hostile_members_and_an_unsigned_flood_beside_real_traffic(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    member, stranger = fake_slack.add_user(), fake_slack.add_user()
    theirs = [fake_slack.add_channel(f"member{i}") for i in range(40)]  # the member is in these
    closed = [fake_slack.add_channel(f"closed{i}") for i in range(20)]  # nobody asking is in these
    for channel in theirs:
        fake_slack.channels[channel].members.add(member)
    rng = random.Random(12)
    acks: list[float] = []
    problems: list[str] = []

    async def flood() -> None:
        """Strangers on other machines: a separate process, so the flood's own sending costs the app nothing."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", FLOODER, slack.base_url + "/slack/events", str(FLOODERS), str(FLOOD_POSTS_EACH),
            str(FLOOD_BODY_BYTES), stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
        statuses = out.decode().split()
        if len(statuses) != FLOODERS * FLOOD_POSTS_EACH or set(statuses) - {"401", "413"}:
            problems.append(f"unsigned posts answered {sorted(set(statuses))} ({len(statuses)} answers)")

    async def operation(n: int) -> None:
        kind = rng.random()
        if kind < 0.5:  # a member leaves a channel they are in: real traffic, timed
            channel = theirs[n % len(theirs)]
            reply, body = await slack.command("/leave-channel", "", channel_id=channel, user_id=member)
            acks.append(reply.elapsed)
            await fake_slack.next_post(body["response_url"], timeout=30)
            fake_slack.channels[channel].members.add(fake_slack.bot_user_id)  # back in, for the next round
        elif kind < 0.75:  # a stranger tries to evict the bot from channels they aren't in
            named = " ".join(f"<#{c}>" for c in rng.sample(closed, 3))
            reply, body = await slack.command("/leave-channel", named, channel_id=closed[0], user_id=stranger)
            acks.append(reply.elapsed)
            await fake_slack.next_post(body["response_url"], timeout=30)
        elif kind < 0.9:  # a stranger names 3,000 workspaces
            ids = " ".join(f"T{i:09d}" for i in range(3000))
            reply, _ = await slack.command("/disconnect-shared", ids, channel_id=closed[0], user_id=stranger)
            acks.append(reply.elapsed)
            # Refused at once: over the cap, or (past 6 a minute: each counts as an attempt) over the limit.
            text = reply.json()["text"]
            if not (text.startswith(TOO_MANY) or text == TOO_MANY_ATTEMPTS.format(count=ATTEMPTS_PER_MINUTE)):
                problems.append("a 3,000-ID command was not refused at once")
        else:  # a captured command replayed byte for byte
            channel = theirs[n % len(theirs)]
            fields = slack.command_body("/leave-channel", "", channel_id=channel, user_id=member)
            raw, ts = urlencode(fields).encode(), int(time.time())
            first, again = await slack.post(raw, timestamp=ts), await slack.post(raw, timestamp=ts)
            acks.append(first.elapsed)
            if again.text != "":
                problems.append("a replay was handled twice")
            await fake_slack.next_post(fields["response_url"], timeout=30)
            fake_slack.channels[channel].members.add(fake_slack.bot_user_id)

    limit = asyncio.Semaphore(HOSTILE_AT_ONCE)

    async def bounded(n: int) -> None:
        async with limit:
            await operation(n)

    started = time.monotonic()
    with log_capture([fake_slack.bot_token], level="INFO") as stream:
        await asyncio.gather(flood(), *(bounded(n) for n in range(HOSTILE_OPERATIONS)))
    minutes = 1 + int((time.monotonic() - started) // 60)

    assert problems == []
    assert all(fake_slack.is_member(c) for c in closed), "a stranger made the bot leave a channel"
    # 3,000-ID commands are one row each for the first 6 a minute, then one row a minute with their count (written
    # when the minute ends): never a row per command.
    rows = await slack.built.audit_log.latest(100)
    assert len(rows) <= (ATTEMPTS_PER_MINUTE + 1) * minutes, [r["outcome"] for r in rows]
    assert {(r["user_id"], r["outcome"].split(":")[0]) for r in rows} <= {
        (stranger, "too_many_parties"),
        (stranger, "too_many_attempts"),
    }
    # Never a timeout (Slack waits 3 s). The p99 target (< 100 ms with the flood running) is measured by the
    # benchmark (`python -m benchmarks.run`, hostile case), in its own processes, not by a timed test.
    assert max(acks) < 3.0, f"slowest ack {max(acks):.2f} s with the flood running"
    log = stream.getvalue()
    assert len(log.encode()) < LOG_LIMIT_BYTES, f"the log grew to {len(log)} bytes"
    assert "A" * 100 not in log  # no body of the flood
