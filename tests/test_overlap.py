"""The single-channel /disconnect-shared beside an offboarding of the same partner: the form leaves out a party that
an unfinished offboarding in the org is disconnecting (told before the confirmation and again at submit, audited as a
refusal), and the other parties picked still go ahead; the offboarding's summary counts the channel once."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest

from services.audit.log import DISCONNECT_AUDIT_ACTION, DRY_RUN_AUDIT_ACTION
from services.settings import Settings
from services.ui.offboarding import CONFIRM_CALLBACK as OFFBOARD_CONFIRM
from services.ui.offboarding import KEEP_ACTION, KEEP_BLOCK, PLAN_CALLBACK
from tests.helpers.app import settings_for
from tests.helpers.disconnect import ADMIN_CALL, audit_rows_once, confirm_view, form_values, open_form
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender

COMMAND = "/disconnect-shared"
RUNNING = "is running in this org"


@dataclass
class Grid:
    admin: str
    admin_token: str
    partner: str  # Acme Corp's E…, offboarded
    third: str  # another org, picked in the same form


@pytest.fixture
def grid(fake_slack: FakeSlack) -> Grid:
    fake_slack.make_grid()
    return Grid(
        admin=fake_slack.add_user(org_admin=True),
        admin_token=fake_slack.add_admin_token(scopes={"admin.conversations:write", "admin.conversations:read"}),
        partner=fake_slack.add_org("Acme Corp"),
        third=fake_slack.add_org("Third Org"),
    )


@pytest.fixture
async def app_settings(fake_slack: FakeSlack, grid: Grid, app_database_url: str) -> Settings:
    return settings_for(fake_slack, admin_token=grid.admin_token, database_url=app_database_url, job_poll_seconds=0.2)


def calls_for(fake: FakeSlack, channel: str, team: str) -> int:
    return sum(1 for c in fake.calls_to(ADMIN_CALL) if c["channel_id"] == channel and c["leaving_team_ids"] == team)


async def offboard(
    slack: SlackSender, fake: FakeSlack, grid: Grid, *, dry_run: bool = False, kept: tuple[str, ...] = (), hold=None
) -> dict:
    """/disconnect-shared all <partner> → plan → confirmation, submitted; returns the command's body. `hold(plan)`
    is called with the plan's view ID just before the confirmation is submitted."""
    reply, body = await slack.command(COMMAND, f"all {grid.partner}", channel_id="", user_id=grid.admin)
    assert reply.status == 200
    plan = (await fake.wait_for(lambda: fake.views_with(PLAN_CALLBACK), what="the plan"))[0]["id"]
    await fake.wait_for(lambda: fake.views[plan].get("submit"), what="a plan that can be confirmed")
    values = {
        "offboard_dry_run": {
            "dry_run": {"type": "checkboxes", "selected_options": [{"value": "dry_run"}] if dry_run else []}
        }
    }
    if kept:
        chosen = [{"text": {"type": "plain_text", "text": c}, "value": c} for c in kept]
        values[KEEP_BLOCK] = {KEEP_ACTION: {"type": "multi_external_select", "selected_options": chosen}}
    reply = await slack.submit_view(plan, values, user_id=grid.admin)
    assert reply.json()["response_action"] == "push", reply.text
    confirm_id = slack.pushed_view_id
    assert confirm_id is not None and fake.views[confirm_id]["callback_id"] == OFFBOARD_CONFIRM
    if hold is not None:
        hold(plan)
    reply = await slack.submit_view(confirm_id, {}, user_id=grid.admin)
    assert reply.status == 200
    return body


async def offboarding_held_at(
    slack: SlackSender, fake: FakeSlack, grid: Grid, channel: str, *, kept: tuple[str, ...] = ()
) -> tuple[asyncio.Event, dict]:
    """An offboarding of the partner, confirmed and held at its disconnect of `channel` until the caller sets the
    returned event; and the command's body."""
    released = fake.hold(ADMIN_CALL, lambda p: p.get("channel_id") == channel)
    body = await offboard(slack, fake, grid, kept=kept)
    await fake.wait_for(lambda: calls_for(fake, channel, grid.partner), timeout=20, what="the held call")
    return released, body


