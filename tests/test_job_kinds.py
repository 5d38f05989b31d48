"""Disconnect jobs, the dangling-audit sweep, fair slots between jobs and the pace shared through the database (issue 13).

The crash tests of these kinds run real processes in tests/test_jobs.py; these run the app in this process.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from services.audit.log import AuditEntry, AuditEvent
from services.disconnecting.jobs import DISCONNECT, DisconnectJobs
from services.jobs.queue import DONE
from services.settings import Settings
from services.slack.pacing import Pacer
from services.storage.database import Database
from services.storage.pace_rows import PaceRows
from tests.helpers.app import Org, settings_for, suite_database
from tests.helpers.disconnect import ADMIN_CALL, confirm_view, disconnect, form_values, open_form
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender


@pytest.fixture
async def app_settings(fake_slack: FakeSlack, org: Org, tmp_path) -> Settings:
    return settings_for(fake_slack, admin_token=org.admin_token, database_url=await suite_database(tmp_path))


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_disconnect_of_several_workspaces_is_a_job_with_one_summary_and_counted(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    before = {e: counted("channel_admin_jobs_total", kind="disconnect", event=e) for e in ("queued", "finished")}
    items_before = counted("channel_admin_job_items_done_total", kind="disconnect")
    channel = fake_slack.add_shared_channel("vendors", connected=[org.alpha, org.beta])
    outcome = await disconnect(slack, fake_slack, org, channel, [org.alpha, org.beta])
    assert outcome["text"].startswith(f"Disconnected from <#{channel}>")
    assert [c["leaving_team_ids"] for c in fake_slack.calls_to(ADMIN_CALL)] == [org.alpha, org.beta]
    runner = slack.built.jobs
    assert runner is not None
    (job,) = await runner.store.all(kind=DISCONNECT)
    assert job.payload["channel_id"] == channel and [i["id"] for i in job.items] == [org.alpha, org.beta]
    assert "xox" not in str(job.payload) + str(job.items)  # never a token in the row
    assert job.summary_sent_at is not None
    assert counted("channel_admin_jobs_total", kind="disconnect", event="queued") == before["queued"] + 1
    assert counted("channel_admin_jobs_total", kind="disconnect", event="finished") == before["finished"] + 1
    assert counted("channel_admin_job_items_done_total", kind="disconnect") == items_before + 2


async def test_a_disconnect_job_is_refused_when_its_admin_was_demoted_meanwhile(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    """The admin check is repeated when the job runs (or resumes): no admin call for a user who lost the right."""
    channel = fake_slack.add_shared_channel("vendors", connected=[org.alpha, org.beta])
    response_url = fake_slack.new_response_url()
    runner = slack.built.jobs
    assert runner is not None
    await runner.store.create(
        DISCONNECT, user_id=org.member, enterprise_id=fake_slack.enterprise_id, team_id=fake_slack.team_id,
        response_url=response_url, items=[{"id": t, "outcome": None} for t in (org.alpha, org.beta)],
        payload={"channel_id": channel},
    )  # fmt: skip
    runner.wake()
    refusal = await fake_slack.next_post(response_url)
    assert "admin" in refusal["text"].lower()
    assert fake_slack.calls_to(ADMIN_CALL) == []
    rows = await slack.built.audit_log.latest(10)
    assert [(r["event"], r["outcome"]) for r in rows] == [("refused", "not_admin")]


async def test_a_disconnect_job_whose_response_url_expired_replies_by_dm(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("vendors", connected=[org.alpha, org.beta])
    response_url = fake_slack.new_response_url()
    runner = slack.built.jobs
    assert runner is not None
    await runner.store.create(
        DISCONNECT, user_id=org.admin, enterprise_id=fake_slack.enterprise_id, team_id=fake_slack.team_id,
        response_url=response_url, items=[{"id": t, "outcome": None} for t in (org.alpha, org.beta)],
        payload={"channel_id": channel}, created_at=datetime.now(UTC) - timedelta(minutes=31),
    )  # fmt: skip
    runner.wake()
    dm = await fake_slack.wait_for(lambda: fake_slack.messages_to(org.admin), timeout=10, what="a DM")
    assert dm[0]["text"].startswith(f"Disconnected from <#{channel}>")
    assert fake_slack.posts_to(response_url) == []
    assert (await runner.store.all())[0].status == DONE


async def test_a_confirmed_row_that_no_job_will_finish_is_closed_as_outcome_unknown(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    """A process that died between `confirmed … pending` and the result, outside any job (a single workspace), or a job
    given up: the sweep writes `outcome_unknown` and tells the admin to check the channel. A row whose job is still
    to run is left to that job."""
    channel = fake_slack.add_shared_channel("vendors", connected=[org.alpha, org.beta])
    built = slack.built
    old = datetime.now(UTC) - timedelta(minutes=20)
    for team in (org.alpha, org.beta):
        await built.audit_log.record(
            AuditEntry(
                AuditEvent.CONFIRMED,
                org.admin,
                "pending",
                fake_slack.enterprise_id,
                fake_slack.team_id,
                channel,
                team,
                at=old,
            )
        )
    assert built.jobs is not None
    # Not woken: it stands for a job that another instance will resume.
    await built.jobs.store.create(
        DISCONNECT, user_id=org.admin, enterprise_id=fake_slack.enterprise_id, team_id=fake_slack.team_id,
        items=[{"id": org.beta, "outcome": None, "sent": True}], payload={"channel_id": channel},
    )  # fmt: skip
    jobs = built.services["disconnect_jobs"]
    assert isinstance(jobs, DisconnectJobs)
    assert await jobs.sweep() == 1
    rows = [(r["event"], r["leaving_team_id"], r["outcome"]) for r in reversed(await built.audit_log.latest(10))]
    assert rows[-1] == ("failed", org.alpha, "outcome_unknown:interrupted")
    assert ("failed", org.beta, "outcome_unknown:interrupted") not in rows
    (dm,) = fake_slack.messages_to(org.admin)
    assert dm["text"].startswith("Outcome unknown — check the channel") and f"<#{channel}>" in dm["text"]
    assert await jobs.sweep() == 0  # closed once


async def test_a_small_job_waits_a_few_pacing_slots_not_behind_a_big_one() -> None:
    """Round-robin slots: a 2-item job arriving behind a 300-item one is served within a few slots (FIFO: ~300)."""
    pacer = Pacer()
    key = "digest:conversations.leave"
    pacer.rate_limited(key, 0.0)
    pacer._pace(key).interval = 0.002  # a learned pace: every start is a slot
    order: list[str] = []
    asked_at: list[int] = []  # how many calls had been served when each small one asked for its slot
    ten_served = asyncio.Event()

    async def call(lane: str) -> None:
        if lane == "small":
            asked_at.append(len(order))
        async with pacer.slot(key, lane=lane):
            order.append(lane)
            if len(order) >= 10:
                ten_served.set()

    big = [asyncio.ensure_future(call("big")) for _ in range(300)]
    await asyncio.wait_for(ten_served.wait(), 10)
    await asyncio.gather(call("small"), call("small"))
    served = [i for i, lane in enumerate(order) if lane == "small"]
    # First come, first served would put them ~290 calls later; round-robin within a few turns of the four calls in
    # flight (a loaded machine stretches the 2 ms turns, so a margin: seen 4 and 10 under CI's load).
    assert served[-1] - max(asked_at) <= 16, (asked_at, served)
    await asyncio.gather(*big)


@pytest.mark.runs_long
async def test_instances_share_one_pace_through_the_database(database_url: str) -> None:
    """Two instances (two Pacers on one database) together keep the learned interval, instead of each keeping it."""
    database = Database(database_url)
    try:
        await database.engine()
        rows = PaceRows(database)
        key = "digest:conversations.leave"
        await rows.publish(key, interval=0.05, resume_at=0.0, limited_at=time.time())
        one, two = Pacer(shared=rows), Pacer(shared=rows)
        starts: list[float] = []

        async def call(pacer: Pacer, lane: str) -> None:
            async with pacer.slot(key, lane=lane):
                starts.append(time.time())

        began = time.time()
        await asyncio.gather(*(call(p, "job") for p in (one, two) for _ in range(10)))
        took = time.time() - began
        assert one.interval(key) == two.interval(key) == 0  # neither learned it itself: the database told them
        assert took >= 19 * 0.05 * 0.9, took  # 20 calls at one shared pace; alone each would take half that
        gaps = sorted(b - a for a, b in zip(sorted(starts), sorted(starts)[1:], strict=False))
        assert gaps[len(gaps) // 2] >= 0.05 * 0.9, gaps  # the median start-to-start gap is the shared interval
    finally:
        await database.close()


async def test_an_item_sent_before_an_interruption_is_settled_by_slacks_answer_when_still_listed(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    """The channel still lists the workspace (Slack hadn't caught up, or our call never reached it): the call is made
    again, and `leaving_team_not_in_channel` after our own earlier call counts as done, reported as such."""
    channel = fake_slack.add_shared_channel("vendors", connected=[org.alpha, org.beta])
    fake_slack.fail(ADMIN_CALL, "leaving_team_not_in_channel")
    response_url = fake_slack.new_response_url()
    runner = slack.built.jobs
    assert runner is not None
    await runner.store.create(
        DISCONNECT, user_id=org.admin, enterprise_id=fake_slack.enterprise_id, team_id=fake_slack.team_id,
        response_url=response_url, payload={"channel_id": channel},
        items=[{"id": org.alpha, "outcome": None, "sent": True}, {"id": org.beta, "outcome": None}],
    )  # fmt: skip
    runner.wake()
    summary = await fake_slack.next_post(response_url)
    assert [c["leaving_team_ids"] for c in fake_slack.calls_to(ADMIN_CALL)] == [org.alpha, org.beta]
    (job,) = await runner.store.all()
    assert [(i["outcome"], i.get("settled", False)) for i in job.items] == [("ok", True), ("ok", False)]
    assert summary["text"].startswith(f"Disconnected from <#{channel}>")
    rows = [(r["event"], r["leaving_team_id"], r["outcome"]) for r in reversed(await slack.built.audit_log.latest(10))]
    # The first workspace's `confirmed … pending` was written before the interruption: only its result now.
    assert rows == [
        ("succeeded", org.alpha, "ok_after:leaving_team_not_in_channel"),
        ("confirmed", org.beta, "pending"),
        ("succeeded", org.beta, "ok"),
    ]


async def test_a_disconnect_job_that_fails_for_good_tells_the_admin_once_what_was_done(
    slack: SlackSender, fake_slack: FakeSlack, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error that isn't the database's, every attempt, at the second workspace: the job ends FAILED after its
    attempts; the admin hears once (1 done, 2 not done, the one that may have gone out named); every unfinished
    workspace is audited, which leaves the sweep nothing to tell again."""
    from services.disconnecting import workflow
    from services.jobs.queue import FAILED, MAX_ATTEMPTS

    gamma = fake_slack.add_team("Gamma Supplies")
    channel = fake_slack.add_shared_channel("vendors", connected=[org.alpha, org.beta, gamma])
    real_disconnect = workflow.disconnect_team

    async def not_beta(admin_client, client, channel_id, team_id, *args):
        if team_id == org.beta:
            raise RuntimeError("a bug")
        return await real_disconnect(admin_client, client, channel_id, team_id, *args)

    monkeypatch.setattr(workflow, "disconnect_team", not_beta)
    view_id, body = await open_form(slack, fake_slack, org.admin, channel)
    reply = await slack.submit_view(view_id, form_values(channel, [org.alpha, org.beta, gamma]), user_id=org.admin)
    assert reply.json()["response_action"] == "push"
    confirm = await confirm_view(slack, fake_slack)
    assert (await slack.submit_view(confirm["id"], {}, user_id=org.admin)).json() == {"response_action": "clear"}
    told = await fake_slack.next_post(body["response_url"], timeout=30)
    runner = slack.built.jobs
    assert runner is not None
    (job,) = await runner.store.all(kind=DISCONNECT)
    assert job.status == FAILED and job.attempts == MAX_ATTEMPTS
    text = told["text"]
    assert text.startswith("I couldn't finish disconnecting the workspaces you asked for")
    assert "stopped for good" in text and "of 3 workspaces: 1 done, 0 failed, 2 not done" in text
    assert f"I may have disconnected `{org.beta}`" in text and f"<#{channel}>" in text
    assert [c["leaving_team_ids"] for c in fake_slack.calls_to(ADMIN_CALL)] == [org.alpha]
    assert fake_slack.channels[channel].connected_teams == [org.beta, gamma]
    rows = [(r["event"], r["leaving_team_id"], r["outcome"]) for r in await slack.built.audit_log.latest(100)]
    assert ("failed", org.beta, "outcome_unknown:given_up") in rows and ("failed", gamma, "given_up") in rows
    jobs = slack.built.services["disconnect_jobs"]
    assert isinstance(jobs, DisconnectJobs)
    jobs.dangling_after = timedelta(0)
    assert await jobs.sweep() == 0  # nothing left pending: no second message
    assert len(fake_slack.posts_to(body["response_url"])) == 1 and fake_slack.messages_to(org.admin) == []
