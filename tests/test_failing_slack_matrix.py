"""Every Web API method the app calls, answering each kind of failure: the user always gets an answer.

Transient faults (429 in its three shapes) come once, then Slack recovers; hard faults (500, 503, a reset) last past
the retries; a non-JSON answer and a hang past the client timeout are not retried. chat.postMessage is the
fallback reply itself, so it is tested where a first answer already failed (see test_leave_command).
"""

from __future__ import annotations

import json
import re

import pytest

from services.settings import Settings
from tests.helpers.app import Org, running_app, settings_for, suite_database
from tests.helpers.disconnect import ADMIN_CALL, confirm_view, form_values
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.faults import FAULTS
from tests.helpers.leave import chosen, open_pick_modal
from tests.helpers.slack_requests import SlackSender

ANSWER_TIMEOUT = 20


@pytest.fixture
async def app_settings(fake_slack: FakeSlack, org: Org, tmp_path) -> Settings:
    return settings_for(
        fake_slack, admin_token=org.admin_token, api_timeout=1.0, database_url=await suite_database(tmp_path)
    )


def fail(fake: FakeSlack, method: str, fault: str) -> None:
    fake.script(method, *FAULTS[fault]())


@pytest.mark.parametrize("fault", FAULTS)
async def test_conversations_leave_bulk_reports_every_channel_once(
    slack: SlackSender, fake_slack: FakeSlack, fault: str
) -> None:
    channels = [fake_slack.add_channel(f"c{i}") for i in range(5)]
    fail(fake_slack, "conversations.leave", fault)
    _, body = await slack.command("/leave-channel", " ".join(f"<#{c}>" for c in channels), channel_id=channels[0])
    text = (await fake_slack.next_post(body["response_url"], timeout=ANSWER_TIMEOUT))["text"]
    for channel in channels:
        assert len(re.findall(f"<#{channel}>", text)) == 1, text


@pytest.mark.parametrize("fault", FAULTS)
async def test_views_open(slack: SlackSender, fake_slack: FakeSlack, fault: str) -> None:
    fail(fake_slack, "views.open", fault)
    _, body = await slack.command("/leave-channel", "pick", channel_id=fake_slack.add_channel("here"))
    await fake_slack.wait_for(
        lambda: fake_slack.views or fake_slack.posts_to(body["response_url"]), ANSWER_TIMEOUT, "a modal or a reply"
    )
    if fault.startswith("429"):  # transient: retried after the pause, and the form opens
        assert len(fake_slack.views) == 1 and not fake_slack.posts_to(body["response_url"])
    else:  # the form can't open: the user reads why, in a sentence naming what failed
        (reply,) = fake_slack.posts_to(body["response_url"])
        assert "open the form" in reply["text"] and not fake_slack.views


@pytest.mark.parametrize("fault", FAULTS)
async def test_views_update_progress_never_costs_the_summary(
    slack: SlackSender, fake_slack: FakeSlack, fault: str
) -> None:
    channels = [fake_slack.add_channel(f"c{i}") for i in range(3)]
    view_id, body = await open_pick_modal(slack, fake_slack, channels[0])
    fail(fake_slack, "views.update", fault)
    await slack.submit_view(view_id, chosen(*channels))
    text = (await fake_slack.next_post(body["response_url"], timeout=ANSWER_TIMEOUT))["text"]
    assert text == "Left 3 channels: " + ", ".join(f"<#{c}>" for c in channels) + "."


async def disconnect_command(slack: SlackSender, fake: FakeSlack, org: Org, channel: str) -> dict:
    _, body = await slack.command("/disconnect-shared", "", channel_id=channel, user_id=org.admin)
    return body


@pytest.mark.parametrize("fault", FAULTS)
async def test_users_info(slack: SlackSender, fake_slack: FakeSlack, org: Org, fault: str) -> None:
    channel = fake_slack.add_shared_channel("shared", connected=[org.alpha])
    fail(fake_slack, "users.info", fault)
    body = await disconnect_command(slack, fake_slack, org, channel)
    await fake_slack.wait_for(
        lambda: fake_slack.views_with("disconnect_form") or fake_slack.posts_to(body["response_url"]),
        ANSWER_TIMEOUT,
        "the form or a reply",
    )
    if fake_slack.posts_to(body["response_url"]):
        assert "couldn't confirm that you're an org admin" in fake_slack.posts_to(body["response_url"])[0]["text"]
        rows = await slack.built.audit_log.latest(5)
        assert [r["event"] for r in rows] == ["refused"]


