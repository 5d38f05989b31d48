"""Bulk leaves as jobs in the database: SIGTERM drains, SIGKILL is taken over, two instances never share a job.

The crash tests run the app as operators do (`python app.py`, its own process) against the fake Slack in this
process, which outlives them; conversations.leave is rate-limited so a job is still running when the signal comes.
They run on the suite's database, like every test of the app: a SQLite file, or PostgreSQL when TEST_DATABASE_URL is
set (.ci/run runs the suite both ways). The job store's rules themselves are tested on both databases in every run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.audit.log import AuditLog
from services.disconnecting.jobs import DISCONNECT
from services.jobs.queue import DONE, QUEUED, RUNNING, Job, JobExists, JobRunner, JobStore, JobWork
from services.leaving.offers import inline_value, parse_inline
from services.leaving.rejoin_jobs import REJOIN
from services.leaving.rejoin_jobs import job_id_for as rejoin_job_id
from services.leaving.workflow import LEAVE
from services.storage.database import Database
from services.ui.rejoin import REJOIN_BUSY
from tests.helpers.app import Org, migrated_sqlite_file
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import LEASE, ROOT, Instance, app_env, free_port, instances, wait_for_http
from tests.helpers.slack_requests import SlackSender

pytestmark = pytest.mark.runs_long  # real app processes: see runs_long in pyproject.toml


async def the_job(store: JobStore, predicate=lambda job: True, timeout: float = 20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        jobs = await store.all()
        if jobs and predicate(jobs[0]):
            return jobs[0]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for the job: {jobs}")
        await asyncio.sleep(0.05)


async def bulk_leave(fake: FakeSlack, instance: Instance, session: aiohttp.ClientSession, count: int):
    channels = [fake.add_channel(f"bulk{i}") for i in range(count)]
    sender = SlackSender(instance.url, fake, session)
    reply, body = await sender.command("/leave-channel", " ".join(f"<#{c}>" for c in channels), channel_id=channels[0])
    assert reply.status == 200 and f"Leaving {count} channels" in reply.text
    return channels, body["response_url"], sender


async def test_sigterm_mid_job_drains_exits_0_and_the_next_start_resumes_it(
    fake_slack: FakeSlack, tmp_path: Path, app_database_url: str
):
    fake_slack.rate_limit("conversations.leave", 10, 1.0)
    counts = fake_slack.acted_on("conversations.leave")
    url = app_database_url
    database = Database(url)
    store = JobStore(database, owner="test")
    try:
        async with instances(fake_slack, url, tmp_path) as start, aiohttp.ClientSession() as session:
            first = await start()
            channels, response_url, _ = await bulk_leave(fake_slack, first, session, 24)
            await fake_slack.wait_for(lambda: sum(counts.values()) >= 5, timeout=20, what="some channels left")
            first.process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(first.process.wait(), timeout=20) == 0
            stopped = await store.all()
            assert len(stopped) == 1 and stopped[0].status == RUNNING and stopped[0].lease_owner is None
            assert stopped[0].interrupted and 0 < stopped[0].done_count < 24
            assert stopped[0].done_count == sum(counts.values())  # every call in flight finished and was recorded
            assert fake_slack.posts_to(response_url) == []
            log = first.log.read_text()
            assert "draining" in log.lower() and "left for any instance" in log

            await start()  # the same database, a new process: it resumes the job
            summary = await fake_slack.next_post(response_url, timeout=30)
            job = await the_job(store, lambda j: j.status == DONE)
        assert summary["text"].startswith("Left 24 channels")
        assert "interrupted" in summary["text"]
        assert counts == Counter({c: 1 for c in channels})  # each channel acted on once, across both processes
        assert not any(fake_slack.is_member(c) for c in channels)
        assert len(fake_slack.posts_to(response_url)) == 1 and job.summary_sent_at is not None
    finally:
        await database.close()


async def test_sigkill_mid_job_is_taken_over_by_the_other_instance_after_the_lease(
    fake_slack: FakeSlack, tmp_path: Path, app_database_url: str
):
    fake_slack.rate_limit("conversations.leave", 10, 1.0)
    counts = fake_slack.acted_on("conversations.leave")
    url = app_database_url
    database = Database(url)
    store = JobStore(database, owner="test")
    try:
        async with instances(fake_slack, url, tmp_path) as start, aiohttp.ClientSession() as session:
            one, two = await start(), await start()
            channels, response_url, _ = await bulk_leave(fake_slack, one, session, 20)
            await fake_slack.wait_for(lambda: sum(counts.values()) >= 5, timeout=20, what="some channels left")
            job = await the_job(store, lambda j: j.lease_owner is not None)
            owner = next(i for i in (one, two) if f":{i.process.pid}:" in job.lease_owner)
            other = two if owner is one else one
            owner.process.kill()
            await owner.process.wait()
            killed_at = asyncio.get_running_loop().time()
            summary = await fake_slack.next_post(response_url, timeout=40)
            took = asyncio.get_running_loop().time() - killed_at
            job = await the_job(store, lambda j: j.status == DONE)
            assert other.process.returncode is None
        assert job.attempts == 2 and job.interrupted
        assert summary["text"].startswith("Left 20 channels") and "interrupted" in summary["text"]
        assert set(counts) == set(channels) and not any(fake_slack.is_member(c) for c in channels)
        # Only an item in flight at the kill may be sent again (settled by Slack's not_in_channel): at most 4.
        assert sum(counts.values()) - len(channels) <= 4, counts
        settled = [item["id"] for item in job.items if item.get("settled")]
        assert sorted(settled) == sorted(c for c, n in counts.items() if n > 1)
        assert len(fake_slack.posts_to(response_url)) == 1
        assert took < LEASE + 30
    finally:
        await database.close()


async def test_two_instances_racing_for_one_job_only_one_works_it(
    fake_slack: FakeSlack, tmp_path: Path, app_database_url: str
):
    counts = fake_slack.acted_on("conversations.leave")
    url = app_database_url
    database = Database(url)
    store = JobStore(database, owner="test")
    try:
        async with instances(fake_slack, url, tmp_path, JOB_POLL_SECONDS="0.02") as start:
            await start(), await start()
            user = fake_slack.add_user(workspace_admin=True)
            channels = [fake_slack.add_channel(f"race{i}") for i in range(3)]
            response_urls = []
            for _ in range(5):  # several jobs, written while both instances poll every 20 ms
                response_urls.append(fake_slack.new_response_url())
                await store.create(
                    LEAVE,
                    user_id=user,
                    team_id=fake_slack.team_id,
                    response_url=response_urls[-1],
                    items=[{"id": c, "outcome": None} for c in channels],
                )
            for response_url in response_urls:
                await fake_slack.next_post(response_url, timeout=30)
            deadline = asyncio.get_running_loop().time() + 20
            while not all(j.status == DONE for j in await store.all()):
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)
        jobs = await store.all()
        assert [j.attempts for j in jobs] == [1] * 5  # each claimed once, by one instance
        assert counts == Counter({c: 5 for c in channels})  # 5 jobs, each channel once per job
        assert [len(fake_slack.posts_to(u)) for u in response_urls] == [1] * 5
    finally:
        await database.close()


async def test_the_job_stores_rules_hold_on_both_databases(database_url: str) -> None:
    """Instances' stores on one database: a replayed job ID is refused, a job is claimed by one of two racing claims,
    a lapsed lease is taken over (marked interrupted) and the old owner can no longer write, the summary is claimed
    once, and a finished job is made new again once."""
    database = Database(database_url)
    a, b = JobStore(database, owner="a"), JobStore(database, owner="b")
    short = JobStore(database, owner="short", lease_seconds=1.0)
    items = [{"id": "C1", "outcome": None}]
    try:
        first = await a.create(LEAVE, user_id="U1", items=items, job_id="request-1")
        try:
            await b.create(LEAVE, user_id="U1", items=items, job_id="request-1")
            raise AssertionError("a second job with the same ID was written")
        except JobExists:
            pass
        claims = await asyncio.gather(a.claim_next(), b.claim_next())
        assert [c.id for c in claims if c is not None] == [first]  # one of the two, once

        await a.create(LEAVE, user_id="U2", items=items, job_id="request-2")
        held = await short.claim_next()
        assert held is not None and held.id == "request-2" and held.attempts == 1 and not held.interrupted
        assert await a.claim_next() is None  # held: not claimable until its lease runs out
        assert await a.next_lease_expiry() is not None
        deadline = asyncio.get_running_loop().time() + 10
        taken = None
        while taken is None:  # a bounded poll for the 1 s lease to lapse, not a sleep
            assert asyncio.get_running_loop().time() < deadline, "the lapsed lease was never taken over"
            taken = await a.claim_next()
            if taken is None:
                await asyncio.sleep(0.02)
        assert taken.id == held.id and taken.interrupted and taken.attempts == 2 and taken.lease_owner == "a"
        assert not await short.checkpoint(held) and not await short.renew(held.id)  # the old owner lost it
        assert await a.finish(taken, DONE, with_summary=True)  # the summary is claimed with the finish
        assert not await b.claim_summary(taken.id)
        assert await b.requeue_finished(LEAVE, taken.id, user_id="U2", items=items)
        assert not await a.requeue_finished(LEAVE, taken.id, user_id="U2", items=items)  # queued again: once
        again = await a.get(taken.id)
        assert again is not None and again.status == QUEUED and again.attempts == 0 and not again.interrupted
    finally:
        await database.close()


async def test_an_instance_whose_own_lease_lapsed_mid_job_does_not_claim_the_job_again_beside_itself(
    tmp_path: Path,
) -> None:
    """Its loop starved or its database slow, an instance's renewals land late and its own lease lapses while it still
    works the job: its poller must not claim the job again and work it a second time beside the first (another
    instance may take it over; the first then loses it at its next write)."""
    database = Database(await migrated_sqlite_file(tmp_path / "app.db"))
    store = JobStore(database, owner="one", lease_seconds=0.2)
    runner = JobRunner(store, poll_seconds=0.02)
    started: list[Job] = []
    release = asyncio.Event()

    async def handler(work: JobWork) -> None:
        started.append(work.job)
        await release.wait()
        await runner.finish(work)

    async def renewal_that_does_not_land(job_id: str) -> bool:
        return True

    claim_next = store.claim_next
    polls: list[datetime] = []

    async def polled(*args: Any, **kwargs: Any) -> Job | None:
        polls.append(datetime.now(UTC))
        return await claim_next(*args, **kwargs)

    def polls_since_the_lease_lapsed() -> int:
        lapsed = started[0].lease_expires_at if started else None
        return len([p for p in polls if lapsed is not None and p > lapsed])

    runner.register(LEAVE, handler)
    store.renew = renewal_that_does_not_land  # type: ignore[method-assign]
    store.claim_next = polled  # type: ignore[method-assign]
    try:
        await store.create(LEAVE, user_id="U1", items=[{"id": "C1", "outcome": None}])
        runner.wake()
        deadline = asyncio.get_running_loop().time() + 10
        while polls_since_the_lease_lapsed() < 5:
            assert asyncio.get_running_loop().time() < deadline, f"{len(started)} started, {len(polls)} polls"
            await asyncio.sleep(0.02)
        assert [job.attempts for job in started] == [1]  # worked once, from its first claim
    finally:
        release.set()
        await runner.drain(5)
        await database.close()


async def test_a_job_whose_response_url_expired_replies_by_dm(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channels = [fake_slack.add_channel(f"old{i}") for i in range(3)]
    response_url = fake_slack.new_response_url()
    runner = slack.built.jobs
    await runner.store.create(
        LEAVE,
        user_id=slack.user_id,
        team_id=fake_slack.team_id,
        response_url=response_url,
        items=[{"id": c, "outcome": None} for c in channels],
        created_at=datetime.now(UTC) - timedelta(minutes=31),  # Slack takes a response URL for 30 minutes
    )
    runner.wake()
    dm = await fake_slack.wait_for(lambda: fake_slack.messages_to(slack.user_id), timeout=10, what="a DM")
    assert dm[0]["text"].startswith("Left 3 channels")
    assert fake_slack.posts_to(response_url) == []
    assert not any(fake_slack.is_member(c) for c in channels)


async def test_finished_jobs_are_purged_after_the_retention_period_and_listed_for_operators(
    database_url: str, tmp_path: Path
) -> None:
    database = Database(database_url)
    store = JobStore(database, owner="test")
    try:
        ids = [await store.create(LEAVE, user_id="U1", items=[{"id": "C1", "outcome": None}]) for _ in range(3)]
        old, recent, unfinished = ids
        for _ in (old, recent):
            job = await store.claim_next()
            assert job is not None
            await store.finish(job, DONE)
        from sqlalchemy import update

        from services.storage.tables import job as job_table

        engine = await database.engine()
        async with engine.begin() as conn:
            await conn.execute(
                update(job_table).where(job_table.c.id == old).values(finished_at=datetime.now(UTC) - timedelta(days=8))
            )
        assert await store.purge(timedelta(days=7)) == 1
        assert sorted(j.id for j in await store.all()) == sorted([recent, unfinished])
    finally:
        await database.close()
    env = {"PATH": os.environ.get("PATH", ""), "SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s"}
    env["DATABASE_URL"] = database_url
    listing = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.jobs.queue", "--list", env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(listing.communicate(), timeout=60)
    assert listing.returncode == 0
    text = out.decode()
    assert recent in text and unfinished in text and old not in text
    assert "done" in text and "queued" in text and "http" not in text  # no response URL in the listing


async def test_sigterm_to_gunicorn_workers_releases_the_job_for_the_next_instance(
    fake_slack: FakeSlack, tmp_path: Path, app_database_url: str
):
    fake_slack.rate_limit("conversations.leave", 10, 1.0)
    counts = fake_slack.acted_on("conversations.leave")
    url = app_database_url
    port = free_port()
    env = app_env(
        fake_slack, tmp_path, DATABASE_URL=url, JOB_LEASE_SECONDS=str(LEASE), JOB_POLL_SECONDS="0.1",
        METRICS_ENABLED="false",
    )  # fmt: skip
    command = [sys.executable, "-m", "gunicorn", "app:web_app", "--worker-class", "aiohttp.GunicornWebWorker"]
    command += ["--workers", "2", "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "20"]
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        server = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT, stdout=out, stderr=out)
    database = Database(url)
    store = JobStore(database, owner="test")
    try:
        async with aiohttp.ClientSession() as session:
            await wait_for_http(session, f"http://127.0.0.1:{port}/healthz", server, log=log)
            channels, response_url, _ = await bulk_leave(fake_slack, Instance(server, port, log), session, 24)
            await fake_slack.wait_for(lambda: sum(counts.values()) >= 5, timeout=20, what="some channels left")
            server.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(server.wait(), timeout=40) == 0
            stopped = (await store.all())[0]
            assert stopped.status == RUNNING and stopped.lease_owner is None and 0 < stopped.done_count < 24
            assert stopped.done_count == sum(counts.values())
            async with instances(fake_slack, url, tmp_path) as start:
                await start()
                summary = await fake_slack.next_post(response_url, timeout=30)
        assert summary["text"].startswith("Left 24 channels") and "interrupted" in summary["text"]
        assert counts == Counter({c: 1 for c in channels})
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
        await database.close()


async def test_a_crash_between_slacks_answer_and_the_checkpoint_is_settled_not_sent_again(
    fake_slack: FakeSlack, org: Org, tmp_path: Path, app_database_url: str
):
    """A disconnect job of three workspaces; the instance working it dies (SIGKILL) just after Slack acted on the
    second admin call and before the answer was recorded. The other instance takes it over after the lease, reads the
    channel (that workspace is gone), records it as done without calling again, and finishes the third."""
    gamma = fake_slack.add_team("Gamma Group")
    teams = [org.alpha, org.beta, gamma]
    channel = fake_slack.add_shared_channel("partners", connected=teams)
    fake_slack.delays["admin.conversations.disconnectShared"] = 0.3
    calls: list[str] = []
    victim: list[int] = []
    original = fake_slack._m_admin_conversations_disconnectShared

    def acted_then_crashed(params: dict, identity: dict) -> dict:
        calls.append(params["leaving_team_ids"])
        answer = original(params, identity)
        if len(calls) == 2 and victim:
            os.kill(victim[0], signal.SIGKILL)  # Slack has acted; the app never hears the answer
        return answer

    fake_slack._m_admin_conversations_disconnectShared = acted_then_crashed  # type: ignore[method-assign]
    database = Database(app_database_url)
    store = JobStore(database, owner="test")
    try:
        async with instances(fake_slack, app_database_url, tmp_path, SLACK_ADMIN_TOKEN=org.admin_token) as start:
            one, two = await start(), await start()
            response_url = fake_slack.new_response_url()
            await store.create(
                DISCONNECT,
                user_id=org.admin,
                enterprise_id=fake_slack.enterprise_id,
                team_id=fake_slack.team_id,
                response_url=response_url,
                items=[{"id": t, "outcome": None} for t in teams],
                payload={"channel_id": channel},
            )
            job = await the_job(store, lambda j: j.lease_owner is not None)
            owner = next(i for i in (one, two) if f":{i.process.pid}:" in (job.lease_owner or ""))
            victim.append(owner.process.pid)
            assert await asyncio.wait_for(owner.process.wait(), timeout=20) == -signal.SIGKILL
            summary = await fake_slack.next_post(response_url, timeout=30)
            job = await the_job(store, lambda j: j.status == DONE)
            rows = list(reversed(await AuditLog(database).latest(50)))
        assert calls == teams  # every workspace sent once: the one cut off was settled by reading the channel
        assert fake_slack.channels[channel].connected_teams == []
        assert job.attempts == 2 and job.interrupted
        assert [i.get("settled", False) for i in job.items] == [False, True, False]
        assert [(r["event"], r["leaving_team_id"]) for r in rows] == [
            ("confirmed", org.alpha), ("succeeded", org.alpha),
            ("confirmed", org.beta), ("succeeded", org.beta),  # the pending row is settled, never left dangling
            ("confirmed", gamma), ("succeeded", gamma),
        ]  # fmt: skip
        assert summary["text"].startswith(f"Disconnected from <#{channel}>")
        assert "interrupted" in summary["text"] and f"`{org.beta}` had already been disconnected" in summary["text"]
        assert len(fake_slack.posts_to(response_url)) == 1
    finally:
        await database.close()


async def test_a_rejoin_drained_by_sigterm_is_finished_by_the_next_start_and_its_claim_released(
    fake_slack: FakeSlack, tmp_path: Path, app_database_url: str
):
    """A Rejoin press is a job: SIGTERM mid-rejoin releases it (no "already rejoining" for minutes, no summary stuck on
    "Rejoining…"); the next start finishes it; a press meanwhile is told it is running; each channel joined once."""
    fake_slack.rate_limit("conversations.join", 10, 1.0)
    user = fake_slack.add_user(workspace_admin=True)
    channels = [fake_slack.add_channel(f"back{i}", bot_member=False) for i in range(20)]
    joins = fake_slack.acted_on("conversations.join")
    value = inline_value(datetime.now(UTC).replace(microsecond=0), user, channels, frozenset())
    offer = parse_inline(value)
    assert offer is not None
    database = Database(app_database_url)
    store = JobStore(database, owner="test")
    try:
        async with instances(fake_slack, app_database_url, tmp_path) as start:
            first = await start()
            response_url = fake_slack.new_response_url()
            await store.create(
                REJOIN,
                job_id=rejoin_job_id(offer),
                user_id=user,
                team_id=fake_slack.team_id,
                response_url=response_url,
                items=[{"id": c, "outcome": None} for c in channels],
                payload={"value": value, "ephemeral": True, "bot_user_id": fake_slack.bot_user_id},
            )
            running = await fake_slack.next_post(response_url, timeout=20)
            assert "Rejoining 20 channels…" in running["text"]
            await fake_slack.wait_for(lambda: sum(joins.values()) >= 4, timeout=20, what="some channels joined")
            first.process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(first.process.wait(), timeout=20) == 0
            stopped = (await store.all())[0]
            assert stopped.status == RUNNING and stopped.lease_owner is None  # released at shutdown, not held
            second = await start()
            async with aiohttp.ClientSession() as session:  # a second press while it runs: told, not run twice
                sender = SlackSender(second.url, fake_slack, session)
                summary = {"blocks": [{"type": "actions", "block_id": "rejoin", "elements": [
                    {"type": "button", "action_id": "rejoin_channels", "value": value}]}]}  # fmt: skip
                _, press_url = await sender.press_button(summary, "rejoin_channels", user_id=user)
                busy = await fake_slack.next_post(press_url, timeout=20)
            done = await fake_slack.next_post(response_url, timeout=30, count=2)
        assert busy["text"] == REJOIN_BUSY
        assert "I'm back in 20 channels" in done["text"] and done["replace_original"] is True
        assert joins == Counter({c: 1 for c in channels})
        assert len(fake_slack.posts_to(response_url)) == 2  # "Rejoining…", then the one summary
    finally:
        await database.close()
