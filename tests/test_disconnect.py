"""/disconnect-shared end to end: command → form → confirmation → one admin call per workspace → outcome, audited."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.disconnecting.admins import is_org_admin
from services.disconnecting.shared_channels import MAX_PARTIES_PER_RUN, DisconnectResult, Party, SharedChannel
from services.error_texts import (
    ADMIN_ONLY,
    ADMIN_TOKEN_MISSING,
    CHANNEL_PROBLEMS,
    DISCONNECT_ERRORS,
    TokenSource,
    error_text,
)
from services.ui import capitalize
from services.ui.disconnect import (
    CHANNEL_ACTION,
    CHANNEL_BLOCK,
    CONFIRM_CALLBACK,
    FORM_CALLBACK,
    TEAMS_BLOCK_PREFIX,
    ConfirmMetadata,
    FormMetadata,
    checking_modal,
    confirm_modal,
    form_modal,
    outcome_message,
    team_label,
)
from tests.helpers.app import Org, settings_for, suite_database
from tests.helpers.disconnect import ADMIN_CALL, audit_rows, confirm_view, disconnect, form_values, open_form
from tests.helpers.fake_slack import DISCONNECT_ERROR_CODES, FakeSlack
from tests.helpers.slack_requests import SlackSender


@pytest.fixture
def settings_overrides(org: Org) -> dict[str, Any]:
    """The app with the org's admin token."""
    return {"admin_token": org.admin_token}


def forge_confirmation(fake: FakeSlack, response_url: str, channel: str, *teams: str) -> str:
    """A confirmation view the form never showed, as a forged or replayed submission would carry it."""
    return fake.record_view_push(
        {
            "type": "modal",
            "callback_id": CONFIRM_CALLBACK,
            "title": {"type": "plain_text", "text": "Confirm disconnect"},
            "blocks": [],
            "private_metadata": ConfirmMetadata(response_url, channel, teams).encode(),
        }
    )


async def test_an_admin_disconnects_one_workspace(slack: SlackSender, fake_slack: FakeSlack, org: Org) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    view_id, _ = await open_form(slack, fake_slack, org.admin, channel)
    form = json.dumps(fake_slack.views[view_id]["blocks"], ensure_ascii=False)
    assert "Alpha Partners" in form and "Home Workspace" in form and "can't be removed" in form

    outcome = await disconnect_after_open(slack, fake_slack, org, channel, view_id, [org.alpha])
    assert outcome["text"] == f"Disconnected from <#{channel}>: {team_label(org.alpha, 'Alpha Partners')}."
    calls = [c for c in fake_slack.calls if c.method == ADMIN_CALL]
    assert [(c.params["channel_id"], c.params["leaving_team_ids"], c.token) for c in calls] == [
        (channel, org.alpha, org.admin_token)
    ]
    assert fake_slack.channels[channel].connected_teams == []
    rows = await audit_rows(slack)
    assert [(r["event"], r["leaving_team_id"], r["outcome"]) for r in rows] == [
        ("confirmed", org.alpha, "pending"),
        ("succeeded", org.alpha, "ok"),
    ]
    assert all(r["user_id"] == org.admin and r["channel_id"] == channel for r in rows)
    assert all(r["team_id"] == fake_slack.team_id and r["enterprise_id"] == fake_slack.enterprise_id for r in rows)


async def disconnect_after_open(
    slack: SlackSender, fake: FakeSlack, org: Org, channel: str, view_id: str, teams: list[str]
) -> dict:
    body_url = json.loads(fake.views[view_id]["private_metadata"])["r"]
    await slack.submit_view(view_id, form_values(channel, teams), user_id=org.admin)
    confirm = await confirm_view(slack, fake)
    await slack.submit_view(confirm["id"], {}, user_id=org.admin)
    return await fake.next_post(body_url)


