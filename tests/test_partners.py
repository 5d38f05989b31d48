"""Partners end to end: Slack's partner directory (team.externalTeams.list) names them and lists them in the Home tab,
and offboarding fails closed — only an organization or workspace positively known to be outside ours is ever acted on.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from services.audit.log import AuditEntry, AuditEvent
from services.disconnecting.everything import OFFBOARD_EVERYTHING
from services.disconnecting.partners import Partner as PartnerId
from services.disconnecting.workflow import Requester
from services.jobs.queue import FINISHED
from services.settings import Settings
from services.ui.partners import (
    DIRECTORY_FIRST_ACTION,
    DIRECTORY_NEXT_ACTION,
    DMS_ONLY_CALLBACK,
    EVERYTHING_ACTION,
    EVERYTHING_CONFIRM_CALLBACK,
    PARTNER_OFFBOARD_ACTION,
    EverythingMetadata,
)
from tests.helpers.app import settings_for, suite_database
from tests.helpers.fake_slack import FakeSlack, Scripted
from tests.helpers.slack_requests import SlackSender

ADMIN_CALL = "admin.conversations.disconnectShared"
SEARCH = "admin.conversations.search"
LIST = "team.externalTeams.list"
COMMAND = "/disconnect-shared"
DIRECTORY_SCOPES = ("conversations.connect:manage", "team:read")


@dataclass
class Grid:
    admin: str
    admin_token: str
    partner: str  # a partner org's E…
    partner_workspace: str
    sales: str  # a sibling workspace of our own org


@pytest.fixture
def grid(fake_slack: FakeSlack) -> Grid:
    org = fake_slack.make_grid()
    partner = fake_slack.add_org("Partner Corp")
    return Grid(
        admin=fake_slack.add_user(org_admin=True),
        admin_token=fake_slack.add_admin_token(scopes={"admin.conversations:write", "admin.conversations:read"}),
        partner=partner,
        partner_workspace=fake_slack.add_team("Partner HQ", enterprise_id=partner),
        sales=fake_slack.add_team("Sales", enterprise_id=org),
    )


@pytest.fixture
async def app_settings(fake_slack: FakeSlack, grid: Grid, tmp_path) -> Settings:
    return settings_for(
        fake_slack, admin_token=grid.admin_token, database_url=await suite_database(tmp_path), job_poll_seconds=0.2
    )


def everything_said(fake: FakeSlack, user: str) -> str:
    """Every modal version, DM and response-URL post the user was shown, as one text."""
    views = [v for history in fake.view_history.values() for v in history]
    posts = [p for url in fake.response_urls.values() for p in url.posts]
    return json.dumps([views, fake.messages_to(user), posts], ensure_ascii=False)


async def told(fake: FakeSlack, user: str, *texts: str) -> str:
    """What the user was shown, once one of `texts` is among it."""
    return await fake.wait_for(
        lambda: any(t in (said := everything_said(fake, user)) for t in texts) and said, what=f"{texts} said"
    )


def org_shared_with_sales(fake: FakeSlack, grid: Grid, count: int) -> list[str]:
    """Channels of our org shared with our own Sales workspace (org-shared) and with the partner."""
    return [
        fake.add_shared_channel(f"sales-deal-{i}", connected=[grid.partner], internal=[grid.sales])
        for i in range(count)
    ]


def search_naming(fake: FakeSlack, grid: Grid, times: int = 3) -> None:
    """Slack's search, asked for channels connected to the Sales workspace, answers the org-shared channels it is in
    (shape: ../shared/slack-samples/api/admin.conversations.search.json, `internal_team_ids` listing Sales)."""
    identity = fake.tokens[grid.admin_token]
    body = fake._m_admin_conversations_search({"limit": 20, "connected_team_ids": grid.partner}, identity)
    fake.script(SEARCH, *[Scripted(body=body) for _ in range(times)])


# ---- fail closed ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "team_info",
    [
        pytest.param([Scripted(body={"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"})] * 20,
                     id="rate-limited"),
        pytest.param([Scripted(body={"ok": False, "error": "missing_scope", "needed": "team:read"})] * 20,
                     id="missing-scope"),
        pytest.param([Scripted(body={"ok": False, "error": "team_not_found"})] * 20, id="a-sibling-it-can't-see"),
    ],
)  # fmt: skip
async def test_our_own_sales_workspace_is_never_offboarded_when_team_info_fails(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid, team_info: list[Scripted]
) -> None:
    """The attack (issue 20, item 7): `/disconnect-shared all T…` of our own org's workspace when team.info can't
    describe it was taken for a partner and the job disconnected Sales from every channel."""
    channels = org_shared_with_sales(fake_slack, grid, 6)
    search_naming(fake_slack, grid)
    fake_slack.script("team.info", *team_info)

    reply, _ = await slack.command(COMMAND, f"all {grid.sales}", channel_id="", user_id=grid.admin)
    assert reply.status == 200
    await told(fake_slack, grid.admin, "your own organization", "outside your organization", "offboard_plan")
    # Whatever the admin presses now, nothing reaches the admin call.
    for view in list(fake_slack.views.values()):
        assert view.get("callback_id") != "offboard_plan", "a plan was offered for our own workspace"
    assert fake_slack.calls_to(ADMIN_CALL) == []
    assert all(grid.sales in fake_slack.channels[c].internal for c in channels)


async def test_our_host_workspace_is_refused_before_any_search(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    fake_slack.script("team.info", *[Scripted(body={"ok": False, "error": "missing_scope"})] * 4)
    await slack.command(COMMAND, f"all {fake_slack.team_id}", channel_id="", user_id=grid.admin)
    await told(fake_slack, grid.admin, "your own organization")
    assert fake_slack.calls_to(SEARCH) == [] and fake_slack.calls_to(ADMIN_CALL) == []


async def test_a_workspace_nobody_can_place_is_refused_and_nothing_is_called(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """team.info fails, the directory doesn't list it, the search says nothing: not established, so refused."""
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    solo = fake_slack.add_team("Solo Studio")
    fake_slack.add_shared_channel("solo-deal", connected=[solo])
    fake_slack.script("team.info", *[Scripted(body={"ok": False, "error": "team_not_found"})] * 4)
    fake_slack.script(LIST, Scripted(body={"ok": True, "organizations": [], "response_metadata": {"next_cursor": ""}}))
    fake_slack.script(SEARCH, Scripted(body={"ok": True, "conversations": [], "next_cursor": ""}))
    await slack.command(COMMAND, f"all {solo}", channel_id="", user_id=grid.admin)
    await told(fake_slack, grid.admin, "couldn't establish")
    assert fake_slack.calls_to(ADMIN_CALL) == []
    assert len(fake_slack.calls_to(SEARCH)) == 1  # the one look-up that might have placed it; no plan's search


