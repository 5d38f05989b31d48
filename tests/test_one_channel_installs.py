"""A one-channel /leave-channel waits its turn as strings (services.leaving.one_channel) and gets its client when the
turn comes: the same token and workspace as Bolt's per-request client (slack_bolt/app/async_app.py, `_init_context`:
`team_id=req.context.team_id`, the payload's), in every install mode."""

from __future__ import annotations

from services.slack.admission import WorkGate
from tests.helpers.app import migrated_sqlite_file, running_app, settings_for, suite_database
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.oauth import install, oauth_settings_for
from tests.helpers.slack_requests import SlackSender


def member_of(fake: FakeSlack, channel: str, team_id: str | None = None) -> str:
    """Someone in `channel` who is no admin: they may make the bot leave it, checked with users.conversations, which an
    org-level token may call only with `team_id` (https://docs.slack.dev/reference/methods/users.conversations)."""
    user = fake.add_user(team_id=team_id)
    fake.channels[channel].members.add(user)
    return user


async def left_by(slack: SlackSender, fake: FakeSlack, channel: str, user: str, team_id: str | None = None) -> str:
    _, body = await slack.command("/leave-channel", "", channel_id=channel, user_id=user, team_id=team_id)
    return (await fake.next_post(body["response_url"]))["text"]


async def test_an_org_level_bot_token_leaves_one_channel_for_a_member_of_any_workspace_of_the_org(
    fake_slack: FakeSlack, tmp_path
) -> None:
    org = fake_slack.make_grid()
    second = fake_slack.add_team("Second Workspace", enterprise_id=org)
    token = fake_slack.add_org_bot_token()
    settings = settings_for(fake_slack, bot_token=token, database_url=await suite_database(tmp_path))
    async with running_app(fake_slack, settings) as slack:
        here, there = fake_slack.add_channel("here"), fake_slack.add_channel("there", host_team=second)
        assert (await left_by(slack, fake_slack, here, member_of(fake_slack, here))).startswith("I left")
        assert (await left_by(slack, fake_slack, there, member_of(fake_slack, there, second), second)).startswith(
            "I left"
        )
    assert not fake_slack.is_member(here) and not fake_slack.is_member(there)
    checked = fake_slack.calls_to("users.conversations")
    assert [c.get("team_id") for c in checked] == [fake_slack.team_id, second]  # each the command's workspace
    assert {c.token for c in fake_slack.calls if c.method == "conversations.leave"} == {token}


async def test_an_org_wide_oauth_install_leaves_one_channel_with_its_org_token(
    fake_slack: FakeSlack, migrated_database_url: str
) -> None:
    org = fake_slack.make_grid()
    second = fake_slack.add_team("Second Workspace", enterprise_id=org)
    admin = fake_slack.add_user(org_admin=True)
    async with running_app(fake_slack, oauth_settings_for(fake_slack, migrated_database_url)) as slack:
        await install(slack, fake_slack, fake_slack.prepare_install(org_wide=True, installer=admin, user_scopes=""))
        slack.org_wide = True
        channel = fake_slack.add_channel("there", host_team=second)
        text = await left_by(slack, fake_slack, channel, member_of(fake_slack, channel, second), second)
    assert text.startswith("I left"), text
    (checked,) = fake_slack.calls_to("users.conversations")
    assert checked.get("team_id") == second
    (leave,) = [c for c in fake_slack.calls if c.method == "conversations.leave"]
    assert leave.token is not None and fake_slack.tokens[leave.token].get("org_level") is True


async def test_a_rotating_token_that_expires_while_the_command_waits_is_renewed_at_its_turn(
    fake_slack: FakeSlack, tmp_path
) -> None:
    """The token taken at the ack lives at least the renewal margin (Bolt's default 2 hours); a command that waits
    longer (the margin set short, or a renewal Slack couldn't answer while the token was still good) is not refused
    `token_expired`: as a job's client does (services.slack.tokens.RotatingWebClient), its client renews the
    install's token when due and takes the current one when Slack says it expired
    (https://docs.slack.dev/authentication/using-token-rotation)."""
    url = await migrated_sqlite_file(tmp_path / "app.db")
    async with running_app(fake_slack, oauth_settings_for(fake_slack, url, token_refresh_margin_seconds=0.3)) as slack:
        fake_slack.make_grid()
        fake_slack.rotation_seconds = 1.5  # Slack: 12 hours
        code = fake_slack.prepare_install(org_wide=True, installer=fake_slack.add_user(org_admin=True))
        await install(slack, fake_slack, code)
        slack.org_wide = True
        leaves = slack.built.services["one_channel_leaves"]
        leaves.gate = WorkGate(running=1, waiting=5, run=leaves.gate._run, dropped=leaves.gate._dropped)
        fake_slack.delays["users.info"] = 0.6  # one at a time: the fourth starts about 2 s after its ack
        bodies = []
        for i in range(4):
            _, body = await slack.command("/leave-channel", "", channel_id=fake_slack.add_channel(f"c{i}"))
            bodies.append(body)
        replies = [(await fake_slack.next_post(b["response_url"], timeout=20))["text"] for b in bodies]
    assert all(r.startswith("I left") for r in replies), replies
    assert "bot" in fake_slack.refreshes
