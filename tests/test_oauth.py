"""OAuth installs end to end (workspace and org-wide), kept in SQLite and in PostgreSQL; two instances, one database."""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from server.oauth import ADMIN_INSTALL_PATH, ADMIN_INSTALL_WHO, INSTALL_PATH
from services.audit.log import AuditEntry, AuditEvent
from services.disconnecting.admin_installs import latest_admin_installation
from services.error_texts import ORG_INSTALL_MISSING, ORG_INSTALL_WITHOUT_ADMIN_SCOPE
from services.slack.scopes import ADMIN_SCOPE, ADMIN_USER_SCOPES, BOT_SCOPES
from tests.helpers.app import running_app
from tests.helpers.disconnect import ADMIN_CALL, confirm_view, form_values, open_form
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.oauth import install, install_page, oauth_settings_for, query_of, through_slack
from tests.helpers.rejoin import has_button, leave, press
from tests.helpers.slack_requests import SlackSender


@pytest.fixture
async def oauth_app(fake_slack: FakeSlack, migrated_database_url: str) -> AsyncIterator[SlackSender]:
    async with running_app(fake_slack, oauth_settings_for(fake_slack, migrated_database_url)) as sender:
        yield sender


async def leave_as(sender: SlackSender, fake: FakeSlack, **fields: str) -> dict:
    channel = fake.add_channel("target")
    _, body = await sender.command("/leave-channel", "", channel_id=channel, **fields)
    return await fake.next_post(body["response_url"])


async def until_gone(lookup, attempts: int = 200) -> None:
    """The event is acked first and the deletion follows: poll the store (bounded) until the lookup finds nothing."""
    for _ in range(attempts):
        if await lookup() is None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the installation store still holds it")


def leave_tokens(fake: FakeSlack) -> list[str | None]:
    return [c.token for c in fake.calls if c.method == "conversations.leave"]


async def test_a_workspace_install_then_a_command_authorised_from_it(
    oauth_app: SlackSender, fake_slack: FakeSlack
) -> None:
    page = await install(oauth_app, fake_slack, fake_slack.prepare_install(user_scopes=""))
    assert "Installed on the workspace Home Workspace" in page
    assert (await leave_as(oauth_app, fake_slack))["text"].startswith("I left")
    (token,) = leave_tokens(fake_slack)
    assert token and token.startswith("xoxb-installed-")


