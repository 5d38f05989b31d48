"""The Home tab end to end (app_home_opened → views.publish): the audit log for admins, usage for everyone else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.audit.log import DRY_RUN_AUDIT_ACTION, AuditEntry, AuditEvent
from services.ui.home import ADMINS_ONLY_NOTE, EXPORT_ACTION, NEWEST_ACTION, OLDER_ACTION
from services.ui.offboarding import HOME_OPEN_ACTION
from tests.helpers.app import Org
from tests.helpers.disconnect import disconnect
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender, buttons_in


@pytest.fixture
def settings_overrides(org: Org) -> dict[str, Any]:
    """The app with the org's admin token."""
    return {"admin_token": org.admin_token}


async def home(slack: SlackSender, fake: FakeSlack, user_id: str, publishes: int = 1) -> dict:
    """The user's Home tab once the app has published it `publishes` times in this test."""
    await fake.wait_for(
        lambda: len([c for c in fake.calls_to("views.publish") if c["user_id"] == user_id]) >= publishes,
        what="views.publish",
    )
    view = fake.home_of(user_id)
    assert view is not None, "views.publish failed"
    return view


def entries(view: dict) -> list[str]:
    """The audit entries shown, as their section texts, top to bottom."""
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "section" and " · " in b["text"]["text"]]


def buttons(view: dict) -> list[str]:
    return [b["action_id"] for b in buttons_in(view["blocks"])]


async def record(slack: SlackSender, fake: FakeSlack, n: int, user: str, channel: str, team: str) -> None:
    """n failed attempts, told apart by their codes: error_00 (oldest) … error_{n-1} (newest)."""
    for i in range(n):
        await slack.built.audit_log.record(
            AuditEntry(AuditEvent.FAILED, user, f"error_{i:02d}", fake.enterprise_id, fake.team_id, channel, team)
        )


def codes(shown: list[str]) -> list[str]:
    return [text.rsplit("`", 2)[-2] if "Failed" in text else text.rsplit(" ", 1)[-1] for text in shown]


async def test_a_non_admin_sees_what_the_app_does_and_how_to_use_it(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    await record(slack, fake_slack, 3, org.admin, channel, org.alpha)
    reply = await slack.home_opened(org.member)
    assert reply.status == 200
    view = await home(slack, fake_slack, org.member)
    text = json.dumps(view["blocks"], ensure_ascii=False)
    assert "/leave-channel pick" in text and "/disconnect-shared #shared-channel" in text and "--dry-run" in text
    assert ADMINS_ONLY_NOTE in text
    assert entries(view) == [] and "Audit log" not in text and buttons(view) == []


async def test_an_admin_sees_the_latest_25_newest_first_with_names_and_pages_back(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha, org.beta])
    await record(slack, fake_slack, 29, org.member, channel, org.beta)
    await disconnect(slack, fake_slack, org, channel, [org.alpha])  # entries 30 and 31: confirmed, succeeded

    await slack.home_opened(org.admin)
    first = await home(slack, fake_slack, org.admin)
    shown = entries(first)
    assert len(shown) == 25
    admin = fake_slack.users[org.admin]["real_name"]
    assert shown[0].startswith("*<!date^")
    assert f"*{admin}* (`{org.admin}`) · #partners (`{channel}`) · *Alpha Partners* (`{org.alpha}`)" in shown[0]
    assert shown[0].endswith(":white_check_mark: Disconnected")
    assert shown[1].endswith(":hourglass: Confirmed; no result recorded yet")
    assert "*Beta Vendors*" in shown[2] and fake_slack.users[org.member]["real_name"] in shown[2]
    assert codes(shown[2:]) == [f"error_{i:02d}" for i in range(28, 5, -1)]
    assert buttons(first) == [HOME_OPEN_ACTION, OLDER_ACTION, EXPORT_ACTION]

    await slack.home_button(org.admin, OLDER_ACTION)
    older = await home(slack, fake_slack, org.admin, publishes=2)
    assert codes(entries(older)) == [f"error_{i:02d}" for i in range(5, -1, -1)]  # the rest, each once
    assert buttons(older) == [HOME_OPEN_ACTION, NEWEST_ACTION, EXPORT_ACTION]

    await slack.home_button(org.admin, NEWEST_ACTION)
    again = await home(slack, fake_slack, org.admin, publishes=3)
    assert entries(again) == shown


