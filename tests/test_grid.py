"""/disconnect-shared on Enterprise Grid and Slack Connect as Slack really shapes them (../shared/slack-samples/).

Each test names the numbered problem of the Grid issue it covers: (2) the shared-channel model, (4) admin power bound
to one org, (5) no blind retry of the admin call, (7) error texts that name where the admin token came from.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from server.oauth import ADMIN_INSTALL_PATH
from services.error_texts import ADMIN_TOKEN_OTHER_ORG, CHANNEL_PROBLEMS, NOT_ON_GRID, OTHER_ORG
from services.slack.client import build_web_client, client_like, close_session
from services.slack.identity import StartupError
from services.slack.outcomes import call_outcome
from services.ui.disconnect import FORM_CALLBACK, team_label
from tests.helpers.app import Org, running_app, settings_for, suite_database
from tests.helpers.disconnect import ADMIN_CALL, audit_rows, confirm_view, disconnect, form_values, open_form
from tests.helpers.fake_slack import FakeSlack, Scripted
from tests.helpers.oauth import oauth_settings_for, through_slack
from tests.helpers.slack_requests import SlackSender


@pytest.fixture
def settings_overrides(org: Org) -> dict[str, Any]:
    """The app with the org's admin token."""
    return {"admin_token": org.admin_token}


def form_of(fake: FakeSlack, view_id: str) -> str:
    return json.dumps(fake.views[view_id]["blocks"], ensure_ascii=False)


def offered(fake: FakeSlack, view_id: str) -> list[str]:
    """The IDs the form offers to disconnect."""
    for block in fake.views[view_id]["blocks"]:
        element = block.get("element") or {}
        if element.get("type") == "multi_static_select":
            return [o["value"] for o in element["options"]]
    return []


# ---- (2) the shared-channel model ---------------------------------------------------------------------------------