async def test_an_org_wide_install_serves_every_workspace_and_gives_the_admin_token(
    oauth_app: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.make_grid()
    admin = fake_slack.add_user(org_admin=True)
    page = await install(
        oauth_app, fake_slack, fake_slack.prepare_install(org_wide=True, installer=admin), ADMIN_INSTALL_PATH
    )
    assert f"Slack granted {ADMIN_SCOPE} to you ({admin}) on the whole org" in html.unescape(page)
    oauth_app.org_wide = True
    assert (await leave_as(oauth_app, fake_slack))["text"].startswith("I left")

    partner = fake_slack.add_team("Partner Org Workspace")
    channel = fake_slack.add_shared_channel("shared", connected=[partner])
    view_id, body = await open_form(oauth_app, fake_slack, admin, channel)
    await oauth_app.submit_view(view_id, form_values(channel, [partner]), user_id=admin)
    confirm = await confirm_view(oauth_app, fake_slack)
    await oauth_app.submit_view(confirm["id"], {}, user_id=admin)
    assert (await fake_slack.next_post(body["response_url"]))["text"].startswith("Disconnected from")
    (call,) = [c for c in fake_slack.calls if c.method == ADMIN_CALL]
    assert call.token is not None and call.token.startswith("xoxp-installed-")
    assert fake_slack.tokens[call.token]["user_id"] == admin


async def test_an_org_install_without_the_admin_scope_says_who_must_reinstall(
    oauth_app: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.make_grid()
    admin = fake_slack.add_user(org_admin=True)
    await install(oauth_app, fake_slack, fake_slack.prepare_install(org_wide=True, installer=admin, user_scopes=""))
    channel = fake_slack.add_shared_channel("shared", connected=[fake_slack.add_team("P")])
    oauth_app.org_wide = True
    _, body = await oauth_app.command("/disconnect-shared", "", channel_id=channel, user_id=admin)
    text = (await fake_slack.next_post(body["response_url"]))["text"]
    assert text == ORG_INSTALL_WITHOUT_ADMIN_SCOPE.format(installer=admin)
    assert fake_slack.calls_to(ADMIN_CALL) == []


async def test_only_a_workspace_install_means_no_admin_token(oauth_app: SlackSender, fake_slack: FakeSlack) -> None:
    fake_slack.make_grid()
    admin = fake_slack.add_user(org_admin=True)
    await install(oauth_app, fake_slack, fake_slack.prepare_install(installer=admin))
    channel = fake_slack.add_shared_channel("shared", connected=[fake_slack.add_team("P")])
    _, body = await oauth_app.command("/disconnect-shared", "", channel_id=channel, user_id=admin)
    assert (await fake_slack.next_post(body["response_url"]))["text"] == ORG_INSTALL_MISSING
    rows = await oauth_app.built.audit_log.latest(5)
    assert [(r["event"], r["outcome"]) for r in rows] == [("refused", "org_install_missing")]


async def test_uninstall_deletes_the_installation(oauth_app: SlackSender, fake_slack: FakeSlack) -> None:
    await install(oauth_app, fake_slack, fake_slack.prepare_install())
    store = oauth_app.built.bolt.installation_store
    assert await store.async_find_installation(enterprise_id=None, team_id=fake_slack.team_id) is not None
    reply = await oauth_app.event({"type": "app_uninstalled"})
    assert reply.status == 200
    await until_gone(lambda: store.async_find_installation(enterprise_id=None, team_id=fake_slack.team_id))
    assert await store.async_find_bot(enterprise_id=None, team_id=fake_slack.team_id) is None
    before = len(leave_tokens(fake_slack))
    channel = fake_slack.add_channel("after")
    _, body = await oauth_app.command("/leave-channel", "", channel_id=channel)
    assert "install" in (await fake_slack.next_post(body["response_url"]))["text"].lower()
    assert len(leave_tokens(fake_slack)) == before


async def test_two_instances_share_one_database(fake_slack: FakeSlack, migrated_database_url: str) -> None:
    settings = oauth_settings_for(fake_slack, migrated_database_url)
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running_app(fake_slack, settings))
        second = await stack.enter_async_context(running_app(fake_slack, settings))
        await install(first, fake_slack, fake_slack.prepare_install())
        assert (await leave_as(second, fake_slack))["text"].startswith("I left")

        entries = [AuditEntry(AuditEvent.REFUSED, f"U{i:09d}", "not_admin") for i in range(60)]
        await asyncio.gather(
            *(first.built.audit_log.record(e) for e in entries[:30]),
            *(second.built.audit_log.record(e) for e in entries[30:]),
        )
        rows = await second.built.audit_log.latest(1000)
        assert sorted(r["user_id"] for r in rows) == sorted(e.user_id for e in entries)


async def test_revoked_tokens_are_deleted(oauth_app: SlackSender, fake_slack: FakeSlack) -> None:
    await install(oauth_app, fake_slack, fake_slack.prepare_install())
    store = oauth_app.built.bolt.installation_store
    reply = await oauth_app.event({"type": "tokens_revoked", "tokens": {"bot": [fake_slack.bot_user_id]}})
    assert reply.status == 200
    await until_gone(lambda: store.async_find_bot(enterprise_id=None, team_id=fake_slack.team_id))


# ---- two install pages: bot scopes for everyone, the admin user scope only for the admin install ----------------------


async def test_the_install_page_asks_for_the_bot_scopes_only(oauth_app: SlackSender) -> None:
    _, authorize, cookie = await install_page(oauth_app, INSTALL_PATH)
    query = query_of(authorize)
    assert query["scope"].split(",") == BOT_SCOPES
    assert query.get("user_scope", "") == ""
    assert cookie.startswith("slack-app-oauth-state=") and cookie.endswith(query["state"])


async def test_the_admin_install_page_asks_for_the_admin_user_scope_and_says_who_uses_it(
    oauth_app: SlackSender,
) -> None:
    page, authorize, cookie = await install_page(oauth_app, ADMIN_INSTALL_PATH)
    query = query_of(authorize)
    assert query["scope"].split(",") == BOT_SCOPES
    assert (
        query["user_scope"].split(",") == ADMIN_USER_SCOPES == ["admin.conversations:write", "admin.conversations:read"]
    )
    assert cookie.startswith("slack-app-oauth-state=") and cookie.endswith(query["state"])
    assert html.escape(ADMIN_INSTALL_WHO) in page
    assert ADMIN_INSTALL_WHO.count(". ") == 0  # one sentence


async def test_a_standalone_install_says_disconnect_shared_needs_an_enterprise_org(
    oauth_app: SlackSender, fake_slack: FakeSlack
) -> None:
    page = html.unescape(await install(oauth_app, fake_slack, fake_slack.prepare_install(user_scopes="")))
    assert "/leave-channel and the Rejoin button work in this workspace." in page
    assert "/disconnect-shared needs an Enterprise org" in page and "changes nothing" in page


async def test_an_org_wide_install_without_the_admin_scope_says_it_is_missing_and_what_to_do(
    oauth_app: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.make_grid()
    admin = fake_slack.add_user(org_admin=True)
    code = fake_slack.prepare_install(org_wide=True, installer=admin, user_scopes="")
    page = html.unescape(await install(oauth_app, fake_slack, code, ADMIN_INSTALL_PATH))
    assert f"This installation carries no {ADMIN_SCOPE} (user scopes Slack granted: none)." in page
    assert f"installs from {ADMIN_INSTALL_PATH}, picking the whole organization" in page


async def test_the_admin_installation_is_found_after_a_later_bot_only_reinstall_by_someone_else(
    oauth_app: SlackSender, fake_slack: FakeSlack
) -> None:
    enterprise_id = fake_slack.make_grid()
    admin, other = fake_slack.add_user(org_admin=True), fake_slack.add_user(workspace_admin=True)
    code = fake_slack.prepare_install(org_wide=True, installer=admin)
    await install(oauth_app, fake_slack, code, ADMIN_INSTALL_PATH)
    later = fake_slack.prepare_install(org_wide=True, installer=other, user_scopes="")
    page = html.unescape(await install(oauth_app, fake_slack, later))
    assert f"keeps using the earlier admin install by {admin}" in page

    store = oauth_app.built.bolt.installation_store
    latest = await store.async_find_installation(enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True)
    assert latest.user_id == other  # what slack_sdk alone would give: the bot-only reinstall
    found = await latest_admin_installation(store, enterprise_id)
    assert found is not None and found.user_id == admin and found.user_token is not None
    assert fake_slack.tokens[found.user_token]["user_id"] == admin
    assert ADMIN_SCOPE in fake_slack.tokens[found.user_token]["scopes"]
    assert found.bot_token == latest.bot_token  # the org's newest bot token, merged in by slack_sdk


async def test_the_admin_installation_survives_the_same_admins_bot_only_reinstall(
    oauth_app: SlackSender, fake_slack: FakeSlack
) -> None:
    enterprise_id = fake_slack.make_grid()
    admin = fake_slack.add_user(org_admin=True)
    await install(oauth_app, fake_slack, fake_slack.prepare_install(org_wide=True, installer=admin), ADMIN_INSTALL_PATH)
    store = oauth_app.built.bolt.installation_store
    first = await latest_admin_installation(store, enterprise_id)
    await install(oauth_app, fake_slack, fake_slack.prepare_install(org_wide=True, installer=admin, user_scopes=""))
    again = await latest_admin_installation(store, enterprise_id)
    assert first is not None and again is not None and again.user_token == first.user_token
    assert again.user_scopes == [ADMIN_SCOPE]


async def test_no_admin_installation_without_an_org_wide_install_that_carries_the_scope(
    oauth_app: SlackSender, fake_slack: FakeSlack
) -> None:
    enterprise_id = fake_slack.make_grid()
    admin = fake_slack.add_user(org_admin=True)
    store = oauth_app.built.bolt.installation_store
    assert await latest_admin_installation(store, enterprise_id) is None
    await install(oauth_app, fake_slack, fake_slack.prepare_install(installer=admin))  # a single workspace
    await install(oauth_app, fake_slack, fake_slack.prepare_install(org_wide=True, installer=admin, user_scopes=""))
    assert await latest_admin_installation(store, enterprise_id) is None
    assert await latest_admin_installation(store, "E0OTHERORG") is None


# ---- through Slack's install page (the fake's /oauth/v2/authorize), as an installer's browser goes -------------------


async def test_a_standalone_workspace_installs_and_leave_channel_and_rejoin_work(
    oauth_app: SlackSender, fake_slack: FakeSlack
) -> None:
    admin = fake_slack.add_user(workspace_admin=True)
    fake_slack.installing_as(admin)
    sent_back, page = await through_slack(oauth_app, fake_slack, INSTALL_PATH)
    assert sent_back and "/disconnect-shared needs an Enterprise org" in page

    channel = fake_slack.add_channel("random")
    summary = await leave(oauth_app, fake_slack, channel)
    assert summary["text"] == f"I left <#{channel}>." and has_button(summary)
    *_, done = await press(oauth_app, fake_slack, summary)
    assert f"I'm back in <#{channel}>." in done["text"]
    (join,) = [c for c in fake_slack.calls if c.method == "conversations.join"]
    assert join.token is not None and join.token.startswith("xoxb-installed-")


async def test_the_same_standalone_admin_is_refused_the_admin_install_and_nothing_is_stored(
    oauth_app: SlackSender, fake_slack: FakeSlack
) -> None:
    admin = fake_slack.add_user(workspace_admin=True)
    fake_slack.installing_as(admin)
    sent_back, page = await through_slack(oauth_app, fake_slack, ADMIN_INSTALL_PATH)
    assert not sent_back and "only available to Enterprise customers" in page
    assert fake_slack.calls_to("oauth.v2.access") == []
    store = oauth_app.built.bolt.installation_store
    assert await store.async_find_installation(enterprise_id=None, team_id=fake_slack.team_id) is None


async def test_a_single_workspace_of_an_enterprise_org_cannot_get_the_admin_scope(
    oauth_app: SlackSender, fake_slack: FakeSlack
) -> None:
    enterprise_id = fake_slack.make_grid()
    admin = fake_slack.add_user(org_admin=True)
    fake_slack.installing_as(admin, org_wide=False)
    sent_back, _ = await through_slack(oauth_app, fake_slack, ADMIN_INSTALL_PATH)
    assert not sent_back and fake_slack.calls_to("oauth.v2.access") == []
    sent_back, page = await through_slack(oauth_app, fake_slack, INSTALL_PATH)  # the bot-only install works there
    assert sent_back and f"installs from {ADMIN_INSTALL_PATH}, picking the whole organization" in page
    assert (await leave_as(oauth_app, fake_slack))["text"].startswith("I left")
    assert await latest_admin_installation(oauth_app.built.bolt.installation_store, enterprise_id) is None


async def test_an_org_admin_installs_org_wide_with_the_admin_scope_and_a_later_bot_only_reinstall_keeps_it(
    oauth_app: SlackSender, fake_slack: FakeSlack
) -> None:
    enterprise_id = fake_slack.make_grid()
    admin, other = fake_slack.add_user(org_admin=True), fake_slack.add_user(org_owner=True)
    fake_slack.installing_as(admin, org_wide=True)
    sent_back, page = await through_slack(oauth_app, fake_slack, ADMIN_INSTALL_PATH)
    assert sent_back and f"Slack granted {ADMIN_SCOPE} to you ({admin}) on the whole org" in page
    store = oauth_app.built.bolt.installation_store
    found = await latest_admin_installation(store, enterprise_id)
    assert found is not None and found.user_id == admin and found.user_scopes == ADMIN_USER_SCOPES

    fake_slack.installing_as(other, org_wide=True)
    sent_back, page = await through_slack(oauth_app, fake_slack, INSTALL_PATH)
    assert sent_back and f"keeps using the earlier admin install by {admin}" in page
    latest = await store.async_find_installation(enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True)
    assert latest.user_id == other and latest.user_token is None  # bot-only: Slack issued no user token
    again = await latest_admin_installation(store, enterprise_id)
    assert again is not None and again.user_id == admin and again.user_token == found.user_token
    assert again.user_token is not None and fake_slack.tokens[again.user_token]["scopes"] == set(ADMIN_USER_SCOPES)