async def test_outcomes_read_as_words_and_unknown_people_fall_back_to_ids(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("vendors", connected=[org.alpha])
    ghost = "U0GONE0000"
    audit = slack.built.audit_log
    await audit.record(AuditEntry(AuditEvent.REFUSED, ghost, "not_admin", fake_slack.enterprise_id, None, channel))
    await audit.record(
        AuditEntry(
            AuditEvent.REFUSED, org.member, "admin_check_failed:ratelimited", fake_slack.enterprise_id, None, channel
        )
    )
    await audit.record(
        AuditEntry(
            AuditEvent.DRY_RUN, org.admin, "would_disconnect", fake_slack.enterprise_id, None, channel, org.alpha,
            action=DRY_RUN_AUDIT_ACTION,
        )
    )  # fmt: skip
    await slack.home_opened(org.admin)
    dry, check_failed, refused = entries(await home(slack, fake_slack, org.admin))
    assert dry.endswith(":test_tube: Dry run: would disconnect, nothing changed")
    assert check_failed.endswith(":no_entry: Refused: couldn't check their admin rights (`ratelimited`)")
    assert refused.startswith("*<!date^") and f"`{ghost}` · #vendors" in refused
    assert "no workspace chosen" in refused and refused.endswith("Refused: not an Org Admin or Owner")


async def test_an_admin_sees_only_their_own_orgs_entries(slack: SlackSender, fake_slack: FakeSlack, org: Org) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    audit = slack.built.audit_log
    await audit.record(AuditEntry(AuditEvent.SUCCEEDED, org.admin, "ok", "E0OTHERORG", "T0OTHER", channel, org.alpha))
    await audit.record(AuditEntry(AuditEvent.SUCCEEDED, org.admin, "ok", None, "T0SOLO", channel, org.alpha))
    await slack.home_opened(org.admin)
    view = await home(slack, fake_slack, org.admin)
    assert entries(view) == [] and "No `/disconnect-shared` attempts yet." in json.dumps(view["blocks"])


async def test_the_messages_tab_publishes_nothing(slack: SlackSender, fake_slack: FakeSlack, org: Org) -> None:
    reply = await slack.home_opened(org.admin, tab="messages")
    assert reply.status == 200
    await slack.home_opened(org.member)  # a later event that does publish: the first was handled by then
    await home(slack, fake_slack, org.member)
    assert [c["user_id"] for c in fake_slack.calls_to("views.publish")] == [org.member]


async def test_a_failed_admin_check_hides_the_log_and_says_why(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    await record(slack, fake_slack, 2, org.admin, channel, org.alpha)
    fake_slack.fail("users.info", "fatal_error")
    await slack.home_opened(org.admin)
    view = await home(slack, fake_slack, org.admin)
    assert entries(view) == []
    assert "I couldn't check whether you're an admin (`fatal_error`)" in json.dumps(view["blocks"])


async def test_a_demoted_admin_paging_back_sees_no_log(slack: SlackSender, fake_slack: FakeSlack, org: Org) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    await record(slack, fake_slack, 30, org.admin, channel, org.alpha)
    await slack.home_opened(org.admin)
    await home(slack, fake_slack, org.admin)
    fake_slack.users[org.admin]["enterprise_user"]["is_admin"] = False
    await slack.home_button(org.admin, OLDER_ACTION)
    view = await home(slack, fake_slack, org.admin, publishes=2)
    assert entries(view) == [] and ADMINS_ONLY_NOTE in json.dumps(view["blocks"])