async def test_a_party_an_offboarding_is_disconnecting_is_left_out_and_the_others_still_go(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    first = fake_slack.add_shared_channel("deal-000", connected=[grid.partner])
    both = fake_slack.add_shared_channel("deal-001", connected=[grid.partner, grid.third])
    released, offboarding = await offboarding_held_at(slack, fake_slack, grid, first)

    # The single-channel form, for a channel shared with the partner and another org, both picked.
    view_id, body = await open_form(slack, fake_slack, grid.admin, both)
    reply = await slack.submit_view(view_id, form_values(both, [grid.partner, grid.third]), user_id=grid.admin)
    assert reply.json()["response_action"] == "push"
    confirm = await confirm_view(slack, fake_slack)
    shown = json.dumps(confirm["blocks"], ensure_ascii=False)
    assert f"An offboarding of organization `{grid.partner}` {RUNNING} (started by <@{grid.admin}>)" in shown, shown
    assert shown.index(grid.third) < shown.index("An offboarding")  # the other party is still to confirm
    reply = await slack.submit_view(confirm["id"], {}, user_id=grid.admin)
    assert reply.json() == {"response_action": "clear"}
    told = await fake_slack.next_post(body["response_url"], timeout=20)
    assert "Disconnected from" in told["text"] and grid.third in told["text"], told
    assert grid.partner not in told["text"]
    assert calls_for(fake_slack, both, grid.third) == 1  # the other party went ahead
    assert calls_for(fake_slack, both, grid.partner) == 0  # nothing sent for the partner by the form
    rows = await audit_rows_once(slack, 1)
    refused = [r for r in rows if r["event"] == "refused" and r["action"] == DISCONNECT_AUDIT_ACTION]
    assert [(r["channel_id"], r["leaving_team_id"], r["outcome"]) for r in refused] == [
        (both, grid.partner, "offboarding_running")
    ]
    assert not [r for r in rows if r["action"] == DISCONNECT_AUDIT_ACTION and r["leaving_team_id"] == grid.partner
                and r["event"] != "refused"]  # fmt: skip

    released.set()
    summary = await fake_slack.next_post(offboarding["response_url"], timeout=30)
    assert "disconnected from 2 of 2 channels" in summary["text"], summary["text"]
    assert calls_for(fake_slack, both, grid.partner) == 1  # the offboarding's, once
    assert fake_slack.channels[both].connected_teams == []


async def test_a_form_of_only_offboarded_parties_is_refused_before_the_confirmation(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    first = fake_slack.add_shared_channel("deal-000", connected=[grid.partner])
    other = fake_slack.add_shared_channel("deal-001", connected=[grid.partner])
    released, _ = await offboarding_held_at(slack, fake_slack, grid, first)

    view_id, _ = await open_form(slack, fake_slack, grid.admin, other)
    reply = await slack.submit_view(view_id, form_values(other, [grid.partner]), user_id=grid.admin)
    assert reply.json()["response_action"] == "push"
    pushed = slack.pushed_view_id
    assert pushed is not None
    await fake_slack.wait_for(lambda: RUNNING in json.dumps(fake_slack.views[pushed]["blocks"]), what="the refusal")
    assert fake_slack.views[pushed].get("submit") is None  # nothing to confirm
    assert calls_for(fake_slack, other, grid.partner) == 0
    rows = await audit_rows_once(slack, 1)
    refused = [r for r in rows if r["event"] == "refused" and r["action"] == DISCONNECT_AUDIT_ACTION]
    assert [(r["channel_id"], r["leaving_team_id"], r["outcome"]) for r in refused] == [
        (other, grid.partner, "offboarding_running")
    ]
    released.set()


async def test_an_offboarding_started_after_the_confirmation_was_shown_is_caught_at_submit(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    first = fake_slack.add_shared_channel("deal-000", connected=[grid.partner])
    both = fake_slack.add_shared_channel("deal-001", connected=[grid.partner, grid.third])
    view_id, body = await open_form(slack, fake_slack, grid.admin, both)
    reply = await slack.submit_view(view_id, form_values(both, [grid.partner, grid.third]), user_id=grid.admin)
    assert reply.json()["response_action"] == "push"
    confirm = await confirm_view(slack, fake_slack)
    assert RUNNING not in json.dumps(confirm["blocks"])  # nothing running yet: both parties to confirm
    fake_slack.views.pop(view_id)  # the offboarding's plan is the form open next

    released, offboarding = await offboarding_held_at(slack, fake_slack, grid, first)
    reply = await slack.submit_view(confirm["id"], {}, user_id=grid.admin)
    assert reply.json() == {"response_action": "clear"}
    told = await fake_slack.next_post(body["response_url"], timeout=20)
    assert f"`{grid.partner}` {RUNNING} (started by <@{grid.admin}>)" in told["text"], told
    summary = await fake_slack.next_post(body["response_url"], timeout=20, count=2)
    assert "Disconnected from" in summary["text"] and grid.third in summary["text"], summary
    assert grid.partner not in summary["text"]
    assert calls_for(fake_slack, both, grid.third) == 1
    assert calls_for(fake_slack, both, grid.partner) == 0
    rows = await audit_rows_once(slack, 1)
    refused = [r for r in rows if r["event"] == "refused" and r["action"] == DISCONNECT_AUDIT_ACTION]
    assert [(r["channel_id"], r["leaving_team_id"], r["outcome"]) for r in refused] == [
        (both, grid.partner, "offboarding_running")
    ]

    released.set()
    done = await fake_slack.next_post(offboarding["response_url"], timeout=30)
    assert "disconnected from 2 of 2 channels" in done["text"], done["text"]
    assert calls_for(fake_slack, both, grid.partner) == 1


async def both_parties_go_ahead(slack: SlackSender, fake: FakeSlack, grid: Grid, both: str) -> None:
    """The form for `both`, both parties picked: neither left out, both disconnected by the form."""
    view_id, body = await open_form(slack, fake, grid.admin, both)
    reply = await slack.submit_view(view_id, form_values(both, [grid.partner, grid.third]), user_id=grid.admin)
    assert reply.json()["response_action"] == "push"
    confirm = await confirm_view(slack, fake)
    assert RUNNING not in json.dumps(confirm["blocks"])
    reply = await slack.submit_view(confirm["id"], {}, user_id=grid.admin)
    assert reply.json() == {"response_action": "clear"}
    told = await fake.next_post(body["response_url"], timeout=20)
    assert RUNNING not in told["text"] and grid.partner in told["text"], told
    assert calls_for(fake, both, grid.partner) == 1
    assert calls_for(fake, both, grid.third) == 1
    rows = await audit_rows_once(slack, 1)
    assert not [r for r in rows if r["event"] == "refused" and r["action"] == DISCONNECT_AUDIT_ACTION]


async def test_a_dry_run_offboarding_of_the_partner_leaves_nothing_out(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    # A dry run sends nothing: the channel's real disconnect must not wait for it (nor be told it does it).
    fake_slack.add_shared_channel("deal-000", connected=[grid.partner])
    both = fake_slack.add_shared_channel("deal-001", connected=[grid.partner, grid.third])
    holds: list = []
    await offboard(
        slack,
        fake_slack,
        grid,
        dry_run=True,
        hold=lambda plan: holds.append(fake_slack.hold("views.update", lambda p: p.get("view_id") == plan)),
    )
    await fake_slack.wait_for(lambda: fake_slack.calls_to("views.update"), timeout=20, what="the held progress")
    await both_parties_go_ahead(slack, fake_slack, grid, both)
    holds[0].set()


async def test_a_channel_the_offboarding_keeps_is_not_left_out(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    first = fake_slack.add_shared_channel("deal-000", connected=[grid.partner])
    both = fake_slack.add_shared_channel("deal-001", connected=[grid.partner, grid.third])
    released, _ = await offboarding_held_at(slack, fake_slack, grid, first, kept=(both,))
    await both_parties_go_ahead(slack, fake_slack, grid, both)
    released.set()


async def test_a_dry_run_form_beside_an_offboarding_says_the_dry_run_leaves_the_party_out(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    first = fake_slack.add_shared_channel("deal-000", connected=[grid.partner])
    both = fake_slack.add_shared_channel("deal-001", connected=[grid.partner, grid.third])
    released, _ = await offboarding_held_at(slack, fake_slack, grid, first)

    view_id, body = await open_form(slack, fake_slack, grid.admin, both)
    values = form_values(both, [grid.partner, grid.third], dry_run=True)
    reply = await slack.submit_view(view_id, values, user_id=grid.admin)
    assert reply.json()["response_action"] == "push"
    confirm = await confirm_view(slack, fake_slack)
    shown = json.dumps(confirm["blocks"], ensure_ascii=False)
    assert "so this dry run leaves them out" in shown, shown
    assert "this disconnect" not in shown
    reply = await slack.submit_view(confirm["id"], {}, user_id=grid.admin)
    assert reply.json() == {"response_action": "clear"}
    told = await fake_slack.next_post(body["response_url"], timeout=20)
    assert grid.third in told["text"] and grid.partner not in told["text"], told
    assert calls_for(fake_slack, both, grid.partner) == 0 and calls_for(fake_slack, both, grid.third) == 0
    rows = await audit_rows_once(slack, 1)
    refused = [r for r in rows if r["event"] == "refused" and r["leaving_team_id"] == grid.partner]
    assert [(r["channel_id"], r["action"], r["outcome"]) for r in refused] == [
        (both, DRY_RUN_AUDIT_ACTION, "offboarding_running")
    ]
    released.set()
