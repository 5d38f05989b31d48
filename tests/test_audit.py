"""The audit trail: every /disconnect-shared attempt in the audit log (`python -m services.audit.log` prints it) and,
with AUDIT_CHANNEL_ID, posted there as one line; a failed post loses nothing."""

from __future__ import annotations

import asyncio
import logging

import pytest

from services.error_texts import ADMIN_ONLY
from services.settings import Settings
from tests.helpers.app import Org, running_app, settings_for, suite_database
from tests.helpers.disconnect import ADMIN_CALL, audit_rows, confirm_view, disconnect, form_values, open_form
from tests.helpers.fake_slack import FakeSlack, Scripted
from tests.helpers.slack_requests import SlackSender


@pytest.fixture
def audit_channel(fake_slack: FakeSlack) -> str:
    return fake_slack.add_channel("admin-audit")


@pytest.fixture
async def app_settings(fake_slack: FakeSlack, org: Org, audit_channel: str, tmp_path) -> Settings:
    return settings_for(
        fake_slack,
        admin_token=org.admin_token,
        audit_channel_id=audit_channel,
        database_url=await suite_database(tmp_path),
    )


def admin_name(fake: FakeSlack, user_id: str) -> str:
    return fake.users[user_id]["real_name"]


async def lines(fake: FakeSlack, channel: str, count: int) -> list[str]:
    posted = await fake.wait_for(
        lambda: len(fake.messages_to(channel)) >= count and fake.messages_to(channel), what=f"{count} audit lines"
    )
    return [m["text"] for m in posted]


async def test_a_successful_disconnect_is_posted_as_one_line(
    slack: SlackSender, fake_slack: FakeSlack, org: Org, audit_channel: str
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    await disconnect(slack, fake_slack, org, channel, [org.alpha])
    (line,) = await lines(fake_slack, audit_channel, 1)
    assert line == (
        f":white_check_mark: *{admin_name(fake_slack, org.admin)}* (`{org.admin}`) disconnected "
        f"*Alpha Partners* (`{org.alpha}`) from #partners (`{channel}`)."
    )
    assert "\n" not in line and "<@" not in line  # one line, and nobody is pinged
    await slack.built.close()  # lets posts in flight finish
    assert len(fake_slack.messages_to(audit_channel)) == 1  # the "confirmed" entry is not posted


async def test_refused_failed_and_dry_run_attempts_are_posted_too(
    slack: SlackSender, fake_slack: FakeSlack, org: Org, audit_channel: str
) -> None:
    channel = fake_slack.add_shared_channel("vendors", connected=[org.alpha, org.beta])

    _, body = await slack.command("/disconnect-shared", "", channel_id=channel, user_id=org.member)
    assert (await fake_slack.next_post(body["response_url"]))["text"] == ADMIN_ONLY
    fake_slack.fail(ADMIN_CALL, "restricted_action")
    await disconnect(slack, fake_slack, org, channel, [org.alpha])
    view_id, _ = await open_form(slack, fake_slack, org.admin, channel, "--dry-run")
    await slack.submit_view(view_id, form_values(channel, [org.beta], dry_run=True), user_id=org.admin)
    await slack.submit_view((await confirm_view(slack, fake_slack))["id"], {}, user_id=org.admin)

    refused, failed, dry = await lines(fake_slack, audit_channel, 3)
    member = f"*{admin_name(fake_slack, org.member)}* (`{org.member}`)"
    admin = f"*{admin_name(fake_slack, org.admin)}* (`{org.admin}`)"
    assert refused == (
        f":no_entry: {member} was refused disconnecting a workspace from #vendors (`{channel}`): "
        "not an Org Admin or Owner."
    )
    assert failed == (
        f":x: {admin} tried to disconnect *Alpha Partners* (`{org.alpha}`) from #vendors (`{channel}`); "
        "Slack answered `restricted_action`."
    )
    assert dry == (
        f":test_tube: Dry run by {admin}: would disconnect *Beta Vendors* (`{org.beta}`) from #vendors (`{channel}`); "
        "nothing changed."
    )


async def test_a_failing_post_keeps_the_audit_entry_and_is_logged_once(
    fake_slack: FakeSlack, org: Org, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    audit_channel = fake_slack.add_channel("admin-audit", bot_member=False)
    settings = settings_for(
        fake_slack,
        admin_token=org.admin_token,
        audit_channel_id=audit_channel,
        database_url=await suite_database(tmp_path),
    )
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    with caplog.at_level(logging.WARNING, logger="services.audit.feed"):
        async with running_app(fake_slack, settings) as slack:
            outcome = await disconnect(slack, fake_slack, org, channel, [org.alpha])
            assert outcome["text"].startswith("Disconnected from")
            await fake_slack.wait_for(
                lambda: [c for c in fake_slack.calls_to("chat.postMessage") if c["channel"] == audit_channel],
                what="the audit channel post",
            )
            rows = await audit_rows(slack)
    assert [(r["event"], r["outcome"]) for r in rows] == [("confirmed", "pending"), ("succeeded", "ok")]
    assert fake_slack.messages_to(audit_channel) == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "services.audit.feed"]
    assert warnings == [
        f"Couldn't post a /disconnect-shared audit line to the audit channel {audit_channel} (not_in_channel); the "
        "audit log entry is saved. Invite the app to that channel (/invite @Channel Admin)."
    ]


async def test_without_an_audit_channel_nothing_is_posted(fake_slack: FakeSlack, org: Org, tmp_path) -> None:
    settings = settings_for(fake_slack, admin_token=org.admin_token, database_url=await suite_database(tmp_path))
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    async with running_app(fake_slack, settings) as slack:
        await disconnect(slack, fake_slack, org, channel, [org.alpha])
    assert fake_slack.calls_to("chat.postMessage") == []


async def test_a_rate_limited_post_is_retried_not_lost(
    slack: SlackSender, fake_slack: FakeSlack, org: Org, audit_channel: str, caplog: pytest.LogCaptureFixture
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    fake_slack.script(
        "chat.postMessage",
        Scripted(body={"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}),
    )
    with caplog.at_level(logging.WARNING, logger="services.audit.feed"):
        await disconnect(slack, fake_slack, org, channel, [org.alpha])
        (line,) = await lines(fake_slack, audit_channel, 1)
    assert line.startswith(":white_check_mark:")
    assert [r for r in caplog.records if r.name == "services.audit.feed"] == []


async def test_audit_log_records_concurrently_and_the_command_prints(database_url: str, capsys) -> None:
    from services.audit.log import AuditEntry, AuditEvent, AuditLog, main
    from services.storage.database import Database

    url = database_url
    database = Database(url)
    log = AuditLog(database)
    await asyncio.gather(
        *(log.record(AuditEntry(AuditEvent.REFUSED, f"U{i:09d}", "not_admin", channel_id="C1")) for i in range(30))
    )
    assert len(await log.latest(100)) == 30
    await database.close()
    await asyncio.to_thread(main, ["--last", "3", "--database-url", url])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert all("refused" in line and "outcome=not_admin" in line and "UTC" in line for line in lines)
