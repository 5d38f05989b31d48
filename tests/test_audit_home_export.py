"""The Home tab's "Export as CSV" (issue 22): the audit log of the admin's own org arrives in their DM as a file
(files.uploadV2), bounded and audited; anyone else is refused, told why, and the refusal is audited too."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import pytest

from services.audit.home_export import EXPORT_DAYS
from services.audit.log import AUDIT_EXPORT_ACTION, AuditEntry, AuditEvent
from services.disconnecting.attempts import ATTEMPTS_PER_MINUTE, OVER_LIMIT_OUTCOME
from services.ui.audit import EXPORT_CHECK_FAILED, EXPORT_REFUSED, EXPORT_TOO_SOON
from services.ui.home import EXPORT_ACTION
from tests.helpers.app import Org
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender


@pytest.fixture
def settings_overrides(org: Org) -> dict[str, Any]:
    return {"admin_token": org.admin_token}


async def admin_home_with_entries(slack: SlackSender, fake: FakeSlack, org: Org) -> str:
    channel = fake.add_shared_channel("partners", connected=[org.alpha])
    log = slack.built.audit_log
    await log.record(
        AuditEntry(AuditEvent.SUCCEEDED, org.admin, "ok", fake.enterprise_id, fake.team_id, channel, org.alpha)
    )
    await log.record(AuditEntry(AuditEvent.FAILED, org.admin, "restricted_action", fake.enterprise_id, None, channel))
    await log.record(AuditEntry(AuditEvent.SUCCEEDED, "U0STRANGER", "ok", "E0OTHERORG", "T0OTHER", "C0THEIRS"))
    await slack.home_opened(org.admin)
    await fake.wait_for(lambda: fake.home_of(org.admin), what="the admin's Home tab")
    return channel


def dm_texts(fake: FakeSlack, user: str) -> list[str]:
    return [c["text"] for c in fake.calls_to("chat.postMessage") if c.get("channel") == user]


async def last_audit_row(slack: SlackSender, action: str) -> dict:
    """The newest audit entry, once it is one of `action` (written after the reply it follows)."""
    for _ in range(500):
        (row,) = await slack.built.audit_log.latest(1)
        if row["action"] == action:
            return row
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {action} audit entry")


async def test_an_admin_gets_their_orgs_audit_log_as_a_file_in_their_dm(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = await admin_home_with_entries(slack, fake_slack, org)
    reply = await slack.home_button(org.admin, EXPORT_ACTION)
    assert reply.status == 200
    (shared,) = await fake_slack.wait_for(lambda: fake_slack.files_to(org.admin), what="the export file")
    assert shared.name.startswith(f"audit-log-{fake_slack.enterprise_id}-") and shared.name.endswith(".csv")
    assert shared.initial_comment == (
        f"The audit log of this org for the last {EXPORT_DAYS} days: 2 entries, newest first (times in UTC)."
    )
    rows = list(csv.DictReader(io.StringIO(shared.text)))
    assert [(r["event"], r["outcome"], r["channel_id"]) for r in rows] == [
        ("failed", "restricted_action", channel),
        ("succeeded", "ok", channel),
    ]  # their own org only: the other org's entry is not in it
    assert "E0OTHERORG" not in shared.text
    r = await last_audit_row(slack, AUDIT_EXPORT_ACTION)
    assert (r["event"], r["user_id"], r["enterprise_id"], r["outcome"]) == (
        "exported", org.admin, fake_slack.enterprise_id, f"rows=2 days={EXPORT_DAYS}",
    )  # fmt: skip

    await slack.home_button(org.admin, EXPORT_ACTION)  # again at once: bounded to one a minute
    await fake_slack.wait_for(lambda: EXPORT_TOO_SOON in dm_texts(fake_slack, org.admin), what="the refusal")
    assert len(fake_slack.files_to(org.admin)) == 1


async def test_anyone_else_is_refused_told_why_and_the_attempt_is_audited(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    await admin_home_with_entries(slack, fake_slack, org)
    # A member pressing the button (a stale view from when they were an admin, or a forged press): checked afresh.
    fake_slack.home_view_ids[org.member] = fake_slack.home_view_ids[org.admin]
    reply = await slack.home_button(org.member, EXPORT_ACTION)
    assert reply.status == 200
    await fake_slack.wait_for(lambda: dm_texts(fake_slack, org.member), what="the refusal")
    assert dm_texts(fake_slack, org.member) == [EXPORT_REFUSED]
    assert fake_slack.files == [] and fake_slack.calls_to("files.getUploadURLExternal") == []
    refusal = await last_audit_row(slack, AUDIT_EXPORT_ACTION)
    assert (refusal["event"], refusal["user_id"], refusal["outcome"]) == ("refused", org.member, "not_admin")


async def test_an_admin_check_that_fails_exports_nothing_and_says_why(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    await admin_home_with_entries(slack, fake_slack, org)
    fake_slack.fail("users.info", "fatal_error")
    await slack.home_button(org.admin, EXPORT_ACTION)
    await fake_slack.wait_for(lambda: dm_texts(fake_slack, org.admin), what="the answer")
    assert dm_texts(fake_slack, org.admin) == [EXPORT_CHECK_FAILED.format(error="fatal_error")]
    assert fake_slack.files == []
    refusal = await last_audit_row(slack, AUDIT_EXPORT_ACTION)
    assert (refusal["event"], refusal["outcome"]) == ("refused", "admin_check_failed:fatal_error")


async def test_no_button_without_entries_and_for_members(slack: SlackSender, fake_slack: FakeSlack, org: Org) -> None:
    from tests.helpers.slack_requests import buttons_in

    await slack.home_opened(org.member)
    view = await fake_slack.wait_for(lambda: fake_slack.home_of(org.member), what="the member's Home tab")
    assert EXPORT_ACTION not in [b["action_id"] for b in buttons_in(view["blocks"])]


async def test_a_member_mashing_the_button_costs_six_checks_a_minute_then_nothing(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    # Each refused press was a users.info call, a DM and an audit row: a member's loop (or a scripted client) spent the
    # workspace's rate limits and buried the org's audit log. Past six a minute a press now costs no call at all, and
    # the presses past the limit are one audit row when the minute ends (as /disconnect-shared's attempts are).
    await admin_home_with_entries(slack, fake_slack, org)
    fake_slack.home_view_ids[org.member] = fake_slack.home_view_ids[org.admin]
    before = len(fake_slack.calls_to("users.info"))
    for _ in range(ATTEMPTS_PER_MINUTE + 4):
        assert (await slack.home_button(org.member, EXPORT_ACTION)).status == 200
    await fake_slack.wait_for(lambda: len(dm_texts(fake_slack, org.member)) >= ATTEMPTS_PER_MINUTE, what="the refusals")
    exports = slack.built.services["home_exports"]
    counted = exports.attempts._refusals  # the presses past the limit, counted after each ack
    await fake_slack.wait_for(lambda: org.member in counted and counted[org.member].count == 4, what="the count")
    await exports.close()  # the app stopping: the count past the limit is written
    assert len(fake_slack.calls_to("users.info")) - before == ATTEMPTS_PER_MINUTE
    assert dm_texts(fake_slack, org.member) == [EXPORT_REFUSED] * ATTEMPTS_PER_MINUTE
    rows = [r for r in await slack.built.audit_log.latest(50) if r["user_id"] == org.member]
    assert sorted(r["outcome"] for r in rows) == ["not_admin"] * ATTEMPTS_PER_MINUTE + [f"{OVER_LIMIT_OUTCOME}:4"]
    assert {r["action"] for r in rows} == {AUDIT_EXPORT_ACTION}
