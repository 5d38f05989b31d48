"""A database blip costs seconds, not a lease (issue 23): the app as a real process, its database unavailable for a
few seconds in the middle of a bulk leave, on SQLite and on PostgreSQL (tests/helpers/outage.py: never the server
other tests share going down). The job pauses while the database is away (no item starts without its checkpoint),
takes its own lease back at once when it answers, leaves every channel once and posts one summary; the outage uses
none of the job's attempts and logs no ERROR.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from services.jobs.queue import DONE, JobStore
from services.storage.database import Database
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.outage import postgres_proxy, sqlite_locked
from tests.helpers.processes import instances
from tests.helpers.slack_requests import SlackSender

pytestmark = pytest.mark.runs_long  # real app processes: see runs_long in pyproject.toml

CHANNELS = 30
RATE = 10.0  # conversations.leave a second: the job takes about 3 s without the outage
OUTAGE_SECONDS = 3.0
PAUSED = "paused until it answers"


async def _until(predicate, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_a_database_blip_mid_job_costs_seconds_not_a_lease(
    fake_slack: FakeSlack, tmp_path: Path, migrated_database_url: str
) -> None:
    fake_slack.rate_limit("conversations.leave", int(RATE), 1.0)
    counts = fake_slack.acted_on("conversations.leave")
    url = migrated_database_url
    sqlite = url.startswith("sqlite")
    async with contextlib.AsyncExitStack() as stack:
        proxy = None if sqlite else await stack.enter_async_context(postgres_proxy(url))
        app_url = url if proxy is None else proxy.url_for(url)

        @contextlib.asynccontextmanager
        async def outage() -> AsyncIterator[None]:
            if proxy is None:
                async with sqlite_locked(str(make_url(url).database)):
                    yield
                return
            await proxy.cut()
            try:
                yield
            finally:
                await proxy.restore()

        database = Database(url)
        stack.push_async_callback(database.close)
        store = JobStore(database, owner="test")
        # A lease much longer than the outage: resuming must not wait for it.
        start = await stack.enter_async_context(instances(fake_slack, app_url, tmp_path, JOB_LEASE_SECONDS="30"))
        instance = await start()
        session = await stack.enter_async_context(aiohttp.ClientSession())
        channels = [fake_slack.add_channel(f"blip{i}") for i in range(CHANNELS)]
        sender = SlackSender(instance.url, fake_slack, session)
        reply, body = await sender.command(
            "/leave-channel", " ".join(f"<#{c}>" for c in channels), channel_id=channels[0]
        )
        assert reply.status == 200 and f"Leaving {CHANNELS} channels" in reply.text
        response_url = body["response_url"]
        await fake_slack.wait_for(lambda: sum(counts.values()) >= 5, timeout=20, what="some channels left")

        async with outage():
            if proxy is not None:  # the job meets the outage at its next checkpoint, and says so once
                await _until(lambda: PAUSED in instance.log.read_text(), 10, "the job to pause")
            at_cut = sum(counts.values())
            # The database stays away this long (the blip being measured); meanwhile an ack is still answered.
            ack, _ = await sender.command("/leave-channel", "help", channel_id=channels[0])
            assert ack.status == 200
            await asyncio.sleep(OUTAGE_SECONDS)
            during = sum(counts.values()) - at_cut
        back = asyncio.get_running_loop().time()
        summary = await fake_slack.next_post(response_url, timeout=40)
        took = asyncio.get_running_loop().time() - back

        job = (await store.all())[0]
        log = instance.log.read_text()
    assert summary["text"].startswith(f"Left {CHANNELS} channels") and "interrupted" not in summary["text"]
    assert counts == Counter({c: 1 for c in channels})  # every channel acted on once
    assert len(fake_slack.posts_to(response_url)) == 1
    assert job.status == DONE and job.attempts == 1 and not job.interrupted  # the outage used no attempt
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
    if proxy is not None:
        # Paused: only the calls in flight when it was cut (at most the pace's 4 at once) went on without a checkpoint.
        assert during <= 4, during
        assert log.count(PAUSED) >= 1
    left_after = CHANNELS - at_cut - during
    assert took < left_after / RATE + 3.0, (took, left_after)  # back to work within moments, not a lease


@pytest.mark.usefixtures("slack")
async def test_a_job_that_fails_for_good_tells_the_user_once_what_was_done(
    slack: SlackSender, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error that isn't the database's, every attempt: the job ends FAILED after its attempts, and the user hears
    once which channels were left and which weren't."""
    from services.jobs.queue import FAILED, MAX_ATTEMPTS
    from services.leaving import workflow

    channels = [fake_slack.add_channel(f"doomed{i}") for i in range(4)]
    real_leave = workflow.leave_channel

    async def leave_but_not_the_third(client, channel_id):
        if channel_id == channels[2]:
            raise RuntimeError("a bug")
        return await real_leave(client, channel_id)

    monkeypatch.setattr(workflow, "leave_channel", leave_but_not_the_third)
    reply, body = await slack.command("/leave-channel", " ".join(f"<#{c}>" for c in channels), channel_id=channels[0])
    assert reply.status == 200
    told = await fake_slack.next_post(body["response_url"], timeout=30)
    store: JobStore = slack.built.jobs.store
    (job,) = await store.all()
    assert job.status == FAILED and job.attempts == MAX_ATTEMPTS
    assert told["text"].startswith("I couldn't finish leaving the channels you asked for")
    left = [c for c in channels if not fake_slack.is_member(c)]
    assert channels[2] not in left and len(left) >= 2
    assert "What I did: " in told["text"] and all(f"<#{c}>" in told["text"] for c in left)
    assert "I didn't get to " in told["text"] and f"<#{channels[2]}>" in told["text"].split("I didn't get to")[1]
    assert len(fake_slack.posts_to(body["response_url"])) == 1