async def test_the_directory_places_a_workspace_team_info_cannot_describe(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """A standalone workspace the directory lists by its own `team_id` is placed by it (not one found only among a
    partner's `connected_workspaces`: test_our_workspace_in_a_partner_s_connected_workspaces_is_not_taken_for_theirs)."""
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    solo = fake_slack.add_team("Solo Studio")
    fake_slack.add_shared_channel("solo-deal", connected=[solo])
    fake_slack.script("team.info", *[Scripted(body={"ok": False, "error": "team_not_found"})] * 4)
    await slack.command(COMMAND, f"all {solo}", channel_id="", user_id=grid.admin)
    plan = await fake_slack.wait_for(lambda: fake_slack.views_with("offboard_plan"), what="the plan")
    assert "Solo Studio" in json.dumps(plan[0]["blocks"])  # named by the directory
    assert {c["connected_team_ids"] for c in fake_slack.calls_to(SEARCH)} == {solo}


async def test_a_workspace_slack_stops_describing_before_the_confirmation_is_refused_there(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    solo = fake_slack.add_team("Solo Studio")
    fake_slack.add_shared_channel("solo-deal", connected=[solo])
    await slack.command(COMMAND, f"all {solo}", channel_id="", user_id=grid.admin)
    plan = (await fake_slack.wait_for(lambda: fake_slack.views_with("offboard_plan"), what="the plan"))[0]
    values: dict[str, Any] = {}
    for block in plan["blocks"]:
        if block.get("block_id", "").startswith("offboard_channels_"):
            options = block["element"]["options"]
            values[block["block_id"]] = {"channels": {"type": "multi_static_select", "selected_options": options}}
    reply = await slack.submit_view(plan["id"], values, user_id=grid.admin)
    assert reply.json()["response_action"] == "push"
    confirm_id = slack.pushed_view_id
    assert confirm_id is not None
    # Now Slack won't describe it, the directory can't be read (no scope) and the search is rate-limited.
    fake_slack.fail("team.info", "team_not_found", times=20)
    fake_slack.fail(SEARCH, "ratelimited", times=20)
    await slack.submit_view(confirm_id, {}, user_id=grid.admin)
    await told(fake_slack, grid.admin, "couldn't establish")
    assert fake_slack.calls_to(ADMIN_CALL) == []
    rows = await slack.built.audit_log.latest(50)
    assert any(r["outcome"].startswith("not_outside:") and r["leaving_team_id"] == solo for r in rows)


# ---- names from the directory -------------------------------------------------------------------------------------


async def test_an_org_is_found_by_name_and_the_plan_names_it(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    other = fake_slack.add_org("Other Corp")
    fake_slack.add_team("Other HQ", enterprise_id=other)
    fake_slack.add_shared_channel("other", connected=[other])

    await slack.command(COMMAND, "all partner corp", channel_id="", user_id=grid.admin)
    plan = await fake_slack.wait_for(lambda: fake_slack.views_with("offboard_plan"), what="the plan")
    assert "*Partner Corp*" in json.dumps(plan[0]["blocks"])
    assert {c["connected_team_ids"] for c in fake_slack.calls_to(SEARCH)} == {grid.partner}

    fake_slack.views.clear()
    await slack.command(COMMAND, "all corp", channel_id="", user_id=grid.admin)
    said = await told(fake_slack, grid.admin, "Several")
    assert "Other Corp" in said and "Partner Corp" in said


async def test_an_org_id_is_named_in_the_plan(slack: SlackSender, fake_slack: FakeSlack, grid: Grid) -> None:
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    await slack.command(COMMAND, f"all {grid.partner}", channel_id="", user_id=grid.admin)
    plan = await fake_slack.wait_for(lambda: fake_slack.views_with("offboard_plan"), what="the plan")
    assert "*Partner Corp*" in json.dumps(plan[0]["blocks"])


# ---- the Home tab's directory --------------------------------------------------------------------------------------


def partner_rows(view: dict) -> list[dict]:
    return [b for b in view["blocks"] if b.get("accessory", {}).get("action_id") == PARTNER_OFFBOARD_ACTION]


async def home_after(fake: FakeSlack, user: str, publishes: int) -> dict:
    await fake.wait_for(
        lambda: len([c for c in fake.calls_to("views.publish") if c["user_id"] == user]) >= publishes,
        what="views.publish",
    )
    view = fake.home_of(user)
    assert view is not None
    return view


async def test_the_home_tab_lists_a_big_org_s_partners_stalest_first_a_page_at_a_time(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    now = int(time.time())
    partners = []
    for i in range(35):
        org = fake_slack.add_org(f"Partner {i:02}")
        fake_slack.add_team(f"Partner {i:02} HQ", enterprise_id=org)
        fake_slack.add_shared_channel(f"deal-{i:02}", connected=[org])
        fake_slack.set_partner(org, last_active=now - i * 86400 * 10)  # Partner 34 is the stalest
        partners.append(org)
    fake_slack.add_shared_channel("deal-private", connected=[grid.partner], is_private=True)
    fake_slack.add_shared_channel("dm", connected=[grid.partner], is_im=True)
    fake_slack.set_partner(grid.partner, last_active=now - 400 * 86400)  # the stalest of all
    for i in range(30):  # a full audit page beside the directory
        entry = AuditEntry(AuditEvent.FAILED, grid.admin, f"error_{i}", fake_slack.enterprise_id, fake_slack.team_id)
        await slack.built.audit_log.record(entry)

    await slack.home_opened(grid.admin)
    home = await home_after(fake_slack, grid.admin, 1)
    text = json.dumps(home["blocks"])
    assert len(home["blocks"]) <= 100 and text.count("error_") == 25  # the audit page is whole beside it
    rows = partner_rows(home)
    assert len(rows) == 10
    first = rows[0]["text"]["text"]
    assert "*Partner Corp*" in first and "(partner-corp)" in first
    assert "0 public channels, 1 private channel, 1 DM, 0 group DMs" in first
    assert "stale: 400 days" in first and "CONNECTED" in first
    assert rows[0]["accessory"]["value"] == grid.partner
    assert [r["accessory"]["value"] for r in rows[1:]] == partners[34:25:-1]
    assert "Connected organizations (36)" in text  # Slack's total_count
    lists = fake_slack.calls_to(LIST)
    assert lists[-1]["sort_field"] == "last_active_timestamp" and lists[-1]["sort_direction"] == "asc"

    seen = [r["accessory"]["value"] for r in rows]
    for page in range(2, 5):
        await slack.home_button(grid.admin, DIRECTORY_NEXT_ACTION)
        home = await home_after(fake_slack, grid.admin, page)
        assert len(home["blocks"]) <= 100
        seen += [r["accessory"]["value"] for r in partner_rows(home)]
    assert len(seen) == len(set(seen)) == 36 and set(seen) == {*partners, grid.partner}
    assert DIRECTORY_NEXT_ACTION not in json.dumps(home)
    await slack.home_button(grid.admin, DIRECTORY_FIRST_ACTION)
    home = await home_after(fake_slack, grid.admin, 5)
    assert partner_rows(home)[0]["accessory"]["value"] == grid.partner


async def test_offboard_from_the_directory_opens_the_plan_for_that_partner(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("deal-1", connected=[grid.partner])
    fake_slack.add_shared_channel("deal-2", connected=[grid.partner])
    await slack.home_opened(grid.admin)
    home = await home_after(fake_slack, grid.admin, 1)
    (row,) = partner_rows(home)
    await press_in_home(slack, fake_slack, grid.admin, row)
    plan = await fake_slack.wait_for(lambda: fake_slack.views_with("offboard_plan"), what="the plan")
    text = json.dumps(plan[0]["blocks"])
    assert "*Partner Corp*" in text and "*2* your org created" in text
    assert EVERYTHING_ACTION in text  # the second way is offered in the plan
    assert {c["connected_team_ids"] for c in fake_slack.calls_to(SEARCH)} == {grid.partner}


async def test_offboard_presses_past_the_limit_leave_the_minute_s_audit_row(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """The directory's Offboard counts like the command and the Home form, and its refusals leave the same trace:
    one audit row per person a minute with their count (services.disconnecting.attempts)."""
    from services.disconnecting.attempts import ATTEMPTS_PER_MINUTE
    from tests.helpers.disconnect import audit_rows_once, end_the_minute
    from tests.helpers.tasks import busy_tasks, settled

    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("deal-1", connected=[grid.partner])
    await slack.home_opened(grid.admin)
    home = await home_after(fake_slack, grid.admin, 1)
    (row,) = partner_rows(home)
    for _ in range(ATTEMPTS_PER_MINUTE):  # the minute's attempts, used up elsewhere (the command, the Home form)
        assert slack.built.attempts.allow(grid.admin)
    idle = busy_tasks()
    await press_in_home(slack, fake_slack, grid.admin, row)
    await press_in_home(slack, fake_slack, grid.admin, row)
    await settled(fake_slack, idle)  # each press's refusal is noted after its ack and views.open
    end_the_minute(slack)
    rows = await audit_rows_once(slack, 1)
    assert [(r["user_id"], r["event"], r["outcome"]) for r in rows] == [(grid.admin, "refused", "too_many_attempts:2")]
    assert fake_slack.calls_to(SEARCH) == []


async def test_without_the_scope_the_home_tab_says_how_to_get_the_directory(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    fake_slack.add_shared_channel("deal-1", connected=[grid.partner])
    await slack.home_opened(grid.admin)
    home = await home_after(fake_slack, grid.admin, 1)
    assert "conversations.connect:manage" in json.dumps(home["blocks"]) and partner_rows(home) == []


async def press_in_home(slack: SlackSender, fake: FakeSlack, user: str, row: dict) -> None:
    """A directory row's Offboard (a section's accessory) pressed in the user's Home tab."""
    view = fake.home_of(user)
    assert view is not None
    team, org = slack.origin(None, None, user)
    where = {"container": {"type": "view", "view_id": view["id"]}, "view": {**view, "team_id": team}}
    blocks = [{"type": "actions", "block_id": row.get("block_id", ""), "elements": [row["accessory"]]}]
    reply = await slack._press(blocks, PARTNER_OFFBOARD_ACTION, user, where, team, org)
    assert reply.status == 200


# ---- everything, including DMs -------------------------------------------------------------------------------------


async def press_in_modal(slack: SlackSender, fake: FakeSlack, view_id: str, action_id: str, user: str) -> None:
    view = fake.views[view_id]
    team, org = slack.origin(None, None, user)
    where = {
        "container": {"type": "view", "view_id": view_id},
        "view": {**view, "team_id": team, "state": {"values": {}}},
    }
    reply = await slack._press(view["blocks"], action_id, user, where, team, org)
    assert reply.status == 200


async def everything_confirmation(slack: SlackSender, fake: FakeSlack, grid: Grid) -> dict:
    await slack.command(COMMAND, f"all {grid.partner}", channel_id="", user_id=grid.admin)
    plan = (await fake.wait_for(lambda: fake.views_with("offboard_plan"), what="the plan"))[0]
    await press_in_modal(slack, fake, plan["id"], EVERYTHING_ACTION, grid.admin)
    return await fake.wait_for(
        lambda: next(
            (v for v in fake.views_with(EVERYTHING_CONFIRM_CALLBACK) if "Slack counts" in json.dumps(v["blocks"])),
            None,
        ),
        what="the filled confirmation",
    )


async def test_everything_disconnects_channels_dms_and_group_dms_and_sends_one_summary(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.external_disconnect_delay = 1.0
    slack.built.services["everything"].poll_seconds = 0.2
    ours = [fake_slack.add_shared_channel(f"deal-{i}", connected=[grid.partner]) for i in range(3)]
    private = fake_slack.add_shared_channel("secret", connected=[grid.partner], is_private=True)
    theirs = fake_slack.add_shared_channel("their-room", host=grid.partner_workspace, connected=[fake_slack.team_id])
    dm = fake_slack.add_shared_channel("dm", connected=[grid.partner], is_im=True)
    group = fake_slack.add_shared_channel("group", connected=[grid.partner], is_mpim=True)
    other = fake_slack.add_org("Other Corp")
    untouched = fake_slack.add_shared_channel("other", connected=[other])

    confirm = await everything_confirmation(slack, fake_slack, grid)
    text = json.dumps(confirm["blocks"])
    assert "every DM and group DM" in text and "4 public channels, 1 private channel, 1 DM, 1 group DM" in text
    assert fake_slack.calls_to("team.externalTeams.disconnect") == []
    reply = await slack.submit_view(confirm["id"], {}, user_id=grid.admin)
    assert reply.status == 200 and reply.json()["response_action"] == "update"

    summary = await fake_slack.wait_for(
        lambda: [p for url in fake_slack.response_urls.values() for p in url.posts if "from everything" in p["text"]],
        timeout=20,
        what="the summary",
    )
    assert len(summary) == 1
    said = summary[0]["text"]
    assert "*Partner Corp*" in said and "DISCONNECTED" in said
    assert "Before: 4 public channels, 1 private channel, 1 DM, 1 group DM." in said
    assert "After: 0 public channels, 0 private channels, 0 DMs, 0 group DMs." in said
    assert [c["target_team"] for c in fake_slack.calls_to("team.externalTeams.disconnect")] == [grid.partner]  # once
    assert fake_slack.calls_to(ADMIN_CALL) == []
    for channel in [*ours, private, dm, group]:
        assert grid.partner not in fake_slack.channels[channel].connected_teams
    assert fake_slack.team_id not in fake_slack.channels[theirs].connected_teams  # their channel: we are cut off
    assert other in fake_slack.channels[untouched].connected_teams
    assert len(fake_slack.calls_to(LIST)) >= 3  # watched until Slack listed it as disconnected
    rows = await slack.built.audit_log.latest(50)
    mine = [r for r in rows if r["leaving_team_id"] == grid.partner and r["job_id"]]
    assert {r["event"] for r in mine} >= {"started", "finished"}
    assert any(r["outcome"].startswith("everything:disconnected") for r in mine)
    await settled_summary(slack, fake_slack, grid.admin, said)


async def test_a_cancel_recorded_as_the_job_marks_its_call_sent_stops_the_call_or_only_the_watch(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """The race: the Cancel lands just after the job saved "sent". The canceller, reading the job after writing its
    request, finds "sent" and answers "watching" (the safe side); the job, reading the request after saving "sent",
    never calls. One summary."""
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    everything = slack.built.services["everything"]
    asked = everything.cancel_requested
    answers: list[str] = []

    async def cancel_as_sent_is_saved(job_id: str) -> bool:
        job = await everything.runner.store.get(job_id)
        if job is not None and job.payload.get("sent") and not answers:
            admin = Requester(grid.admin, job.enterprise_id, job.team_id, None)
            answers.append(await everything.cancel(everything.base_client, admin, job_id))
        return bool(await asked(job_id))

    everything.cancel_requested = cancel_as_sent_is_saved
    confirm = await everything_confirmation(slack, fake_slack, grid)
    await slack.submit_view(confirm["id"], {}, user_id=grid.admin)
    # The summary message, not the modal: the job updates the modal before it posts the summary.
    cancelled = "cancelled by an admin before Slack was asked"
    summary = await fake_slack.wait_for(lambda: summaries_to(fake_slack, grid.admin, cancelled), what="the summary")
    assert answers == ["watching"] and fake_slack.calls_to("team.externalTeams.disconnect") == []
    assert cancelled in await told(fake_slack, grid.admin, cancelled)  # the modal says so too
    await settled_summary(slack, fake_slack, grid.admin, summary[0]["text"])
    assert len(summaries_to(fake_slack, grid.admin, "cancelled by an admin")) == 1


def summaries_to(fake: FakeSlack, user: str, text: str) -> list[dict[str, Any]]:
    """The response-URL posts and DMs to `user` that say `text`."""
    posts = [p for url in fake.response_urls.values() for p in url.posts] + fake.messages_to(user)
    return [p for p in posts if text in p.get("text", "")]


async def settled_summary(slack: SlackSender, fake: FakeSlack, user: str, said: str) -> None:
    """No second summary arrives: once every everything-job's row is finished with its summary claimed and its lease
    given up, and no job is being worked in the app (a second summary could come only from a job still at work or
    claimed again), exactly one post says `said`."""
    store = slack.built.services["everything"].runner.store

    async def ended() -> bool:
        jobs = await store.all(OFFBOARD_EVERYTHING)
        finished = all(j.status in FINISHED and j.summary_sent_at and j.lease_owner is None for j in jobs)
        return bool(jobs) and finished and not any("JobRunner._work" in repr(t.get_coro()) for t in asyncio.all_tasks())

    deadline = time.monotonic() + 15
    while not await ended():
        assert time.monotonic() < deadline, "timed out waiting for the everything-job to end"
        await asyncio.sleep(0.01)
    assert [p["text"] for p in summaries_to(fake, user, said)] == [said]


@pytest.mark.parametrize("code", ["restricted_action", "invalid_target_team", "missing_argument"])
async def test_slack_s_refusal_of_everything_is_said_and_audited(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid, code: str
) -> None:
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    if code == "restricted_action":
        fake_slack.set_partner(grid.partner, restricted=True)
    else:
        fake_slack.fail("team.externalTeams.disconnect", code)
    confirm = await everything_confirmation(slack, fake_slack, grid)
    await slack.submit_view(confirm["id"], {}, user_id=grid.admin)
    said = await told(fake_slack, grid.admin, "nothing was disconnected")
    assert f"`{code}`" in said or code in said
    assert grid.partner in fake_slack.channels[next(iter(fake_slack.channels))].connected_teams
    rows = await slack.built.audit_log.latest(50)
    assert any(r["event"] == "failed" and r["outcome"] == code for r in rows)


async def test_everything_is_refused_at_its_confirmation_for_a_workspace_not_established_outside(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """A forged or stale button naming our own Sales workspace: refused when the confirmation opens, nothing called."""
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    await slack.command(COMMAND, f"all {grid.partner}", channel_id="", user_id=grid.admin)
    plan = (await fake_slack.wait_for(lambda: fake_slack.views_with("offboard_plan"), what="the plan"))[0]
    for block in plan["blocks"]:
        if block.get("block_id") == "offboard_mode":
            block["elements"][0]["value"] = EverythingMetadata(None, grid.sales, "Sales").encode()
    fake_slack.fail("team.info", "ratelimited", times=20)
    await press_in_modal(slack, fake_slack, plan["id"], EVERYTHING_ACTION, grid.admin)
    await told(fake_slack, grid.admin, "couldn't establish", "your own organization")
    assert fake_slack.calls_to("team.externalTeams.disconnect") == []


async def test_a_job_whose_partner_cannot_be_placed_when_it_starts_calls_nothing(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """Checked a third time as the job starts: a job written for a workspace Slack no longer describes (team.info
    failing, no directory, the search failing) disconnects nothing and says why."""
    solo = fake_slack.add_team("Solo Studio")
    channel = fake_slack.add_shared_channel("solo-deal", connected=[solo])
    fake_slack.fail("team.info", "ratelimited", times=50)
    fake_slack.fail(SEARCH, "ratelimited", times=50)
    offboarding = slack.built.services["offboarding"]
    requester = Requester(grid.admin, fake_slack.enterprise_id, fake_slack.team_id, None)
    job_id = await offboarding.submit(
        requester,
        PartnerId(solo, "Solo Studio"),
        [{"id": channel, "name": "solo-deal", "archived": False, "private": False}],
        theirs=[],
        pending=[],
        is_enterprise_install=False,
        view_id=None,
        installation_team=None,
    )
    dm = await fake_slack.wait_for(lambda: fake_slack.messages_to(grid.admin), what="the summary DM")
    assert "outside your organization" in dm[-1]["text"]
    assert fake_slack.calls_to(ADMIN_CALL) == [] and solo in fake_slack.channels[channel].connected_teams
    rows = await slack.built.audit_log.latest(50)
    assert any(r["job_id"] == job_id and r["outcome"].startswith("not_outside:") for r in rows)


async def test_everything_says_so_when_slack_has_not_finished_in_the_time_watched(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.external_disconnect_delay = 60.0  # Slack still at it when the watch ends
    everything = slack.built.services["everything"]
    everything.poll_seconds, everything.watch_seconds = 0.1, 0.5
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    confirm = await everything_confirmation(slack, fake_slack, grid)
    await slack.submit_view(confirm["id"], {}, user_id=grid.admin)
    said = await told(fake_slack, grid.admin, "still lists it as CONNECTED")
    assert "may still finish" in said and "Before: 1 public channel" in said
    assert len(fake_slack.calls_to("team.externalTeams.disconnect")) == 1


@pytest.mark.parametrize("state", ["called", "sent"])
async def test_an_everything_job_picked_up_again_never_asks_slack_twice(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid, state: str
) -> None:
    """A job left by a stopped instance: after the call (`called`), it only watches; with the call perhaps sent
    (`sent`, no answer recorded) and Slack already listing the partner as disconnected, it doesn't call again."""
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    fake_slack._disconnected(grid.partner)  # Slack finished what the first instance asked
    everything = slack.built.services["everything"]
    everything.poll_seconds = 0.1
    payload = {"partner": grid.partner, "partner_name": "Partner Corp", state: True, "called_at": time.time()}
    payload["before"] = {"public": 1, "private": 0, "dms": 0, "group_dms": 0}
    dm = await everything_job_summary(slack, fake_slack, grid, payload)
    assert "disconnected from everything" in dm[-1]["text"] and "Before: 1 public channel" in dm[-1]["text"]
    assert fake_slack.calls_to("team.externalTeams.disconnect") == []


async def test_a_partner_sharing_only_dms_is_offered_everything_from_the_directory(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("dm", connected=[grid.partner], is_im=True)
    fake_slack.add_shared_channel("group", connected=[grid.partner], is_mpim=True)
    await slack.home_opened(grid.admin)
    (row,) = partner_rows(await home_after(fake_slack, grid.admin, 1))
    assert "0 public channels, 0 private channels, 1 DM, 1 group DM" in row["text"]["text"]
    await press_in_home(slack, fake_slack, grid.admin, row)
    confirm = await fake_slack.wait_for(
        lambda: next(
            (v for v in fake_slack.views_with(EVERYTHING_CONFIRM_CALLBACK) if "Slack counts" in json.dumps(v)), None
        ),
        what="the everything confirmation",
    )
    assert "1 DM, 1 group DM" in json.dumps(confirm["blocks"]) and fake_slack.views_with("offboard_plan") == []


async def test_a_partner_sharing_only_dms_is_offered_everything_by_the_command(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """`/disconnect-shared all <partner>`: the search finds no channel, Slack's directory counts a DM and a group DM:
    not "nothing shared" alone but the everything way, whose confirmation then opens (no call yet)."""
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("dm", connected=[grid.partner], is_im=True)
    fake_slack.add_shared_channel("group", connected=[grid.partner], is_mpim=True)
    await slack.command(COMMAND, f"all {grid.partner}", channel_id="", user_id=grid.admin)
    (answer,) = await fake_slack.wait_for(lambda: fake_slack.views_with(DMS_ONLY_CALLBACK), what="the answer")
    said = json.dumps(answer["blocks"])
    assert "isn't connected to any channel" in said and "1 DM, 1 group DM" in said
    await press_in_modal(slack, fake_slack, answer["id"], EVERYTHING_ACTION, grid.admin)
    confirm = await fake_slack.wait_for(
        lambda: next(
            (v for v in fake_slack.views_with(EVERYTHING_CONFIRM_CALLBACK) if "Slack counts" in json.dumps(v)), None
        ),
        what="the everything confirmation",
    )
    assert "1 DM, 1 group DM" in json.dumps(confirm["blocks"]) and fake_slack.views_with("offboard_plan") == []
    assert fake_slack.calls_to("team.externalTeams.disconnect") == []


async def test_the_channel_form_names_a_partner_org_from_the_directory(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """Before, organizations showed by ID in /disconnect-shared's form ("Slack documents no way to look up an org's
    name"); Slack's partner directory names them."""
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    channel = fake_slack.add_shared_channel("deal", connected=[grid.partner])
    await slack.command(COMMAND, "", channel_id=channel, user_id=grid.admin)
    form = await fake_slack.wait_for(
        lambda: next((v for v in fake_slack.views.values() if grid.partner in json.dumps(v)), None), what="the form"
    )
    assert "Partner Corp" in json.dumps(form["blocks"])


async def test_the_fake_answers_team_external_teams_as_the_reference_says(fake_slack: FakeSlack, grid: Grid) -> None:
    """https://docs.slack.dev/reference/methods/team.externalTeams.disconnect: `missing_argument`,
    `invalid_target_team`, `restricted_action`; a bot scope; the work done in the background, after a delay."""
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    org_bot = fake_slack.add_org_bot_token(scopes={"team:read"})

    async def call(method: str, token: str, **params: str) -> dict:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                fake_slack.api_url + method, data=params, headers={"Authorization": f"Bearer {token}"}
            ) as response,
        ):
            return await response.json()

    disconnect = "team.externalTeams.disconnect"
    assert (await call(disconnect, org_bot, target_team=grid.partner))["error"] == "missing_scope"
    assert (await call(LIST, org_bot))["error"] == "missing_scope"
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    assert (await call(disconnect, grid.admin_token, target_team=grid.partner))["error"] == "not_allowed_token_type"
    assert (await call(disconnect, org_bot))["error"] == "missing_argument"
    for target in (fake_slack.enterprise_id or "", grid.sales, "E0NOBODY00"):
        assert (await call(disconnect, org_bot, target_team=target))["error"] == "invalid_target_team"
    fake_slack.set_partner(grid.partner, restricted=True)
    assert (await call(disconnect, org_bot, target_team=grid.partner))["error"] == "restricted_action"
    fake_slack.set_partner(grid.partner, restricted=False)
    fake_slack.external_disconnect_delay = 0.3
    assert (await call(disconnect, org_bot, target_team=grid.partner))["ok"] is True
    (listed,) = (await call(LIST, org_bot))["organizations"]
    assert listed["connection_status"] == "CONNECTED" and listed["public_channel_count"] == 1  # not yet
    await fake_slack.wait_for(lambda: fake_slack.partner_status(grid.partner) == "DISCONNECTED", what="the disconnect")
    (listed,) = (await call(LIST, org_bot))["organizations"]
    assert listed["public_channel_count"] == 0
    assert listed["team_name"] == "Partner Corp" and listed["connected_workspaces"][0]["workspace_name"] == "Partner HQ"


async def test_our_workspace_in_a_partner_s_connected_workspaces_is_not_taken_for_theirs(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """Slack's reference doesn't say whose workspaces `connected_workspaces` lists, and `workspace_filter` ("connected
    orgs which are connected on a specified encoded workspace ID") reads as ours: a workspace found only there is not
    established outside. Our own Sales, listed under the partner while team.info can't describe it, is refused."""
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    channels = org_shared_with_sales(fake_slack, grid, 3)
    fake_slack.script("team.info", *[Scripted(body={"ok": False, "error": "team_not_found"})] * 20)
    identity = next(i for i in fake_slack.tokens.values() if i.get("kind") == "bot")
    listed = fake_slack._m_team_externalTeams_list({}, identity)
    for organization in listed["organizations"]:
        organization["connected_workspaces"] = [{"workspace_id": grid.sales, "workspace_name": "Sales"}]
    fake_slack.script(LIST, *[Scripted(body=listed)] * 20)
    fake_slack.script(SEARCH, *[Scripted(body={"ok": True, "conversations": [], "next_cursor": ""})] * 5)
    await slack.command(COMMAND, f"all {grid.sales}", channel_id="", user_id=grid.admin)
    await told(fake_slack, grid.admin, "couldn't establish", "your own organization", "offboard_plan")
    assert "Partner Corp" not in everything_said(fake_slack, grid.admin)  # not swapped for the partner either
    assert fake_slack.views_with("offboard_plan") == []
    assert fake_slack.calls_to(ADMIN_CALL) == [] and fake_slack.calls_to("team.externalTeams.disconnect") == []
    assert all(grid.sales in fake_slack.channels[c].internal for c in channels)


async def test_the_name_of_our_own_workspace_does_not_pick_a_partner_connected_to_it(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """Names are matched on a partner's own `team_name` / `team_domain`, never on its `connected_workspaces` (which may
    be ours): `/disconnect-shared all Sales` must not become an offboarding of the partner connected to our Sales."""
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    org_shared_with_sales(fake_slack, grid, 2)
    identity = next(i for i in fake_slack.tokens.values() if i.get("kind") == "bot")
    listed = fake_slack._m_team_externalTeams_list({}, identity)
    for organization in listed["organizations"]:
        organization["connected_workspaces"] = [{"workspace_id": grid.sales, "workspace_name": "Sales"}]
    fake_slack.script(LIST, *[Scripted(body=listed)] * 20)
    await slack.command(COMMAND, "all Sales", channel_id="", user_id=grid.admin)
    said = await told(fake_slack, grid.admin, "couldn't find", "offboard_plan")
    assert fake_slack.views_with("offboard_plan") == [] and "Partner Corp" not in said
    assert fake_slack.calls_to(SEARCH) == [] and fake_slack.calls_to(ADMIN_CALL) == []


async def test_an_everything_job_interrupted_while_slack_works_in_the_background_does_not_call_again(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """The call went out (`sent`), the instance stopped before recording Slack's answer, and Slack is still working
    in the background ("may take some time to complete"): the partner still shows CONNECTED. Asking again would be a
    second disconnect call (and a refusal there would be reported as the outcome); the job watches instead."""
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    fake_slack.external_disconnect_delay = 1.0
    bot = next(i for i in fake_slack.tokens.values() if i.get("kind") == "bot")
    assert fake_slack._m_team_externalTeams_disconnect({"target_team": grid.partner}, bot)["ok"]  # the first call
    assert fake_slack.partner_status(grid.partner) == "CONNECTED"
    everything = slack.built.services["everything"]
    everything.poll_seconds = 0.1
    payload = {"partner": grid.partner, "partner_name": "Partner Corp", "sent": True}
    payload["before"] = {"public": 1, "private": 0, "dms": 0, "group_dms": 0}
    dm = await everything_job_summary(slack, fake_slack, grid, payload)
    assert len(dm) == 1 and "disconnected from everything" in dm[0]["text"]
    assert fake_slack.calls_to("team.externalTeams.disconnect") == []


async def test_an_interrupted_everything_job_that_sees_no_change_says_it_cannot_tell(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """Interrupted with the call perhaps never sent: no second call either; the one summary says the app can't tell."""
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    everything = slack.built.services["everything"]
    everything.poll_seconds, everything.watch_seconds = 0.1, 0.5
    payload = {"partner": grid.partner, "partner_name": "Partner Corp", "sent": True}
    dm = await everything_job_summary(slack, fake_slack, grid, payload)
    assert len(dm) == 1 and "can't tell whether Slack received" in dm[0]["text"]
    assert fake_slack.calls_to("team.externalTeams.disconnect") == []


async def test_a_directory_too_long_to_read_is_not_taken_for_the_partner_gone(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """The watch reads at most MAX_PAGES pages: a directory that goes on past them (or a cursor that never ends) hasn't
    shown the partner gone, so the job must not say "disconnected from everything"."""
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    other = fake_slack.add_org("Other Corp")
    fake_slack.add_shared_channel("other", connected=[other])
    bot = next(i for i in fake_slack.tokens.values() if i.get("kind") == "bot")
    page = fake_slack._m_team_externalTeams_list({"limit": 1, "sort_field": "team_name"}, bot)
    page["organizations"] = [o for o in page["organizations"] if o["team_id"] != grid.partner] or [
        fake_slack._organization(other)
    ]
    page["response_metadata"] = {"next_cursor": other}
    fake_slack.script(LIST, *[Scripted(body=page)] * 400)
    everything = slack.built.services["everything"]
    everything.poll_seconds, everything.watch_seconds = 0.1, 0.5
    payload = {"partner": grid.partner, "partner_name": "Partner Corp", "called": True, "called_at": time.time()}
    dm = await everything_job_summary(slack, fake_slack, grid, payload)
    assert len(dm) == 1 and "disconnected from everything" not in dm[0]["text"]
    assert "Slack accepted the disconnect, but after" in dm[0]["text"] and "still lists it as" in dm[0]["text"]


async def test_everything_for_a_partner_slack_already_lists_disconnected_calls_nothing_and_says_so(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """A partner whose directory entry says DISCONNECTED (still offered by `/disconnect-shared all E…`): the job
    checks Slack's entry as it starts, calls nothing, and its one summary doesn't claim a disconnect it didn't make."""
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    fake_slack.set_partner(grid.partner, status="DISCONNECTED")
    everything = slack.built.services["everything"]
    everything.poll_seconds = 0.1
    dm = await everything_job_summary(
        slack, fake_slack, grid, {"partner": grid.partner, "partner_name": "Partner Corp"}
    )
    assert len(dm) == 1 and "already listed it as DISCONNECTED" in dm[0]["text"]
    assert "disconnected from everything" not in dm[0]["text"]
    assert fake_slack.calls_to("team.externalTeams.disconnect") == []


async def test_an_everything_job_that_fails_for_good_says_once_that_slack_accepted_the_call(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error that isn't the database's, every attempt, while watching after the one call: the job ends FAILED after
    its attempts, never calls Slack twice, audits its end, and the admin hears once that Slack accepted the call."""
    from services.disconnecting import everything
    from services.jobs.queue import FAILED, MAX_ATTEMPTS

    async def broken_watch(*args: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(everything, "watch_partner", broken_watch)
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    confirm = await everything_confirmation(slack, fake_slack, grid)
    await slack.submit_view(confirm["id"], {}, user_id=grid.admin)
    said = await told(fake_slack, grid.admin, "stopped for good")
    assert "I couldn't finish disconnecting everything, DMs included, from *Partner Corp*" in said
    assert "of 1 disconnect request: 1 done, 0 failed, 0 not done" in said
    assert "Slack accepted the disconnect request" in said
    assert [c["target_team"] for c in fake_slack.calls_to("team.externalTeams.disconnect")] == [grid.partner]
    (job,) = await slack.built.jobs.store.all(kind=OFFBOARD_EVERYTHING)
    assert job.status == FAILED and job.attempts == MAX_ATTEMPTS
    rows = await slack.built.audit_log.latest(50)
    assert [r["outcome"] for r in rows if r["event"] == "finished"] == ["everything:given_up:called"]
    posts = [p for url in fake_slack.response_urls.values() for p in url.posts if "stopped for good" in p["text"]]
    assert len(posts) + len([m for m in fake_slack.messages_to(grid.admin) if "stopped for good" in m["text"]]) == 1


async def everything_job_summary(slack: SlackSender, fake: FakeSlack, grid: Grid, payload: dict) -> list[dict]:
    """An "everything" job of the partner as a restart finds it (written with `payload`, then the runner woken): the
    DMs the admin gets, once there is one."""
    everything = slack.built.services["everything"]
    await everything.runner.store.create(
        OFFBOARD_EVERYTHING,
        user_id=grid.admin,
        items=[{"id": grid.partner, "outcome": None}],
        enterprise_id=fake.enterprise_id,
        team_id=fake.team_id,
        payload=payload,
    )
    everything.runner.wake()
    return await fake.wait_for(lambda: fake.messages_to(grid.admin), what="the summary DM")
