"""/leave-channel from the outside: members and admins, the pick form, and waiting for the work a request started."""

from __future__ import annotations

from services.ui.leave import LEAVE_PICK_ACTION, LEAVE_PICK_BLOCK
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender


def chosen(*channel_ids: str) -> dict:
    return {
        LEAVE_PICK_BLOCK: {
            LEAVE_PICK_ACTION: {"type": "multi_conversations_select", "selected_conversations": list(channel_ids)}
        }
    }


async def open_pick_modal(slack: SlackSender, fake: FakeSlack, channel: str) -> tuple[str, dict]:
    reply, body = await slack.command("/leave-channel", "pick", channel_id=channel)
    assert reply.status == 200
    opened = await fake.wait_for(lambda: fake.calls_to("views.open"), what="views.open")
    assert opened[0]["trigger_id"] == body["trigger_id"]
    (view_id,) = fake.views
    return view_id, body


def result_view(fake: FakeSlack, view_id: str) -> dict:
    """The modal's final result (closed with "Done"), wherever the harness recorded the submission's own update."""
    (result,) = [v for v in fake.view_history[view_id] if (v.get("close") or {}).get("text") == "Done"]
    return result


def as_member(slack: SlackSender, fake: FakeSlack, *channels: str) -> str:
    """From now on the sender is a person Slack knows (no admin), in each of `channels`: someone who may make the bot
    leave those (services.leaving.policy)."""
    slack.user_id = fake.add_user()
    join(fake, slack.user_id, *channels)
    return slack.user_id


def join(fake: FakeSlack, user_id: str, *channels: str) -> None:
    for channel in channels:
        fake.channels[channel].members.add(user_id)


def as_admin(slack: SlackSender, fake: FakeSlack) -> str:
    """From now on the sender is a workspace admin, who may make the bot leave any channel (but the audit channel)."""
    slack.user_id = fake.add_user(workspace_admin=True)
    return slack.user_id
