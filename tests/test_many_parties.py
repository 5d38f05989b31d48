"""Every party of a Slack Connect channel can be chosen in /disconnect-shared's form: a channel holds up to 250
organizations (Slack's help center), a static select at most 100 options, so past 100 the form groups them (at most
100 groups of 100); the fake refuses a select past those limits, as Slack does."""

from __future__ import annotations

import pytest

from services.settings import Settings
from services.ui.disconnect import TEAMS_BLOCK_PREFIX
from tests.helpers.app import Org, settings_for, suite_database
from tests.helpers.disconnect import ADMIN_CALL, confirm_view, form_values, open_form
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender


@pytest.fixture
async def app_settings(fake_slack: FakeSlack, org: Org, tmp_path) -> Settings:
    return settings_for(
        fake_slack, admin_token=org.admin_token, database_url=await suite_database(tmp_path), job_poll_seconds=0.2
    )


def offered(view: dict, channel: str) -> list[str]:
    """Every party the form offers for the channel, options or option groups."""
    (block,) = [b for b in view["blocks"] if b.get("block_id") == TEAMS_BLOCK_PREFIX + channel]
    element = block["element"]
    groups = element.get("option_groups") or [{"options": element.get("options") or []}]
    assert len(groups) <= 100 and all(len(g["options"]) <= 100 for g in groups)
    return [o["value"] for g in groups for o in g["options"]]


@pytest.mark.parametrize("size", [150, 250])
async def test_every_party_of_a_big_channel_can_be_chosen_and_disconnected(
    slack: SlackSender, fake_slack: FakeSlack, org: Org, size: int
) -> None:
    # Other organizations, and standalone workspaces (looked up by name with team.info), in Slack's order.
    parties = [
        fake_slack.add_org(f"Partner {i:03}") if i % 2 else fake_slack.add_team(f"Studio {i:03}") for i in range(size)
    ]
    channel = fake_slack.add_shared_channel("big-shared", connected=parties)
    view_id, body = await open_form(slack, fake_slack, org.admin, channel)
    form = fake_slack.views[view_id]
    assert sorted(offered(form, channel)) == sorted(parties)
    assert len(form["private_metadata"]) <= 3000
    chosen = [parties[size - 1], parties[120], parties[100]]  # each past the first 100 in Slack's order
    reply = await slack.submit_view(view_id, form_values(channel, chosen), user_id=org.admin)
    assert reply.json()["response_action"] == "push", reply.text
    confirm = await confirm_view(slack, fake_slack)
    assert all(p in str(confirm["blocks"]) for p in chosen)
    reply = await slack.submit_view(confirm["id"], {}, user_id=org.admin)
    assert reply.status == 200
    await fake_slack.next_post(body["response_url"], timeout=20)
    sent = [c.get("leaving_team_ids") for c in fake_slack.calls_to(ADMIN_CALL)]
    assert sent == chosen  # each once, in the order chosen
    remaining = set(fake_slack.channels[channel].connected_teams)
    assert remaining == set(parties) - set(chosen)
