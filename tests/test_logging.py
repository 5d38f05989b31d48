"""No token, signing secret or response URL in the logs, even at DEBUG."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from services.settings import Settings
from services.telemetry.logs import RedactingFilter
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.leave import chosen, open_pick_modal
from tests.helpers.logs import debug_capture
from tests.helpers.slack_requests import SIGNING_SECRET, SlackSender


@pytest.fixture
def debug_log(app_settings: Settings) -> Iterator[io.StringIO]:
    with debug_capture(app_settings.secrets()) as stream:
        yield stream


async def test_a_full_run_at_debug_leaks_nothing(
    debug_log: io.StringIO, slack: SlackSender, fake_slack: FakeSlack
) -> None:
    channel = fake_slack.add_channel("here")
    _, command = await slack.command("/leave-channel", "", channel_id=channel)
    await fake_slack.next_post(command["response_url"])
    view_id, pick = await open_pick_modal(slack, fake_slack, channel)
    await slack.submit_view(view_id, chosen(fake_slack.add_channel("other")))
    await fake_slack.next_post(pick["response_url"])

    log = debug_log.getvalue()
    assert "conversations.leave" in log  # the capture really saw the DEBUG traffic
    for secret in (fake_slack.bot_token, SIGNING_SECRET, command["response_url"], pick["response_url"]):
        assert secret not in log
    assert f"/commands/{fake_slack.team_id}/" not in log


def test_redaction_patterns() -> None:
    f = RedactingFilter(["s3cret"])
    text = (
        "xoxb-1-2-abc xoxp-9-zz xapp-1-A1-9 https://hooks.slack.com/commands/T1/2/abc "
        "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F2%2Fabc&x=1 s3cret"
    )
    redacted = f.redact(text)
    assert "xox" not in redacted and "xapp" not in redacted and "hooks" not in redacted and "s3cret" not in redacted


async def test_an_oauth_install_and_an_admin_disconnect_at_debug_leak_nothing(fake_slack: FakeSlack, tmp_path) -> None:
    from tests.helpers.app import running_app, suite_database
    from tests.helpers.disconnect import confirm_view, form_values, open_form
    from tests.helpers.oauth import install, oauth_settings_for

    fake_slack.make_grid()
    admin = fake_slack.add_user(org_admin=True)
    settings = oauth_settings_for(fake_slack, await suite_database(tmp_path))
    with debug_capture(settings.secrets()) as stream:
        async with running_app(fake_slack, settings) as slack:
            await install(slack, fake_slack, fake_slack.prepare_install(org_wide=True, installer=admin))
            slack.org_wide = True
            partner = fake_slack.add_team("Partner")
            channel = fake_slack.add_shared_channel("shared", connected=[partner])
            view_id, body = await open_form(slack, fake_slack, admin, channel)
            await slack.submit_view(view_id, form_values(channel, [partner]), user_id=admin)
            confirm = await confirm_view(slack, fake_slack)
            await slack.submit_view(confirm["id"], {}, user_id=admin)
            await fake_slack.next_post(body["response_url"])
    log = stream.getvalue()
    assert "oauth.v2.access" in log and "admin.conversations.disconnectShared" in log
    installed = [t for t in fake_slack.tokens if "installed" in t]
    assert len(installed) == 2
    for secret in (fake_slack.client_secret, SIGNING_SECRET, *installed, *fake_slack.response_urls):
        assert secret not in log
