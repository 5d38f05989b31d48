"""/disconnect-shared --dry-run (and the form's dry-run box): the whole flow, no admin call, audited as a dry run."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from services.audit.log import main as audit_cli
from services.error_texts import ADMIN_ONLY
from services.ui.disconnect import CONFIRM_CALLBACK, DRY_RUN_BLOCK, team_label
from tests.helpers.app import Org
from tests.helpers.disconnect import ADMIN_CALL, audit_rows, confirm_view, form_values, open_form
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender


@pytest.fixture
def settings_overrides(org: Org) -> dict[str, Any]:
    """The app with the org's admin token."""
    return {"admin_token": org.admin_token}


def dry_run_box(view: dict) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == DRY_RUN_BLOCK)


async def test_dry_run_from_the_command_makes_no_admin_call_and_one_audit_row(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    view_id, body = await open_form(slack, fake_slack, org.admin, channel, "--dry-run")
    box = dry_run_box(fake_slack.views[view_id])["element"]
    assert box["type"] == "checkboxes" and box["initial_options"] == box["options"]

    await slack.submit_view(view_id, form_values(channel, [org.alpha], dry_run=True), user_id=org.admin)
    confirm = await confirm_view(slack, fake_slack)
    assert confirm["title"]["text"] == "Confirm dry run" and confirm["submit"]["text"] == "Dry run"
    assert "Nothing will change" in json.dumps(confirm["blocks"])
    reply = await slack.submit_view(confirm["id"], {}, user_id=org.admin)
    assert reply.json() == {"response_action": "clear"}

    outcome = await fake_slack.next_post(body["response_url"])
    assert outcome["text"].startswith("*Dry run: nothing was changed.* A real run would disconnect from ")
    assert f"<#{channel}>: {team_label(org.alpha, 'Alpha Partners')}." in outcome["text"]
    assert fake_slack.calls_to(ADMIN_CALL) == []
    assert fake_slack.channels[channel].connected_teams == [org.alpha]
    rows = await audit_rows(slack)
    assert [(r["action"], r["event"], r["user_id"], r["channel_id"], r["leaving_team_id"]) for r in rows] == [
        ("disconnect_shared_dry_run", "dry_run", org.admin, channel, org.alpha)
    ]


async def test_the_forms_dry_run_box_alone_makes_it_a_dry_run(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("vendors", connected=[org.alpha, org.beta])
    view_id, body = await open_form(slack, fake_slack, org.admin, channel)
    assert "initial_options" not in dry_run_box(fake_slack.views[view_id])["element"]
    await slack.submit_view(view_id, form_values(channel, [org.beta, org.alpha], dry_run=True), user_id=org.admin)
    confirm = await confirm_view(slack, fake_slack)
    await slack.submit_view(confirm["id"], {}, user_id=org.admin)
    outcome = await fake_slack.next_post(body["response_url"])
    assert "Beta Vendors" in outcome["text"] and "Alpha Partners" in outcome["text"]
    assert outcome["text"].index("Beta Vendors") < outcome["text"].index("Alpha Partners")
    assert fake_slack.calls_to(ADMIN_CALL) == []
    assert [(r["event"], r["leaving_team_id"]) for r in await audit_rows(slack)] == [
        ("dry_run", org.beta),
        ("dry_run", org.alpha),
    ]


async def test_unticking_the_box_after_a_dry_run_flag_runs_for_real(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    view_id, body = await open_form(slack, fake_slack, org.admin, channel, "--dry-run")
    await slack.submit_view(view_id, form_values(channel, [org.alpha], dry_run=False), user_id=org.admin)
    confirm = await confirm_view(slack, fake_slack)
    assert confirm["callback_id"] == CONFIRM_CALLBACK and confirm["submit"]["text"] == "Disconnect"
    await slack.submit_view(confirm["id"], {}, user_id=org.admin)
    assert (await fake_slack.next_post(body["response_url"]))["text"].startswith("Disconnected from")
    assert len(fake_slack.calls_to(ADMIN_CALL)) == 1


async def test_a_non_admins_dry_run_is_refused_and_audited_as_a_dry_run(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    _, body = await slack.command("/disconnect-shared", "—dry-run", channel_id=channel, user_id=org.member)
    assert (await fake_slack.next_post(body["response_url"]))["text"] == ADMIN_ONLY
    rows = await audit_rows(slack)
    assert [(r["action"], r["event"], r["outcome"]) for r in rows] == [
        ("disconnect_shared_dry_run", "refused", "not_admin")
    ]


async def test_the_audit_cli_marks_dry_runs(
    slack: SlackSender, fake_slack: FakeSlack, org: Org, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    view_id, body = await open_form(slack, fake_slack, org.admin, channel, "--dry-run")
    await slack.submit_view(view_id, form_values(channel, [org.alpha], dry_run=True), user_id=org.admin)
    await slack.submit_view((await confirm_view(slack, fake_slack))["id"], {}, user_id=org.admin)
    await fake_slack.next_post(body["response_url"])

    await asyncio.to_thread(audit_cli, ["--last", "5", "--database-url", slack.built.database.url])
    (line,) = capsys.readouterr().out.splitlines()
    assert "  dry_run    dry-run  " in line and f"channel={channel}" in line and "outcome=would_disconnect" in line