@pytest.mark.parametrize("method", ["conversations.info", "team.info"])
@pytest.mark.parametrize("fault", FAULTS)
async def test_channel_lookups_still_show_the_form(
    slack: SlackSender, fake_slack: FakeSlack, org: Org, fault: str, method: str
) -> None:
    channel = fake_slack.add_shared_channel("shared", connected=[org.alpha])
    fail(fake_slack, method, fault)
    await disconnect_command(slack, fake_slack, org, channel)
    (form,) = await fake_slack.wait_for(lambda: fake_slack.views_with("disconnect_form"), ANSWER_TIMEOUT, "the form")
    text = json.dumps(form["blocks"], ensure_ascii=False)
    assert org.alpha in text or "I couldn't" in text or "Slack" in text


@pytest.mark.parametrize("fault", FAULTS)
async def test_the_admin_call(slack: SlackSender, fake_slack: FakeSlack, org: Org, fault: str) -> None:
    channel = fake_slack.add_shared_channel("shared", connected=[org.alpha])
    body = await disconnect_command(slack, fake_slack, org, channel)
    (form,) = await fake_slack.wait_for(lambda: fake_slack.views_with("disconnect_form"), what="the form")
    await slack.submit_view(form["id"], form_values(channel, [org.alpha]), user_id=org.admin)
    confirm = await confirm_view(slack, fake_slack)
    fail(fake_slack, ADMIN_CALL, fault)
    await slack.submit_view(confirm["id"], {}, user_id=org.admin)
    text = (await fake_slack.next_post(body["response_url"], timeout=ANSWER_TIMEOUT))["text"]
    assert text.startswith(("Disconnected from", "Nothing was disconnected from"))
    rows = list(reversed(await slack.built.audit_log.latest(10)))
    assert rows[0]["event"] == "confirmed"
    assert rows[-1]["event"] == ("succeeded" if text.startswith("Disconnected") else "failed")


@pytest.mark.parametrize("fault", FAULTS)
async def test_auth_test_at_start_up_ends_in_one_line_or_a_running_app(
    fake_slack: FakeSlack, fault: str, tmp_path
) -> None:
    from app import build_app
    from services.slack.identity import StartupError

    fail(fake_slack, "auth.test", fault)
    settings = settings_for(fake_slack, api_timeout=1.0, database_url=await suite_database(tmp_path))
    try:
        built = await build_app(settings)
    except StartupError as e:
        assert "\n" not in str(e)
        assert "SLACK_API_URL" in str(e) or "SLACK_BOT_TOKEN" in str(e)
    else:
        await built.close()
        assert fault.startswith("429") or fault in ("connection reset",)


@pytest.mark.parametrize("fault", [f for f in FAULTS if f.startswith("429")] + ["hang past the timeout"])
async def test_the_dm_fallback_recovers_from_transient_faults(
    slack: SlackSender, fake_slack: FakeSlack, fault: str
) -> None:
    """chat.postMessage is the last way to reach the user; with the response URL gone too, a lasting failure can
    only be logged (see delivery.reply_privately). Transient ones still reach the user."""
    from urllib.parse import urlencode

    channel = fake_slack.add_channel("gone")
    body = slack.command_body("/leave-channel", "", channel)
    fake_slack.response_urls[body["response_url"]].status = 404
    fail(fake_slack, "chat.postMessage", fault)
    await slack.post(urlencode(body).encode())
    if fault == "hang past the timeout":
        await fake_slack.wait_for(lambda: len(fake_slack.calls_to("chat.postMessage")) == 1, ANSWER_TIMEOUT)
        return  # a hang is not retried: it may or may not have been delivered, and the app does not post twice
    message = await fake_slack.wait_for(lambda: fake_slack.messages and fake_slack.messages[-1], ANSWER_TIMEOUT)
    assert message["text"] == f"I left <#{channel}>."


@pytest.mark.parametrize("fault", FAULTS)
async def test_oauth_v2_access_failures_end_on_slacks_failure_page(fake_slack: FakeSlack, fault: str, tmp_path) -> None:
    from tests.helpers.oauth import oauth_settings_for

    settings = oauth_settings_for(fake_slack, await suite_database(tmp_path), api_timeout=1.0)
    async with running_app(fake_slack, settings) as sender:
        async with sender.session.get(sender.base_url + "/slack/install") as page:
            html = await page.text()
            cookie = page.headers["Set-Cookie"].split(";")[0]
        found = re.search(r"state=([^&\"]+)", html)
        assert found is not None
        state = found.group(1)
        code = fake_slack.prepare_install()
        fail(fake_slack, "oauth.v2.access", fault)
        async with sender.session.get(
            sender.base_url + f"/slack/oauth_redirect?code={code}&state={state}", headers={"Cookie": cookie}
        ) as done:
            assert done.status in (200, 400, 401, 502)  # Bolt's success or failure page, or ours
            assert "<html" in (await done.text()).lower()