async def test_an_admin_disconnects_two_workspaces_with_one_call_each_in_order(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("vendors", connected=[org.alpha, org.beta])
    outcome = await disconnect(slack, fake_slack, org, channel, [org.beta, org.alpha])
    assert outcome["text"] == (
        f"Disconnected from <#{channel}>: "
        f"{team_label(org.beta, 'Beta Vendors')}, {team_label(org.alpha, 'Alpha Partners')}."
    )
    calls = fake_slack.calls_to(ADMIN_CALL)
    assert [c["leaving_team_ids"] for c in calls] == [org.beta, org.alpha]
    rows = await audit_rows(slack)
    assert [(r["event"], r["leaving_team_id"]) for r in rows] == [
        ("confirmed", org.beta),
        ("succeeded", org.beta),
        ("confirmed", org.alpha),
        ("succeeded", org.alpha),
    ]


async def test_a_non_admin_is_refused_audited_and_shown_no_form(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    _, body = await slack.command("/disconnect-shared", "", channel_id=channel, user_id=org.member)
    post = await fake_slack.next_post(body["response_url"])
    assert post == {"response_type": "ephemeral", "text": ADMIN_ONLY}
    assert fake_slack.views_with(FORM_CALLBACK) == []
    assert all(b["type"] != "input" for v in fake_slack.views.values() for b in v["blocks"])
    assert fake_slack.calls_to(ADMIN_CALL) == []
    rows = await audit_rows(slack)
    assert [(r["event"], r["user_id"], r["channel_id"], r["outcome"]) for r in rows] == [
        ("refused", org.member, channel, "not_admin")
    ]


async def test_a_forged_confirmation_for_a_non_admin_makes_no_admin_call(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    url = fake_slack.new_response_url()
    forged = forge_confirmation(fake_slack, url, channel, org.alpha)
    reply = await slack.submit_view(forged, {}, user_id=org.member)
    assert reply.status == 200
    assert (await fake_slack.next_post(url))["text"] == ADMIN_ONLY
    assert fake_slack.calls_to(ADMIN_CALL) == []
    assert [(r["event"], r["leaving_team_id"]) for r in await audit_rows(slack)] == [("refused", org.alpha)]


async def test_a_forged_form_submission_for_a_non_admin_gets_no_confirmation(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    view_id, body = await open_form(slack, fake_slack, org.admin, channel)
    await slack.submit_view(view_id, form_values(channel, [org.alpha]), user_id=org.member)
    assert (await fake_slack.next_post(body["response_url"]))["text"] == ADMIN_ONLY
    assert fake_slack.views_with(CONFIRM_CALLBACK) == []
    assert fake_slack.calls_to(ADMIN_CALL) == []
    assert [(r["event"], r["user_id"], r["outcome"]) for r in await audit_rows(slack)] == [
        ("refused", org.member, "not_admin")
    ]


async def test_an_admin_demoted_before_confirming_is_refused(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    view_id, body = await open_form(slack, fake_slack, org.admin, channel)
    await slack.submit_view(view_id, form_values(channel, [org.alpha]), user_id=org.admin)
    confirm = await confirm_view(slack, fake_slack)
    fake_slack.users[org.admin]["enterprise_user"]["is_admin"] = False
    await slack.submit_view(confirm["id"], {}, user_id=org.admin)
    assert (await fake_slack.next_post(body["response_url"]))["text"] == ADMIN_ONLY
    assert fake_slack.calls_to(ADMIN_CALL) == []


async def test_prefill_from_the_command_text(slack: SlackSender, fake_slack: FakeSlack, org: Org) -> None:
    channel = fake_slack.add_shared_channel("vendors", connected=[org.alpha, org.beta])
    elsewhere = fake_slack.add_channel("elsewhere")
    view_id, _ = await open_form(slack, fake_slack, org.admin, elsewhere, text=f"<#{channel}|vendors> {org.beta}")
    blocks = fake_slack.views[view_id]["blocks"]
    assert blocks[0]["element"]["initial_conversation"] == channel
    teams = next(b for b in blocks if b.get("block_id") == TEAMS_BLOCK_PREFIX + channel)
    assert [o["value"] for o in teams["element"]["initial_options"]] == [org.beta]
    assert [o["value"] for o in teams["element"]["options"]] == [org.alpha, org.beta]


async def test_choosing_another_channel_reloads_the_workspaces(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    first = fake_slack.add_shared_channel("first", connected=[org.alpha])
    second = fake_slack.add_shared_channel("second", connected=[org.beta])
    view_id, _ = await open_form(slack, fake_slack, org.admin, first)
    before = fake_slack.views[view_id]["hash"]
    action = {"type": "conversations_select", "action_id": CHANNEL_ACTION, "block_id": CHANNEL_BLOCK,
              "selected_conversation": second}  # fmt: skip
    reply = await slack.block_action(view_id, form_values(second), action, user_id=org.admin)
    assert reply.status == 200
    await fake_slack.wait_for(lambda: fake_slack.views[view_id]["hash"] != before, what="the reloaded form")
    teams = next(b for b in fake_slack.views[view_id]["blocks"] if b.get("block_id", "").startswith(TEAMS_BLOCK_PREFIX))
    assert teams["block_id"] == TEAMS_BLOCK_PREFIX + second
    assert [o["value"] for o in teams["element"]["options"]] == [org.beta]


@pytest.mark.parametrize(
    ("kind", "problem"),
    [("not_shared", "not_shared"), ("general", "general"), ("private_unseen", "channel_not_found")],
)
async def test_channel_choices_that_cannot_be_disconnected_are_refused_inline(
    slack: SlackSender, fake_slack: FakeSlack, org: Org, kind: str, problem: str
) -> None:
    channel = {
        "not_shared": lambda: fake_slack.add_channel("local"),
        "general": lambda: fake_slack.add_shared_channel("general", connected=[org.alpha], is_general=True),
        "private_unseen": lambda: fake_slack.add_channel("hidden", is_private=True, bot_member=False),
    }[kind]()
    view_id, _ = await open_form(slack, fake_slack, org.admin, channel)
    assert CHANNEL_PROBLEMS[problem] in json.dumps(fake_slack.views[view_id]["blocks"], ensure_ascii=False)
    reply = await slack.submit_view(view_id, form_values(channel, [org.alpha]), user_id=org.admin)
    assert reply.json() == {"response_action": "errors", "errors": {CHANNEL_BLOCK: CHANNEL_PROBLEMS[problem]}}
    assert fake_slack.calls_to(ADMIN_CALL) == []


async def test_a_dm_is_refused_inline(slack: SlackSender, fake_slack: FakeSlack, org: Org) -> None:
    dm = fake_slack.add_channel("dm", is_im=True)
    view_id, _ = await open_form(slack, fake_slack, org.admin, dm)
    reply = await slack.submit_view(view_id, form_values(dm, [org.alpha]), user_id=org.admin)
    assert reply.json()["errors"] == {CHANNEL_BLOCK: CHANNEL_PROBLEMS["dm"]}


async def test_submitting_before_the_channel_is_looked_up_asks_to_wait(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    other = fake_slack.add_shared_channel("other", connected=[org.beta])
    view_id, _ = await open_form(slack, fake_slack, org.admin, channel)
    reply = await slack.submit_view(view_id, form_values(other, [org.beta]), user_id=org.admin)
    assert reply.json()["errors"] == {CHANNEL_BLOCK: CHANNEL_PROBLEMS["loading"]}


async def test_no_workspace_chosen(slack: SlackSender, fake_slack: FakeSlack, org: Org) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    view_id, _ = await open_form(slack, fake_slack, org.admin, channel)
    reply = await slack.submit_view(view_id, form_values(channel, []), user_id=org.admin)
    assert reply.json()["errors"] == {TEAMS_BLOCK_PREFIX + channel: CHANNEL_PROBLEMS["no_team_chosen"]}


@pytest.mark.parametrize("code", DISCONNECT_ERROR_CODES)
async def test_every_documented_error_code_has_its_sentence(
    slack: SlackSender, fake_slack: FakeSlack, org: Org, code: str
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    fake_slack.fail(ADMIN_CALL, code, times=10)
    outcome = await disconnect(slack, fake_slack, org, channel, [org.alpha])
    team = team_label(org.alpha, "Alpha Partners")
    mention = f"<#{channel}>"
    source = TokenSource.setting()
    sentence = error_text(
        DISCONNECT_ERRORS,
        code,
        team=team,
        channel=mention,
        action=f"disconnect {team} from {mention}",
        token=source.name,
        fix=source.fix,
    )
    assert outcome["text"] == f"Nothing was disconnected from {mention}:\n• {capitalize(sentence)} (`{code}`)"
    assert len(fake_slack.calls_to(ADMIN_CALL)) == 1, "an admin action is never sent twice"
    rows = await audit_rows(slack)
    assert (rows[-1]["event"], rows[-1]["outcome"]) == ("failed", code)


@pytest.mark.parametrize("who", ["host", "our_org", "sister_workspace", "not_connected"])
async def test_a_forged_confirmation_never_reaches_the_admin_call(
    slack: SlackSender, fake_slack: FakeSlack, org: Org, who: str
) -> None:
    """A confirmation the form never showed, naming what the form never offers, is refused and audited."""
    sister = fake_slack.add_team("Sister", enterprise_id=fake_slack.enterprise_id)
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha], internal=[sister])
    target = {"host": fake_slack.team_id, "our_org": fake_slack.make_grid(), "sister_workspace": sister,
              "not_connected": org.beta}[who]  # fmt: skip
    url = fake_slack.new_response_url()
    confirm = forge_confirmation(fake_slack, url, channel, target)
    await slack.submit_view(confirm, {}, user_id=org.admin)
    outcome = await fake_slack.next_post(url)
    assert "Nothing was changed" in outcome["text"]
    assert fake_slack.calls_to(ADMIN_CALL) == []
    assert sister in fake_slack.channels[channel].internal
    rows = await audit_rows(slack)
    assert [(r["event"], r["outcome"]) for r in rows] == [("refused", "channel:team_not_connected")]


async def test_a_forged_confirmation_on_a_partner_hosted_channel_is_refused(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    partner = fake_slack.add_org("Partner Corp")
    partner_ws = fake_slack.add_team("Partner HQ", enterprise_id=partner)
    channel = fake_slack.add_shared_channel("theirs", host=partner_ws, connected=[fake_slack.make_grid(), org.alpha])
    url = fake_slack.new_response_url()
    await slack.submit_view(forge_confirmation(fake_slack, url, channel, org.alpha), {}, user_id=org.admin)
    outcome = await fake_slack.next_post(url)
    assert "Partner HQ" in outcome["text"] and "only the organization that created a channel" in outcome["text"]
    assert fake_slack.calls_to(ADMIN_CALL) == []
    assert [r["outcome"] for r in await audit_rows(slack)] == ["channel:partner_hosted"]


async def test_allow_listed_users_may_disconnect(fake_slack: FakeSlack, org: Org, tmp_path) -> None:
    from tests.helpers.app import running_app

    settings = settings_for(
        fake_slack,
        admin_token=org.admin_token,
        admin_user_ids=frozenset({org.member}),
        database_url=await suite_database(tmp_path),
    )
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    async with running_app(fake_slack, settings) as slack:
        view_id, body = await open_form(slack, fake_slack, org.member, channel)
        await slack.submit_view(view_id, form_values(channel, [org.alpha]), user_id=org.member)
        confirm = await confirm_view(slack, fake_slack)
        await slack.submit_view(confirm["id"], {}, user_id=org.member)
        outcome = await fake_slack.next_post(body["response_url"])
    assert outcome["text"].startswith("Disconnected from")
    # Allow-listed people are still looked up: they count only inside the org the app serves.
    assert {c.params["user"] for c in fake_slack.calls if c.method == "users.info"} == {org.member}


async def test_without_an_admin_token_the_admin_is_told_exactly_what_is_missing(
    fake_slack: FakeSlack, org: Org, tmp_path
) -> None:
    from tests.helpers.app import running_app

    settings = settings_for(fake_slack, database_url=await suite_database(tmp_path))
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    async with running_app(fake_slack, settings) as slack:
        _, body = await slack.command("/disconnect-shared", "", channel_id=channel, user_id=org.admin)
        post = await fake_slack.next_post(body["response_url"])
        rows = await audit_rows(slack)
    assert post["text"] == ADMIN_TOKEN_MISSING
    assert "SLACK_ADMIN_TOKEN" in post["text"] and "admin.conversations:write" in post["text"]
    assert "org-wide install" in post["text"] and "Channel Management" in post["text"]
    assert fake_slack.views_with(FORM_CALLBACK) == []
    assert [(r["event"], r["outcome"]) for r in rows] == [("refused", "admin_token_missing")]


async def test_usage_for_help_and_unreadable_text(slack: SlackSender, fake_slack: FakeSlack, org: Org) -> None:
    reply, _ = await slack.command("/disconnect-shared", "please <!here>", channel_id="C0123ABCDE", user_id=org.admin)
    text = reply.json()["text"]
    assert "/disconnect-shared #shared-channel E0123ABCD" in text
    assert "<!here>" not in text
    assert fake_slack.views == {}


async def test_the_audit_log_survives_a_restart(fake_slack: FakeSlack, org: Org, database_url: str) -> None:
    from services.audit.log import AuditLog
    from services.storage.database import Database
    from tests.helpers.app import running_app

    url = database_url
    settings = settings_for(fake_slack, admin_token=org.admin_token, database_url=url)
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    async with running_app(fake_slack, settings) as slack:
        _, body = await slack.command("/disconnect-shared", "", channel_id=channel, user_id=org.member)
        await fake_slack.next_post(body["response_url"])
    database = Database(url)
    rows = await AuditLog(database).latest(5)
    await database.close()
    assert [(r["event"], r["user_id"]) for r in rows] == [("refused", org.member)]


def test_fake_follows_the_seed_for_more_than_two_teams_and_token_kinds() -> None:
    """The fake's own semantics, as the reference page states them (the app never omits leaving_team_ids)."""
    fake = FakeSlack()
    fake.make_grid()
    alpha, beta = fake.add_team("A"), fake.add_team("B")
    token = fake.add_admin_token()
    admin = fake.tokens[token]
    channel = fake.add_shared_channel("c", connected=[alpha, beta])
    call = fake._m_admin_conversations_disconnectShared
    assert call({"channel_id": channel}, admin)["error"] == "leaving_team_required"
    assert call({"channel_id": channel, "leaving_team_ids": f"{alpha},{beta}"}, admin)["error"] == "invalid_arguments"
    assert call({"channel_id": channel, "leaving_team_ids": fake.team_id}, admin)["error"] == "cannot_kick_home_team"
    assert call({"channel_id": channel, "leaving_team_ids": alpha}, fake.tokens[fake.bot_token])["error"] == (
        "not_allowed_token_type"
    )
    assert call({"channel_id": channel, "leaving_team_ids": alpha}, admin) == {"ok": True}
    assert call({"channel_id": channel, "leaving_team_ids": alpha}, admin)["error"] == "leaving_team_not_in_channel"
    assert call({"channel_id": channel}, admin) == {"ok": True}  # two teams left: the other one goes
    assert call({"channel_id": channel}, admin)["error"] == "no_teams_to_disconnect"


def long_shared_channel(n: int) -> SharedChannel:
    teams = tuple(Party(f"T{i:010d}" if i % 2 else f"E{i:010d}", "limited" if i % 3 else "connected") for i in range(n))
    names = {t.id: "Ünïcode Workspace <with> *markup* & a very long name " * 6 for t in teams}
    names["THOST00000"] = "Host"
    return SharedChannel("C0123ABCDE", "x" * 80, "THOST00000", teams, names, None, "EHOST00000")


@pytest.mark.parametrize("n", [1, 3, 100, 250])
def test_disconnect_views_hold_block_kit_limits_with_long_names(n: int) -> None:
    shared = long_shared_channel(n)
    metadata = FormMetadata.for_channel("https://hooks.slack.com/commands/T1/2/3", shared).encode()
    assert len(metadata) <= 3000
    chosen = shared.team_ids[:MAX_PARTIES_PER_RUN]  # one run disconnects at most 20
    confirm_metadata = ConfirmMetadata("https://hooks.slack.com/commands/T1/2/3", "C0123ABCDE", chosen)
    for view in (
        checking_modal("disconnect-confirm-" + "f" * 32),
        form_modal("C0123ABCDE", shared, shared.team_ids[:2], metadata),
        form_modal("C0123ABCDE", None, (), metadata),
        confirm_modal(shared, chosen, confirm_metadata.encode(), "ext"),
    ):
        data = view.to_dict()  # slack_sdk.models validates Block Kit's limits here
        assert len(data["blocks"]) <= 100
        for block in data["blocks"]:
            assert len(block.get("text", {}).get("text", "")) <= 3000
            element = block.get("element", {})
            groups = element.get("option_groups", [])
            assert len(groups) <= 100 and len(element.get("options", [])) <= 100
            for option in [*element.get("options", []), *(o for g in groups for o in g["options"])]:
                assert len(option["text"]["text"]) <= 75
    assert "<with>" not in json.dumps(confirm_modal(shared, shared.team_ids, "{}", "ext").to_dict())


def test_outcome_message_escapes_team_names() -> None:
    results = [DisconnectResult("T1", None), DisconnectResult("T2", "restricted_action")]
    text = outcome_message("C1", results, {"T1": "<!channel> Evil", "T2": "Fine & Co"})["text"]
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; Evil" in text and "Fine &amp; Co" in text
    assert text.splitlines()[0].startswith("Disconnected from <#C1>:")
    assert text.splitlines()[1] == "Not disconnected from <#C1>:"


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        ({"is_admin": True, "enterprise_user": {"is_admin": False, "is_owner": False}}, False),
        ({"enterprise_user": {"is_admin": True}}, True),
        ({"enterprise_user": {"is_owner": True}}, True),
        ({"enterprise_user": {"is_primary_owner": True}}, True),
        # Outside an Enterprise org nobody is an Org Admin: a standalone workspace's admins don't count.
        ({"is_admin": True}, False),
        ({"is_owner": True}, False),
        ({"is_primary_owner": True}, False),
        ({"is_admin": False, "is_restricted": True}, False),
        ({"enterprise_user": {"is_admin": "true"}}, False),
    ],
)
def test_who_counts_as_an_admin(user: dict, allowed: bool) -> None:
    assert is_org_admin(user) is allowed