async def test_the_form_offers_only_outside_parties_never_us_or_the_host(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    partner = fake_slack.add_org("Partner Corp")
    invited = fake_slack.add_org("Invited Ltd")
    limited = fake_slack.add_team("Limited Co")
    channel = fake_slack.add_shared_channel(
        "deal-room", connected=[partner, org.alpha], pending=[invited], limited=[limited]
    )
    view_id, _ = await open_form(slack, fake_slack, org.admin, channel)
    assert offered(fake_slack, view_id) == [partner, org.alpha, limited]
    form = form_of(fake_slack, view_id)
    assert f"organization {partner}" in form  # an org shown as an org
    assert f"Alpha Partners (workspace {org.alpha})" in form
    assert "limited connection" in form
    assert "Invitation pending" in form and invited in form
    for ours in (fake_slack.team_id, fake_slack.enterprise_id):
        assert ours not in offered(fake_slack, view_id)


async def test_an_organisation_is_disconnected_by_its_org_id(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    partner = fake_slack.add_org("Partner Corp")
    channel = fake_slack.add_shared_channel("deal-room", connected=[partner])
    outcome = await disconnect(slack, fake_slack, org, channel, [partner])
    assert outcome["text"] == f"Disconnected from <#{channel}>: {team_label(partner, None)}."
    assert [c["leaving_team_ids"] for c in fake_slack.calls_to(ADMIN_CALL)] == [partner]
    assert fake_slack.channels[channel].connected_teams == []


async def test_a_typed_org_id_is_preselected(slack: SlackSender, fake_slack: FakeSlack, org: Org) -> None:
    partner = fake_slack.add_org("Partner Corp")
    channel = fake_slack.add_shared_channel("deal-room", connected=[partner, org.alpha])
    view_id, _ = await open_form(slack, fake_slack, org.admin, channel, text=f"<#{channel}> {partner}")
    teams = next(b for b in fake_slack.views[view_id]["blocks"] if b.get("block_id", "").endswith(channel))
    assert [o["value"] for o in teams["element"]["initial_options"]] == [partner]


async def test_a_channel_hosted_by_a_partner_is_refused_before_any_admin_call(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    partner = fake_slack.add_org("Partner Corp")
    partner_ws = fake_slack.add_team("Partner HQ", enterprise_id=partner)
    our_org = fake_slack.make_grid()  # the org fixture's: its ID
    channel = fake_slack.add_shared_channel("their-room", host=partner_ws, connected=[our_org])
    view_id, _ = await open_form(slack, fake_slack, org.admin, channel)
    form = form_of(fake_slack, view_id)
    assert offered(fake_slack, view_id) == []
    assert "Partner HQ" in form and "only the organization that created a channel" in form
    # A submission anyway (a stale form) is refused inline; a forged confirmation is refused before the admin call.
    reply = await slack.submit_view(view_id, form_values(channel, [our_org]), user_id=org.admin)
    assert reply.json()["response_action"] == "errors"
    assert fake_slack.calls_to(ADMIN_CALL) == []


async def test_a_channel_shared_only_inside_our_org_is_explained(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    sister = fake_slack.add_team("Sister Workspace", enterprise_id=fake_slack.enterprise_id)
    channel = fake_slack.add_shared_channel("org-wide", connected=[sister])
    view_id, _ = await open_form(slack, fake_slack, org.admin, channel)
    assert CHANNEL_PROBLEMS["org_shared_only"] in form_of(fake_slack, view_id)
    assert offered(fake_slack, view_id) == []


async def test_a_channel_whose_host_slack_does_not_name_is_refused(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("deal-room", connected=[org.alpha])
    answer = {"ok": True, "channel": {"id": channel, "name": "deal-room", "is_channel": True, "is_shared": True,
              "is_ext_shared": True, "connected_team_ids": [org.alpha], "context_team_id": fake_slack.team_id}}  # fmt: skip
    fake_slack.script("conversations.info", Scripted(body=answer))
    view_id, _ = await open_form(slack, fake_slack, org.admin, channel)
    assert CHANNEL_PROBLEMS["host_unknown"] in form_of(fake_slack, view_id)
    assert offered(fake_slack, view_id) == []


# ---- (4) admin power bound to one org -----------------------------------------------------------------------------


async def test_a_partner_orgs_admin_is_refused_and_audited_under_our_org(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    partner = fake_slack.add_org("Partner Corp")
    partner_ws = fake_slack.add_team("Partner HQ", enterprise_id=partner)
    outsider = fake_slack.add_user(org_admin=True, team_id=partner_ws)
    channel = fake_slack.add_shared_channel("deal-room", connected=[partner])
    _, body = await slack.command(
        "/disconnect-shared", f"<#{channel}> {partner}", channel_id=channel, user_id=outsider,
        team_id=partner_ws, enterprise_id=partner,
    )  # fmt: skip
    said = await fake_slack.next_post(body["response_url"])
    assert said["text"] == OTHER_ORG
    assert fake_slack.calls_to(ADMIN_CALL) == []
    rows = await audit_rows(slack)
    assert [(r["event"], r["outcome"], r["enterprise_id"]) for r in rows] == [
        ("refused", "other_org", fake_slack.enterprise_id)
    ]


async def test_an_admin_token_of_another_org_is_never_used(fake_slack: FakeSlack, org: Org, tmp_path) -> None:
    partner = fake_slack.add_org("Partner Corp")
    partner_ws = fake_slack.add_team("Partner HQ", enterprise_id=partner)
    foreign_token = fake_slack.add_admin_token(team_id=partner_ws)
    settings = settings_for(fake_slack, admin_token=foreign_token, database_url=await suite_database(tmp_path))
    channel = fake_slack.add_shared_channel("deal-room", connected=[org.alpha])
    async with running_app(fake_slack, settings) as slack:
        _, body = await slack.command("/disconnect-shared", "", channel_id=channel, user_id=org.admin)
        said = await fake_slack.next_post(body["response_url"])
        rows = await audit_rows(slack)
    assert said["text"] == ADMIN_TOKEN_OTHER_ORG
    assert fake_slack.calls_to(ADMIN_CALL) == []
    assert [(r["event"], r["outcome"]) for r in rows] == [("refused", "admin_token_other_org")]


async def test_an_admin_token_from_no_enterprise_org_stops_the_app_with_one_line(
    fake_slack: FakeSlack, tmp_path
) -> None:
    standalone_token = fake_slack.add_admin_token()  # the home workspace is not on Grid here
    settings = settings_for(fake_slack, admin_token=standalone_token, database_url=await suite_database(tmp_path))
    with pytest.raises(StartupError, match="SLACK_ADMIN_TOKEN isn't from an Enterprise org"):
        async with running_app(fake_slack, settings):
            pass


async def test_on_a_standalone_workspace_disconnect_says_it_needs_an_enterprise_org(
    fake_slack: FakeSlack, tmp_path
) -> None:
    owner = fake_slack.add_user(workspace_admin=True, owner=True)
    partner = fake_slack.add_team("Alpha Partners")
    channel = fake_slack.add_shared_channel("partners", connected=[partner])
    settings = settings_for(fake_slack, database_url=await suite_database(tmp_path))
    async with running_app(fake_slack, settings) as slack:
        _, body = await slack.command("/disconnect-shared", "", channel_id=channel, user_id=owner)
        said = await fake_slack.next_post(body["response_url"])
        rows = await audit_rows(slack)
    assert said["text"] == NOT_ON_GRID
    assert fake_slack.calls_to(ADMIN_CALL) == []
    assert [(r["event"], r["outcome"]) for r in rows] == [("refused", "not_an_enterprise")]


# ---- (5) no blind retry of the admin call --------------------------------------------------------------------------


async def disconnect_after_fault(slack: SlackSender, fake: FakeSlack, org: Org, fault: Scripted) -> tuple[dict, str]:
    channel = fake.add_shared_channel("deal-room", connected=[org.alpha])
    fake.script(ADMIN_CALL, fault)
    outcome = await disconnect(slack, fake, org, channel, [org.alpha])
    return outcome, channel


@pytest.mark.parametrize(
    "fault",
    [
        Scripted(status=500, text="oops", act=True),
        Scripted(status=503, text="busy", act=True),
        Scripted(body={"ok": False, "error": "internal_error"}, act=True),
        Scripted(reset=True, act=True),
    ],
    ids=["500", "503", "internal_error", "reset"],
)
async def test_a_disconnect_that_happened_behind_an_error_is_confirmed_not_retried(
    slack: SlackSender, fake_slack: FakeSlack, org: Org, fault: Scripted
) -> None:
    outcome, channel = await disconnect_after_fault(slack, fake_slack, org, fault)
    assert len(fake_slack.calls_to(ADMIN_CALL)) == 1
    assert outcome["text"].startswith(f"Disconnected from <#{channel}>: {team_label(org.alpha, 'Alpha Partners')}.")
    assert "confirmed after an error from Slack" in outcome["text"]
    rows = await audit_rows(slack)
    assert rows[-1]["event"] == "succeeded" and rows[-1]["outcome"].startswith("ok_after:")


async def test_a_disconnect_that_did_not_happen_behind_an_error_is_reported_as_failed(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    outcome, channel = await disconnect_after_fault(slack, fake_slack, org, Scripted(status=500, text="oops"))
    assert len(fake_slack.calls_to(ADMIN_CALL)) == 1
    assert outcome["text"].startswith(f"Nothing was disconnected from <#{channel}>:")
    assert "(`slack_server_error`)" in outcome["text"]
    assert fake_slack.channels[channel].connected_teams == [org.alpha]
    rows = await audit_rows(slack)
    assert (rows[-1]["event"], rows[-1]["outcome"]) == ("failed", "slack_server_error")


async def test_when_the_channel_cannot_be_read_again_the_outcome_is_said_to_be_unknown(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("deal-room", connected=[org.alpha])
    view_id, body = await open_form(slack, fake_slack, org.admin, channel)
    await slack.submit_view(view_id, form_values(channel, [org.alpha]), user_id=org.admin)
    confirm = await confirm_view(slack, fake_slack)
    fake_slack.script(ADMIN_CALL, Scripted(status=500, text="oops", act=True))
    # The confirmation reads the channel once before the admin call (answered as usual); the read after it fails.
    before = fake_slack._m_conversations_info({"channel": channel}, fake_slack.tokens[fake_slack.bot_token])
    fake_slack.script("conversations.info", Scripted(body=before))
    fake_slack.fail("conversations.info", "internal_error", times=5)
    await slack.submit_view(confirm["id"], {}, user_id=org.admin)
    outcome = await fake_slack.next_post(body["response_url"])
    assert "I couldn't tell whether" in outcome["text"] and "(`slack_server_error`)" in outcome["text"]
    rows = await audit_rows(slack)
    assert (rows[-1]["event"], rows[-1]["outcome"]) == ("failed", "outcome_unknown:slack_server_error")


async def test_a_rate_limited_disconnect_still_waits_and_retries(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    """429 means nothing happened: the call is retried after Retry-After."""
    limited = Scripted(body={"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"})
    outcome, channel = await disconnect_after_fault(slack, fake_slack, org, limited)
    assert len(fake_slack.calls_to(ADMIN_CALL)) == 2
    assert outcome["text"] == f"Disconnected from <#{channel}>: {team_label(org.alpha, 'Alpha Partners')}."


# ---- (7) error texts name where the admin token came from ----------------------------------------------------------


async def test_errors_about_a_pasted_admin_token_name_the_setting(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("deal-room", connected=[org.alpha])
    fake_slack.fail(ADMIN_CALL, "token_revoked")
    outcome = await disconnect(slack, fake_slack, org, channel, [org.alpha])
    assert "The admin token in SLACK_ADMIN_TOKEN was revoked" in outcome["text"]


async def test_the_form_lists_workspaces_by_kind(slack: SlackSender, fake_slack: FakeSlack, org: Org) -> None:
    """Sanity for the labels the other tests rely on."""
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    view_id, _ = await open_form(slack, fake_slack, org.admin, channel)
    assert fake_slack.views[view_id]["callback_id"] == FORM_CALLBACK
    assert "(your org) created this channel" in form_of(fake_slack, view_id)


async def test_errors_about_an_installed_admin_token_name_the_install_not_the_setting(
    fake_slack: FakeSlack, tmp_path
) -> None:
    fake_slack.make_grid()
    installer = fake_slack.add_user(org_admin=True)
    partner = fake_slack.add_team("Alpha Partners")
    channel = fake_slack.add_shared_channel("deal-room", connected=[partner])
    settings = oauth_settings_for(fake_slack, await suite_database(tmp_path))
    async with running_app(fake_slack, settings) as slack:
        fake_slack.installing_as(installer, org_wide=True)
        sent_back, _ = await through_slack(slack, fake_slack, ADMIN_INSTALL_PATH)
        assert sent_back
        slack.org_wide = True
        fake_slack.fail(ADMIN_CALL, "token_revoked")
        outcome = await disconnect(slack, fake_slack, Org(installer, "", "", partner, ""), channel, [partner])
    assert f"The admin token from the org-wide install by <@{installer}> was revoked" in outcome["text"]
    assert "SLACK_ADMIN_TOKEN" not in outcome["text"] and "/slack/install/admin" in outcome["text"]


# ---- (3) org-level tokens get team_id wherever Slack requires it ---------------------------------------------------


async def test_an_org_level_bot_token_leaves_several_channels(fake_slack: FakeSlack, tmp_path) -> None:
    """users.conversations (which channels are private) needs team_id with an org token, and a limit ≤ 999."""
    fake_slack.make_grid()
    token = fake_slack.add_org_bot_token()
    channels = [fake_slack.add_channel("pub"), fake_slack.add_channel("priv", is_private=True)]
    settings = settings_for(fake_slack, bot_token=token, database_url=await suite_database(tmp_path))
    async with running_app(fake_slack, settings) as slack:
        member = fake_slack.add_user()
        for channel in channels:  # someone in the channel may make the bot leave it
            fake_slack.channels[channel].members.add(member)
        named = " ".join(f"<#{c}>" for c in channels)
        _, body = await slack.command("/leave-channel", named, channel_id=channels[0], user_id=member)
        summary = await fake_slack.next_post(body["response_url"])
    assert all(f"<#{c}>" in summary["text"] for c in channels), summary["text"]
    assert not any(fake_slack.is_member(c) for c in channels)
    listed = fake_slack.calls_to("users.conversations")
    assert listed and all(c.get("team_id") == fake_slack.team_id for c in listed)
    assert all(int(c["limit"]) <= 999 for c in listed)


async def test_outside_a_request_the_client_for_an_org_token_names_the_workspace(fake_slack: FakeSlack) -> None:
    """Background work has no Bolt context: client_like(team_id=…) gives what Bolt's per-request client would."""
    fake_slack.make_grid()
    token = fake_slack.add_org_bot_token()
    base = build_web_client(None, fake_slack.api_url, 5.0)
    try:
        _, bare = await call_outcome(client_like(base, token=token).users_conversations(limit=100))
        body, scoped = await call_outcome(
            client_like(base, token=token, team_id=fake_slack.team_id).users_conversations(limit=100)
        )
    finally:
        await close_session(base)
    assert bare == "missing_argument"
    assert scoped is None and isinstance(body.get("channels"), list)


async def test_a_standalone_owners_attempt_on_our_channel_is_seen_by_our_admins(
    fake_slack: FakeSlack, tmp_path
) -> None:
    """The issue's repro: OAuth installs of our org and of another (standalone) workspace, SLACK_ADMIN_TOKEN set."""
    enterprise_id = fake_slack.make_grid()
    admin = fake_slack.add_user(org_admin=True)
    solo = fake_slack.add_team("Solo Shop")
    owner = fake_slack.add_user(workspace_admin=True, owner=True, team_id=solo)
    channel = fake_slack.add_shared_channel("deal-room", connected=[solo])
    settings = oauth_settings_for(fake_slack, await suite_database(tmp_path), admin_token=fake_slack.add_admin_token())
    async with running_app(fake_slack, settings) as slack:
        fake_slack.installing_as(admin, org_wide=True)
        assert (await through_slack(slack, fake_slack, ADMIN_INSTALL_PATH))[0]
        fake_slack.installing_as(owner)
        assert (await through_slack(slack, fake_slack, "/slack/install"))[0]
        _, body = await slack.command(
            "/disconnect-shared", f"<#{channel}> {enterprise_id}", channel_id=channel, user_id=owner,
            team_id=solo, enterprise_id="",
        )  # fmt: skip
        said = await fake_slack.next_post(body["response_url"])
        rows = await audit_rows(slack)
        slack.org_wide = True
        await slack.home_opened(admin)
        home = await fake_slack.wait_for(lambda: fake_slack.home_of(admin), what="the admin's Home tab")
    assert said["text"] == NOT_ON_GRID
    assert fake_slack.calls_to(ADMIN_CALL) == []
    assert [(r["event"], r["outcome"], r["enterprise_id"], r["team_id"]) for r in rows] == [
        ("refused", "not_an_enterprise", enterprise_id, solo)
    ]
    assert owner in json.dumps(home["blocks"])  # our admins see the stranger's attempt
