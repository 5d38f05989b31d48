"""Under a burst, the work after the acks goes in the order the commands came, within bounds (issue 23)."""

from __future__ import annotations

import asyncio

from services.slack.admission import WorkGate
from services.slack.client import COMMANDS_RUNNING, OTHER_CONNECTIONS, commands_running, connection_limit
from services.ui.leave import too_busy_text
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender


async def test_the_gate_lets_commands_in_by_arrival_and_refuses_past_its_bounds() -> None:
    gate = WorkGate(running=2, waiting=2)
    order: list[int] = []
    release = asyncio.Event()
    tickets = [gate.enter() for _ in range(4)]
    assert gate.enter() is None  # two running, two waiting: a fifth is refused at once
    assert all(t is not None for t in tickets)

    async def work(n: int) -> None:
        async with tickets[n]:  # type: ignore[union-attr]
            order.append(n)
            await release.wait()

    tasks = [asyncio.create_task(work(n)) for n in range(4)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert order == [0, 1] and gate.running == 2 and gate.waiting == 2
    release.set()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3] and gate.running == 0 and gate.holders == 0 and gate.peak_running == 2
    assert gate.enter() is not None


async def test_a_waiting_command_cancelled_gives_its_place_up() -> None:
    gate = WorkGate(running=1, waiting=5)
    first, second, third = gate.enter(), gate.enter(), gate.enter()
    async with first:  # type: ignore[union-attr]
        waiting = asyncio.create_task(second.__aenter__())  # type: ignore[union-attr]
        await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        assert gate.holders == 2
    async with third:  # type: ignore[union-attr]
        assert gate.running == 1
    assert gate.holders == 0 and gate.running == 0


def test_connections_stay_above_what_the_commands_can_hold() -> None:
    """A command that has started never waits for a connection: the pool is sized above the commands let in."""
    limit = connection_limit()
    assert commands_running(limit) + 1 <= limit
    assert commands_running(COMMANDS_RUNNING + OTHER_CONNECTIONS) == COMMANDS_RUNNING


async def test_a_burst_is_worked_in_arrival_order_and_past_the_bounds_answered_in_the_ack(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    slack.built.services["work_gate"] = WorkGate(running=1, waiting=1)
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
