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
from tests.conftest import settings_for, suite_database
from tests.fake_slack import FakeSlack, Scripted
from tests.slack_requests import SlackSender
from tests.test_disconnect import ADMIN_CALL, Org, confirm_view, form_values
from tests.test_leave_modal import chosen, open_pick_modal

FAULTS = {
    "429 with Retry-After": lambda: [Scripted(body={"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})],
    "429 without Retry-After": lambda: [Scripted(body={"ok": False, "error": "ratelimited"}, status=429)],
    "429 with an empty body": lambda: [Scripted(status=429, text="")],
    "500": lambda: [Scripted(status=500, text="oops")] * 3,
    "503": lambda: [Scripted(status=503, text="busy")] * 3,
    "non-JSON": lambda: [Scripted(text="<html>maintenance</html>")],
    "connection reset": lambda: [Scripted(reset=True)] * 3,
    "hang past the timeout": lambda: [Scripted(body={"ok": True}, delay=1.2)],
}  # fmt: skip
ANSWER_TIMEOUT = 20


@pytest.fixture
def org(fake_slack: FakeSlack) -> Org:
    fake_slack.make_grid()
    return Org(
        admin=fake_slack.add_user(org_admin=True),
        member=fake_slack.add_user(),
        admin_token=fake_slack.add_admin_token(),
        alpha=fake_slack.add_team("Alpha Partners"),
        beta=fake_slack.add_team("Beta Vendors"),
    )


@pytest.fixture
async def app_settings(fake_slack: FakeSlack, org: Org, tmp_path) -> Settings:
    return settings_for(
        fake_slack, admin_token=org.admin_token, api_timeout=0.5, database_url=await suite_database(tmp_path)
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
        rows = await slack.built.services.audit.latest(5)
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
    rows = list(reversed(await slack.built.services.audit.latest(10)))
    assert rows[0]["event"] == "confirmed"
    assert rows[-1]["event"] == ("succeeded" if text.startswith("Disconnected") else "failed")
