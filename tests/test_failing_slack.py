"""When Slack (or the app) misbehaves, the user still gets an answer that says what happened."""

from __future__ import annotations

import asyncio

import pytest

from listeners.errors import UNEXPECTED
from services.error_texts import COMMON_ERRORS
from services.settings import Settings
from services.slack.client import DEFAULT_BACKOFF_SECONDS, backoff
from services.slack.pacing import Pacer
from tests.helpers.app import settings_for
from tests.helpers.fake_slack import FakeSlack, Scripted
from tests.helpers.slack_requests import SlackSender


@pytest.fixture
def app_settings(fake_slack: FakeSlack) -> Settings:
    # slack_sdk's backoff, as in production (other tests shorten it: SLACK_RETRY_BACKOFF_SECONDS).
    return settings_for(fake_slack, api_timeout=0.5, retry_backoff_seconds=DEFAULT_BACKOFF_SECONDS)


def sentence(code: str, channel: str) -> str:
    return COMMON_ERRORS[code].format(action=f"leave <#{channel}>") + f" (`{code}`)"


async def test_non_json_answer(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("t")
    fake_slack.script("conversations.leave", Scripted(text="<html>oops</html>"))
    _, body = await slack.command("/leave-channel", "", channel_id=channel)
    assert (await fake_slack.next_post(body["response_url"]))["text"] == sentence("unexpected_response", channel)


async def test_connection_reset_is_retried(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("t")
    fake_slack.script("conversations.leave", Scripted(reset=True))
    _, body = await slack.command("/leave-channel", "", channel_id=channel)
    assert (await fake_slack.next_post(body["response_url"], timeout=10))["text"] == f"I left <#{channel}>."
    assert len(fake_slack.calls_to("conversations.leave")) == 2


async def test_a_hang_past_the_client_timeout(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("t")
    fake_slack.script("conversations.leave", Scripted(body={"ok": True}, delay=2.0))
    reply, body = await slack.command("/leave-channel", "", channel_id=channel)
    assert reply.elapsed < 0.5
    assert (await fake_slack.next_post(body["response_url"], timeout=10))["text"] == sentence("slack_timeout", channel)


@pytest.mark.runs_long
async def test_500s_beyond_the_retries(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("t")
    fake_slack.script("conversations.leave", *[Scripted(status=500, text="down") for _ in range(3)])
    _, body = await slack.command("/leave-channel", "", channel_id=channel)
    post = await fake_slack.next_post(body["response_url"], timeout=15)
    assert post["text"] == sentence("slack_server_error", channel)
    assert len(fake_slack.calls_to("conversations.leave")) == 3
    first, second = fake_slack.gaps_between_calls_to("conversations.leave")
    assert first >= 0.5 and second >= 1.0  # slack_sdk's backoff: 0.5 s, then 1 s, each plus up to 1 s of jitter


def test_the_default_backoff_is_slack_sdks() -> None:
    """slack_sdk's BackoffRetryIntervalCalculator with its RandomJitter: 0.5 s then 1 s, each plus [0, 1) s."""
    calculator = backoff()
    waits = [[calculator.calculate_sleep_duration(attempt) for _ in range(500)] for attempt in (0, 1)]
    assert all(0.5 <= w < 1.5 for w in waits[0]) and all(1.0 <= w < 2.0 for w in waits[1])
    assert max(waits[0]) - min(waits[0]) > 0.5  # jittered, not fixed
    assert all(0.02 <= w < 0.06 for w in (backoff(0.02).calculate_sleep_duration(0) for _ in range(500)))


async def test_429_with_an_empty_body_and_no_retry_after(slack: SlackSender, fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("t")
    fake_slack.script("conversations.leave", Scripted(status=429, text=""))
    _, body = await slack.command("/leave-channel", "", channel_id=channel)
    assert (await fake_slack.next_post(body["response_url"], timeout=10))["text"] == f"I left <#{channel}>."


async def test_an_unexpected_error_in_the_app_still_answers(
    slack: SlackSender, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args, **_kwargs):
        raise RuntimeError("injected fault")

    monkeypatch.setattr("services.leaving.one_channel.leave_channels", broken)
    reply, body = await slack.command("/leave-channel", "", channel_id=fake_slack.add_channel("t"))
    assert reply.status == 200
    assert reply.elapsed < 1.0
    assert (await fake_slack.next_post(body["response_url"]))["text"] == UNEXPECTED


async def test_pacer_learns_the_accepted_rate_from_a_429_burst() -> None:
    now = [100.0]
    pacer = Pacer(clock=lambda: now[0])
    for _ in range(20):  # 20 answers accepted, then 4 calls in flight come back 429
        await pacer.wait_turn("k")
        pacer.answered("k", limited=False)
    for _ in range(4):
        pacer.answered("k", limited=True)
        pacer.rate_limited("k", retry_after=1.0)
    now[0] += 1.1  # the pause is over
    await pacer.wait_turn("k")
    learned = pacer.interval("k")
    assert learned == pytest.approx((1 * 1.0 + 0.01) / 20)  # a window (and a little) for the 20 accepted
    pacer.rate_limited("k", retry_after=1.0)  # almost nothing accepted in the window: no rate to learn, pace stays
    now[0] += 1.1
    await pacer.wait_turn("k")
    assert pacer.interval("k") == learned
    for _ in range(12):  # Slack now accepts fewer than our pace: slower to match, never faster
        now[0] += learned
        await pacer.wait_turn("k")
        pacer.answered("k", limited=False)
    pacer.rate_limited("k", retry_after=1.0)
    now[0] += 1.1
    await pacer.wait_turn("k")
    assert pacer.interval("k") > learned
    now[0] += 61  # a quiet minute forgets it
    await pacer.wait_turn("k")
    assert pacer.interval("k") == 0


async def test_pacer_keeps_what_it_learned_from_a_whole_minute_retry_after() -> None:
    """20 a minute, Retry-After: 60 (a whole window): the pace is learned when the pause ends and kept after it."""
    now = [100.0]
    pacer = Pacer(clock=lambda: now[0])
    for _ in range(20):
        await pacer.wait_turn("k")
        pacer.answered("k", limited=False)
    pacer.rate_limited("k", retry_after=60.0)
    now[0] += 60.1
    await pacer.wait_turn("k", admit=False)  # the pause is over: learnt
    assert pacer.interval("k") == pytest.approx((60 * 1.0 + 0.01) / 20)
    now[0] += 3.2  # past the window (60 s and a little) since the 20 answers
    await pacer.wait_turn("k")
    assert pacer.interval("k") == pytest.approx((60 * 1.0 + 0.01) / 20)


async def test_once_learnt_a_windows_calls_go_at_once_and_the_next_waits_for_the_window() -> None:
    """20 a second accepted: the next 20 go together once the window has moved (Slack's burst), not 50 ms apart; the
    21st waits until the oldest answer is a window (and a little) old."""
    now = [100.0]
    pacer = Pacer(clock=lambda: now[0])
    for _ in range(20):
        await pacer.wait_turn("k")
        pacer.answered("k", limited=False)
    pacer.rate_limited("k", retry_after=1.0)
    now[0] += 1.1

    async def next_window() -> None:
        for _ in range(20):  # no wait between them (a fake clock that doesn't move: any sleep would never end)
            await pacer.wait_turn("k")
            pacer.answered("k", limited=False)

    await asyncio.wait_for(next_window(), timeout=5)  # a wrong wait fails here instead of hanging the suite
    late = asyncio.create_task(pacer.wait_turn("k"))
    await asyncio.sleep(0)
    assert not late.done()  # 20 answers within the window's stretch
    now[0] += 1.1
    await asyncio.wait_for(late, timeout=5)
