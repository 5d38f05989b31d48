"""Under a burst, the work after the acks goes in the order the commands came, within bounds (issue 23)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
import pytest

from services.slack.admission import START_AT_ONCE, WorkGate
from services.slack.client import COMMANDS_RUNNING, OTHER_CONNECTIONS, commands_running, connection_limit
from services.ui.leave import restarted_text, stopping_text, too_busy_text
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import instances
from tests.helpers.slack_requests import SlackSender


async def test_the_gate_runs_commands_in_arrival_order_and_refuses_past_its_bounds() -> None:
    order: list[int] = []
    release = asyncio.Event()

    async def run(n: int) -> None:
        order.append(n)
        await release.wait()

    gate = WorkGate(running=2, waiting=2, run=run, running_while_arriving=2)
    assert all([gate.submit(n) for n in range(4)])
    assert not gate.submit(4)  # two running, two waiting: a fifth is refused at once, and not kept
    await asyncio.sleep(0)
    assert order == [0, 1] and gate.running == 2 and gate.waiting == 2
    release.set()
    await settled(gate)
    assert order == [0, 1, 2, 3] and gate.running == 0 and gate.holders == 0 and gate.peak_running == 2
    assert gate.submit(5)


async def settled(gate: WorkGate, timeout: float = 5.0) -> None:
    """A bounded poll until nothing is running or waiting."""
    deadline = asyncio.get_running_loop().time() + timeout
    while gate.holders:
        assert asyncio.get_running_loop().time() < deadline, f"still {gate.holders} in the gate"
        await asyncio.sleep(0.01)


async def test_while_commands_arrive_the_work_runs_at_two_thirds_then_at_its_whole_share() -> None:
    """Acks first: during arrivals only `running_while_arriving` run; once they pause, the rest start at once."""
    release = asyncio.Event()
    started: list[int] = []

    async def run(n: int) -> None:
        started.append(n)
        await release.wait()

    gate = WorkGate(running=6, waiting=10, run=run)
    assert gate.arriving_limit == 4
    for n in range(6):
        assert gate.submit(n)
    await asyncio.sleep(0)
    assert started == [0, 1, 2, 3] and gate.waiting == 2  # arriving: two thirds of the share
    deadline = asyncio.get_running_loop().time() + 5
    while len(started) < 6:  # the arrivals paused: the whole share, in arrival order
        assert asyncio.get_running_loop().time() < deadline, started
        await asyncio.sleep(0.01)
    assert started == [0, 1, 2, 3, 4, 5] and gate.waiting == 0
    release.set()
    await settled(gate)


async def test_once_arrivals_pause_the_waiting_start_a_hundred_a_loop_turn() -> None:
    """Starting thousands in one callback would hold the loop (and any ack arriving then): 100 a turn."""
    release = asyncio.Event()
    started: list[int] = []

    async def run(n: int) -> None:
        started.append(n)
        await release.wait()

    gate = WorkGate(running=300, waiting=1000, run=run, running_while_arriving=1)
    for n in range(300):
        assert gate.submit(n)
    await asyncio.sleep(0)
    assert started == [0]
    deadline = asyncio.get_running_loop().time() + 5
    while gate.running == 1:  # one loop turn at a time until the pause is noticed
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0)
    assert gate.running == 1 + START_AT_ONCE and gate.waiting == 299 - START_AT_ONCE
    while gate.waiting:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert started == list(range(300))
    release.set()
    await settled(gate)


async def test_a_failing_command_gives_its_place_up_and_is_logged(caplog) -> None:
    done = asyncio.Event()

    async def run(n: int) -> None:
        if n == 0:
            raise RuntimeError("boom")
        done.set()

    gate = WorkGate(running=1, waiting=5, run=run, running_while_arriving=1)
    assert gate.submit(0) and gate.submit(1)
    await asyncio.wait_for(done.wait(), timeout=5)
    await settled(gate)
    assert "Unexpected error in a command's work after its ack" in caplog.text


async def test_a_shutdown_finishes_what_it_can_and_tells_the_rest_once() -> None:
    """Drain: nothing more is taken, the running and waiting go on for the grace period, then each command not
    finished (stopped mid-work or never started) is told so exactly once, and the finished ones are not."""
    told: list[str] = []
    finished: list[str] = []
    quick_done = asyncio.Event()

    async def run(name: str) -> None:
        if name == "stuck":
            await asyncio.Event().wait()  # never finishes: the grace runs out on it
        finished.append(name)
        quick_done.set()

    async def dropped(name: str) -> None:
        told.append(name)

    gate = WorkGate(running=1, waiting=5, run=run, dropped=dropped, running_while_arriving=1)
    assert gate.submit("quick")
    await quick_done.wait()
    assert gate.submit("stuck") and gate.submit("never started")
    draining = asyncio.create_task(gate.drain(0.4))
    await asyncio.sleep(0)
    assert not gate.submit("late")  # refused once draining: the ack says nothing was done
    await asyncio.wait_for(draining, timeout=5)
    assert finished == ["quick"]
    assert sorted(told) == ["never started", "stuck"]
    assert gate.holders == 0


async def test_a_shutdown_tells_the_stopped_first_then_the_waiting_a_few_at_a_time() -> None:
    """The notices go out in arrival order (the stopped ones came first, and may have left their channel already),
    a bounded number at once: 5,000 notices started together finished none in 2 s (each waits behind the others'
    first steps), 200 at a time finished them all."""
    in_flight = 0
    most = 0
    told: list[int] = []

    async def run(n: int) -> None:
        await asyncio.Event().wait()  # never finishes: stopped at the end of the grace

    async def dropped(n: int) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.001)
        told.append(n)
        in_flight -= 1

    gate = WorkGate(running=3, waiting=20, run=run, dropped=dropped, running_while_arriving=3, notices_at_once=4)
    assert all(gate.submit(n) for n in range(23))
    await asyncio.sleep(0)
    await asyncio.wait_for(gate.drain(0.4), timeout=5)
    assert told == list(range(23))  # each once, in the order the commands came
    assert most == 4


async def test_a_shutdown_ends_within_its_grace_even_if_the_notices_hang(caplog) -> None:
    async def run(n: int) -> None:
        await asyncio.Event().wait()

    async def dropped(n: int) -> None:
        await asyncio.Event().wait()  # Slack never answers the response URL

    gate = WorkGate(running=2, waiting=5, run=run, dropped=dropped, running_while_arriving=2)
    assert all(gate.submit(n) for n in range(7))
    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(gate.drain(0.4), timeout=5)
    assert asyncio.get_running_loop().time() - started < 0.6
    assert "7 command(s) not finished: 0 told so, 7 not within the grace period" in caplog.text


async def test_a_second_drain_tells_nobody_twice() -> None:
    told: list[int] = []

    async def run(n: int) -> None:
        await asyncio.Event().wait()

    async def dropped(n: int) -> None:
        told.append(n)

    gate = WorkGate(running=2, waiting=5, run=run, dropped=dropped, running_while_arriving=2)
    assert all(gate.submit(n) for n in range(4))
    await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(gate.drain(0.4), gate.drain(0.4)), timeout=5)
    await asyncio.wait_for(gate.drain(0.4), timeout=5)  # and once it is over
    assert sorted(told) == [0, 1, 2, 3]


def test_connections_stay_above_what_the_commands_can_hold() -> None:
    """A command that has started never waits for a connection: the pool is sized above the commands let in."""
    limit = connection_limit()
    assert commands_running(limit) + 1 <= limit
    assert commands_running(COMMANDS_RUNNING + OTHER_CONNECTIONS) == COMMANDS_RUNNING


async def test_a_burst_is_worked_in_arrival_order_and_past_the_bounds_answered_in_the_ack(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    leaves = slack.built.services["one_channel_leaves"]
    leaves.gate = WorkGate(running=1, waiting=1, run=leaves.gate._run, dropped=leaves.gate._dropped)
    fake_slack.delays["users.info"] = 1.0
    channels = [fake_slack.add_channel(f"c{i}") for i in range(3)]
    acks = []
    for channel in channels:  # one after another: each acked before the next is sent
        acks.append(await slack.command("/leave-channel", "", channel_id=channel))
    (_, first), (_, second), (busy, third) = acks
    assert busy.json() == {"text": too_busy_text(), "response_type": "ephemeral"}
    assert all(a.elapsed < 0.9 for a, _ in acks)  # nobody's ack waited for the work (1 s a users.info)
    await fake_slack.next_post(second["response_url"], timeout=10)
    first_done = fake_slack.posts_to(first["response_url"])
    assert [p["text"] for p in first_done] == [f"I left <#{channels[0]}>."]
    # The second command started after the first finished (one at a time), and the third was never worked.
    assert [c["channel"] for c in fake_slack.calls_to("conversations.leave")] == channels[:2]
    assert fake_slack.is_member(channels[2]) and fake_slack.posts_to(third["response_url"]) == []
    _, again = await slack.command("/leave-channel", "", channel_id=channels[2])  # room again
    assert (await fake_slack.next_post(again["response_url"], timeout=10))["text"] == f"I left <#{channels[2]}>."


@pytest.mark.runs_long
async def test_a_shutdown_tells_each_unfinished_command_once_and_exits_0(
    fake_slack: FakeSlack, tmp_path: Path, app_database_url: str
) -> None:
    """SIGTERM with one-channel leaves still working (users.info hangs): the process stops within the grace period,
    and each person hears, once, that the leave didn't finish, instead of nothing at all."""
    fake_slack.delays["users.info"] = 60.0
    channels = [fake_slack.add_channel(f"stuck{i}") for i in range(3)]
    async with (
        instances(fake_slack, app_database_url, tmp_path, SHUTDOWN_GRACE_SECONDS="2") as start,
        aiohttp.ClientSession() as session,
    ):
        instance = await start()
        sender = SlackSender(instance.url, fake_slack, session)
        bodies = []
        for channel in channels:
            ack, body = await sender.command("/leave-channel", "", channel_id=channel)
            assert ack.status == 200 and ack.text == ""
            bodies.append(body)
        await fake_slack.wait_for(
            lambda: len(fake_slack.calls_to("users.info")) >= 3, timeout=10, what="every command's check started"
        )
        stopping = asyncio.get_running_loop().time()
        instance.process.send_signal(signal.SIGTERM)
        await fake_slack.wait_for(lambda: "draining" in instance.log.read_text(), timeout=5, what="the drain")
        late, _ = await sender.command("/leave-channel", "", channel_id=fake_slack.add_channel("late"))
        assert late.json() == {"text": stopping_text(), "response_type": "ephemeral"}  # during the drain: refused
        assert await asyncio.wait_for(instance.process.wait(), timeout=15) == 0
        took = asyncio.get_running_loop().time() - stopping
    assert took < 6  # within the grace period (2 s) and the server's own stop
    for channel, body in zip(channels, bodies, strict=True):
        posts = fake_slack.posts_to(body["response_url"])
        assert [p["text"] for p in posts] == [restarted_text(channel)]
        assert fake_slack.is_member(channel)
    assert fake_slack.calls_to("conversations.leave") == []
    assert "not finished: each was told so" in instance.log.read_text()
