"""Partners end to end: Slack's partner directory (team.externalTeams.list) names them and lists them in the Home tab,
and offboarding fails closed — only an organization or workspace positively known to be outside ours is ever acted on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from services.settings import Settings
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
    fake_slack.grant_bot_scopes(*DIRECTORY_SCOPES)
    fake_slack.add_shared_channel("deal", connected=[grid.partner])
    fake_slack.script("team.info", *[Scripted(body={"ok": False, "error": "team_not_found"})] * 4)
    await slack.command(COMMAND, f"all {grid.partner_workspace}", channel_id="", user_id=grid.admin)
    plan = await fake_slack.wait_for(lambda: fake_slack.views_with("offboard_plan"), what="the plan")
    assert "Partner Corp" in json.dumps(plan[0]["blocks"])  # its org, named by the directory
    assert {c["connected_team_ids"] for c in fake_slack.calls_to(SEARCH)} == {grid.partner}


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
