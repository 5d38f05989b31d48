"""Every /disconnect-shared attempt leaves a trace without flooding the audit log: attempts past a person's limit
(6 a minute) as one row per person a minute with their count, and a command naming more than 20 parties as one row;
neither calls Slack."""

from __future__ import annotations

import asyncio

import pytest

from services.disconnecting.attempts import ATTEMPTS_PER_MINUTE
from services.disconnecting.shared_channels import MAX_PARTIES_PER_RUN
from services.error_texts import TOO_MANY_ATTEMPTS
from services.settings import Settings
from services.ui.disconnect import TOO_MANY
from tests.helpers.app import Org, settings_for, suite_database
from tests.helpers.disconnect import audit_rows, audit_rows_once, end_the_minute
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender
from tests.helpers.tasks import busy_tasks, settled

COMMAND = "/disconnect-shared"


@pytest.fixture
async def app_settings(fake_slack: FakeSlack, org: Org, tmp_path) -> Settings:
    return settings_for(fake_slack, admin_token=org.admin_token, database_url=await suite_database(tmp_path))


def outcomes(rows: list[dict]) -> list[tuple[str, str, str]]:
    """Sorted: a minute's row is dated at its first refusal, which can come before the rows of attempts let through
    (those are written once their admin check answers)."""
    return sorted((r["user_id"], r["event"], r["outcome"]) for r in rows)


async def test_a_flood_past_the_limit_is_one_row_per_person_a_minute_with_its_count(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    idle = busy_tasks()
    for _ in range(ATTEMPTS_PER_MINUTE + 14):
        reply, _ = await slack.command(COMMAND, "", channel_id=channel, user_id=org.member)
    assert reply.json()["text"] == TOO_MANY_ATTEMPTS.format(count=ATTEMPTS_PER_MINUTE)
    for _ in range(3):  # someone else isn't slowed, and has no row of the member's
        await slack.command(COMMAND, "", channel_id=channel, user_id=org.admin)
    await settled(fake_slack, idle)
    assert len(await audit_rows(slack)) == ATTEMPTS_PER_MINUTE  # no row per refused attempt: the minute isn't over
    end_the_minute(slack)
    rows = await audit_rows_once(slack, ATTEMPTS_PER_MINUTE + 1)
    assert outcomes(rows) == [(org.member, "refused", "not_admin")] * ATTEMPTS_PER_MINUTE + [
        (org.member, "refused", "too_many_attempts:14")
    ]
    (minute,) = [r for r in rows if r["outcome"].startswith("too_many_attempts")]
    assert minute["enterprise_id"] == fake_slack.enterprise_id and minute["channel_id"] is None
    # The flood goes on after the minute's row: the next minute has its own.
    for _ in range(5):
        await slack.command(COMMAND, f"all {org.alpha}", channel_id=channel, user_id=org.member)
    await settled(fake_slack, idle)
    end_the_minute(slack)
    rows = await audit_rows_once(slack, ATTEMPTS_PER_MINUTE + 2)
    assert (org.member, "refused", "too_many_attempts:5") in outcomes(rows)
    assert len(fake_slack.calls_to("views.open")) == ATTEMPTS_PER_MINUTE + 3  # only attempts let through reach Slack
    home_line = await home_text(slack, fake_slack, org)
    assert "5 more attempts within a minute, past 6 a minute" in home_line
    # The minute ends by itself too: its timer writes the row (one refusal: nothing a slow machine could split).
    slack.built.attempts.report_after = 0.05
    await slack.command(COMMAND, "", channel_id=channel, user_id=org.member)
    rows = await audit_rows_once(slack, ATTEMPTS_PER_MINUTE + 3)
    assert (org.member, "refused", "too_many_attempts:1") in outcomes(rows)


async def home_text(slack: SlackSender, fake: FakeSlack, org: Org) -> str:
    await slack.home_opened(org.admin)
    home = await fake.wait_for(lambda: fake.home_of(org.admin), what="the Home tab")
    return str(home["blocks"])


async def test_refusals_not_recorded_yet_are_recorded_when_the_app_stops(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    idle = busy_tasks()
    for _ in range(ATTEMPTS_PER_MINUTE + 2):
        await slack.command(COMMAND, "", channel_id=channel, user_id=org.member)
    await settled(fake_slack, idle)
    assert len(await audit_rows_once(slack, ATTEMPTS_PER_MINUTE)) == ATTEMPTS_PER_MINUTE  # the minute isn't over
    await slack.built.attempts.close()  # BuiltApp.close does this first
    assert (org.member, "refused", "too_many_attempts:2") in outcomes(await audit_rows(slack))


async def test_naming_more_than_20_parties_is_one_row_and_a_flood_of_them_one_row_a_minute(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    ids = " ".join(f"T{i:09d}" for i in range(MAX_PARTIES_PER_RUN + 1))
    idle = busy_tasks()
    reply, _ = await slack.command(COMMAND, f"<#{channel}> {ids}", channel_id=channel, user_id=org.admin)
    assert reply.json()["text"].startswith(TOO_MANY)
    await settled(fake_slack, idle)
    rows = await audit_rows_once(slack, 1)
    assert [(r["event"], r["outcome"], r["channel_id"]) for r in rows] == [("refused", "too_many_parties:21", channel)]
    for _ in range(30):
        await slack.command(COMMAND, f"<#{channel}> {ids}", channel_id=channel, user_id=org.admin)
    await settled(fake_slack, idle)
    end_the_minute(slack)
    rows = await audit_rows_once(slack, ATTEMPTS_PER_MINUTE + 1)
    assert (
        outcomes(rows)
        == [(org.admin, "refused", "too_many_attempts:25")]
        + [(org.admin, "refused", "too_many_parties:21")] * ATTEMPTS_PER_MINUTE
    )
    assert fake_slack.views == {} and fake_slack.calls_to("team.info") == []


def test_the_audit_channel_line_of_a_minutes_refusals() -> None:
    from services.ui.audit import audit_channel_line

    line = audit_channel_line("refused", "too_many_attempts:14", "*Sam* (`U1`)", "no channel", None, False)
    assert line == ":no_entry: *Sam* (`U1`) was refused 14 more attempts within a minute, past 6 a minute."


async def test_a_refusal_noted_while_the_app_stops_is_recorded_not_left_to_a_timer() -> None:
    """A request still in flight when BuiltApp.close has recorded the counts: its refusal is written at once (a
    minute's timer would never fire on a loop that is ending)."""
    from services.audit.log import AuditEntry
    from services.disconnecting.attempts import AttemptLimiter

    written: list[AuditEntry] = []

    async def record(_client: object, entry: AuditEntry) -> None:
        written.append(entry)

    limiter = AttemptLimiter(per_minute=1, record=record)
    await limiter.close()
    limiter.refused(None, "U1", "E1", "T1")  # type: ignore[arg-type]
    await asyncio.gather(*limiter._writing)  # nothing calls close again: the row is already on its way
    assert [(e.user_id, e.outcome) for e in written] == [("U1", "too_many_attempts:1")]
