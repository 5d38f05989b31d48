"""Reading Slack's payloads and a submitted view's state, defensively (a field may be missing or odd): in one place."""

from __future__ import annotations

from typing import Any

from listeners.command_text import channel_id_of
from services.disconnecting.workflow import Requester
from services.slack.tokens import TOKEN_EXPIRES_AT
from services.ui import DRY_RUN_ACTION, DRY_RUN_VALUE
from services.ui.disconnect import CHANNEL_ACTION, CHANNEL_BLOCK, DRY_RUN_BLOCK, TEAMS_ACTION, TEAMS_BLOCK_PREFIX
from services.ui.leave import LEAVE_PICK_ACTION, LEAVE_PICK_BLOCK
from services.ui.offboarding import KEEP_ACTION as OFFBOARD_KEEP_ACTION
from services.ui.offboarding import KEEP_BLOCK as OFFBOARD_KEEP_BLOCK
from services.ui.offboarding import PARTNER_ACTION, PARTNER_BLOCK


def user_id_of(body: dict[str, Any]) -> str:
    """Who acted: `user_id` (slash commands) or `user.id` (interactions); "" when neither is usable."""
    user = body.get("user")
    user_id = body.get("user_id") or (user.get("id") if isinstance(user, dict) else None)
    return user_id if isinstance(user_id, str) else ""


def installation_org(context: Any) -> str | None:
    """The Enterprise org of the installation serving this request (our authorizers put it in the result).

    Not the payload's `enterprise_id`, which is the acting user's org: in a Slack Connect channel that can be a
    partner's. None outside an Enterprise org.
    """
    result = context.get("authorize_result") if hasattr(context, "get") else None
    org = getattr(result, "enterprise_id", None) if result is not None else None
    return org if isinstance(org, str) and org else None


def installation_team(context: Any) -> str | None:
    """The workspace of the installation serving this request (None for an org-wide install), not the payload's:
    in a Slack Connect channel the payload's `team_id` can be a partner's."""
    result = context.get("authorize_result") if hasattr(context, "get") else None
    team = getattr(result, "team_id", None) if result is not None else None
    return team if isinstance(team, str) and team else None


def installation_token_expiry(context: Any) -> int | None:
    """When the bot token serving this request expires (epoch seconds): a rotating token of an OAuth install; None
    for one that never expires (a pasted token, an install without rotation)."""
    result = context.get("authorize_result") if hasattr(context, "get") else None
    expires_at = result.get(TOKEN_EXPIRES_AT) if isinstance(result, dict) else None
    return int(expires_at) if isinstance(expires_at, (int, float)) and not isinstance(expires_at, bool) else None


def requester_of(body: dict[str, Any], context: Any, response_url: str | None, dry_run: bool = False) -> Requester:
    """Who asked a /disconnect-shared step, from what Slack signed: the user, and the installation's org and team."""
    return Requester(user_id_of(body), installation_org(context), context.team_id, response_url, dry_run=dry_run)


# ---- a submitted view's state (view.state.values[block_id][action_id]) ------------------------------------------------


def view_values(view: dict[str, Any]) -> dict[str, Any]:
    """A submitted view's state values; {} when there are none."""
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    return values if isinstance(values, dict) else {}


def _element(view: dict[str, Any], block_id: str, action_id: str) -> dict[str, Any]:
    block = view_values(view).get(block_id)
    element = block.get(action_id) if isinstance(block, dict) else None
    return element if isinstance(element, dict) else {}


def _option_values(view: dict[str, Any], block_id: str, action_id: str) -> list[str]:
    """The values of the options chosen in a select or checkboxes, each once, in order (linear in a forged size)."""
    options = _element(view, block_id, action_id).get("selected_options")
    values: dict[str, None] = {}
    for option in options if isinstance(options, list) else []:
        value = option.get("value") if isinstance(option, dict) else None
        if isinstance(value, str):
            values[value] = None
    return list(values)


def chosen_channel(view: dict[str, Any]) -> str | None:
    """The channel picked in /disconnect-shared's form."""
    selected = _element(view, CHANNEL_BLOCK, CHANNEL_ACTION).get("selected_conversation")
    return channel_id_of(selected) if isinstance(selected, str) else None


def chosen_teams(view: dict[str, Any], channel_id: str) -> list[str]:
    """Team IDs chosen in the workspaces block that belongs to this channel (a stale block is ignored)."""
    return _option_values(view, TEAMS_BLOCK_PREFIX + channel_id, TEAMS_ACTION)


def dry_run_chosen(view: dict[str, Any], block_id: str = DRY_RUN_BLOCK) -> bool:
    """Whether a form's dry-run box is ticked: /disconnect-shared's, or offboarding's (OFFBOARD_DRY_RUN_BLOCK)."""
    return DRY_RUN_VALUE in _option_values(view, block_id, DRY_RUN_ACTION)


def picked_channels(view: dict[str, Any]) -> list[str]:
    """The channels chosen in /leave-channel's pick form, each once in the order chosen (linear in the selection's
    size, whatever it is)."""
    chosen = _element(view, LEAVE_PICK_BLOCK, LEAVE_PICK_ACTION).get("selected_conversations")
    if not isinstance(chosen, list):
        return []
    ids = (channel_id_of(value) if isinstance(value, str) else None for value in chosen)
    return list(dict.fromkeys(i for i in ids if i))


# ---- /disconnect-shared all <partner>: the start form and the plan ----------------------------------------------------


def partner_typed(view: dict[str, Any]) -> str:
    """The org or workspace typed in the offboarding start form (trimmed; "" when none)."""
    value = _element(view, PARTNER_BLOCK, PARTNER_ACTION).get("value")
    return value.strip() if isinstance(value, str) else ""


def offered_teams(view: dict[str, Any], channel_id: str) -> set[str]:
    """The parties the submitted form offered for this channel: the options of its block (options, or option groups
    past 100), as Slack sends the whole view back with its state.

    Slack: a view_submission's `view` is "the source view of the modal the user submitted"
    (https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload), with its `blocks`: Slack's
    Bolt for JavaScript types it so (`ViewOutput.blocks`, src/types/view/index.ts;
    https://docs.slack.dev/tools/bolt-js/reference/interfaces/ViewOutput). The recorded sample
    (../shared/slack-samples/payloads/ViewSubmissionPayload.json) is of a view without blocks, so it shows none;
    without them nothing counts as offered and the submission is refused (fails closed)."""
    offered: set[str] = set()
    blocks = view.get("blocks") if isinstance(view, dict) else None
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict) or block.get("block_id") != TEAMS_BLOCK_PREFIX + channel_id:
            continue
        element = block.get("element")
        if not isinstance(element, dict):
            continue
        groups = element.get("option_groups")
        lists = [g.get("options") for g in groups if isinstance(g, dict)] if isinstance(groups, list) else []
        for options in [element.get("options"), *lists]:
            for option in options if isinstance(options, list) else []:
                if isinstance(option, dict) and isinstance(option.get("value"), str):
                    offered.add(option["value"])
    return offered


def kept_channels(view: dict[str, Any]) -> list[str]:
    """From a submitted plan: the channels chosen in its "keep these channels" picker (its state), in order, once."""
    return list(dict.fromkeys(_option_values(view, OFFBOARD_KEEP_BLOCK, OFFBOARD_KEEP_ACTION)))
