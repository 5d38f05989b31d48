"""/disconnect-shared's views and messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    OptionGroup,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
)
from slack_sdk.models.views import View

from services.disconnecting.shared_channels import MAX_PARTIES_PER_RUN, OUTCOME_UNKNOWN, DisconnectResult, SharedChannel
from services.error_texts import CHANNEL_PROBLEMS, COMMON_ERRORS, DISCONNECT_ERRORS, TokenSource, error_text
from services.slack.teams import is_org_id
from services.ui import (
    MESSAGE_TEXT_LIMIT,
    capitalize,
    decode_metadata,
    dry_run_checkbox,
    encode_metadata,
    escape_text,
    mention,
    sections,
    text_field,
    text_list,
    truncate,
    usage_reply,
)

FORM_CALLBACK = "disconnect_form"
CONFIRM_CALLBACK = "disconnect_confirm"
STATUS_CALLBACK = "disconnect_status"
CHANNEL_BLOCK = "disconnect_channel"
CHANNEL_ACTION = "disconnect_channel_chosen"
TEAMS_BLOCK_PREFIX = "disconnect_teams_"  # + channel ID: choosing another channel starts a fresh selection
TEAMS_ACTION = "teams"
DRY_RUN_BLOCK = "disconnect_dry_run"

TITLE = "Disconnect workspace"
OPTION_TEXT_LIMIT = 75
# A static select holds at most 100 options, or at most 100 option groups of at most 100 options each
# (https://docs.slack.dev/reference/block-kit/composition-objects/option-group-object; slack_sdk.models checks both).
SELECT_OPTIONS_MAX = 100
GROUP_LABEL_LIMIT = 75
NAME_LIMIT = 60

USAGE = "\n".join(
    [
        "*`/disconnect-shared` disconnects other organizations and workspaces from a Slack Connect channel your org "
        "created* (Org Admins and Owners of an Enterprise org only).",
        "• `/disconnect-shared` opens the form for the channel you're in.",
        "• `/disconnect-shared #shared-channel` opens it for that channel.",
        "• `/disconnect-shared #shared-channel E0123ABCD` also preselects that organization (its org ID `E…`) "
        "or workspace (its team ID `T…`).",
        "• `/disconnect-shared all E0123ABCD` (or a workspace's `T…`, or the organization's name, e.g. "
        "`/disconnect-shared all Partner Corp`) disconnects that organization from every channel your org created and "
        "shares with it, as one job you can follow and cancel; or from everything, DMs included, in one step.",
        "• Add `--dry-run` to walk through every step and see what would be disconnected, without changing anything.",
        "You choose the workspaces by name and confirm before anything changes; each attempt is audited.",
    ]
)


TOO_MANY = (
    f"That names more than {MAX_PARTIES_PER_RUN} organizations or workspaces; one run disconnects at most "
    f"{MAX_PARTIES_PER_RUN}, so I haven't opened the form. Name fewer, or pick them in the form."
)


def usage_message(not_understood: str | None = None, too_many: bool = False) -> str:
    if too_many:
        return f"{TOO_MANY}\n\n{USAGE}"
    return usage_reply(USAGE, not_understood, "I haven't opened the form")


def team_label(team_id: str, name: str | None) -> str:
    """An organization (E…) or workspace (T…) as people know it: its name, with the ID (mrkdwn-safe)."""
    kind = "organization" if is_org_id(team_id) else "workspace"
    if not name:
        return f"{kind} `{team_id}`"
    return f"*{escape_text(truncate(name, NAME_LIMIT))}* (`{team_id}`)"


def parties_count(team_ids: Sequence[str]) -> str:
    """ "1 workspace", "2 organizations", "1 organization and 2 workspaces"."""
    orgs = sum(1 for t in team_ids if is_org_id(t))
    workspaces = len(team_ids) - orgs
    parts = [
        f"{n} {word}{'' if n == 1 else 's'}" for n, word in ((orgs, "organization"), (workspaces, "workspace")) if n
    ]
    return " and ".join(parts) or "nothing"


def _option(team_id: str, name: str | None, state: str = "connected") -> Option:
    kind = "organization" if is_org_id(team_id) else "workspace"
    note = ", limited connection" if state == "limited" else ""
    suffix = f" ({kind} {team_id}{note})"
    text = truncate(name, OPTION_TEXT_LIMIT - len(suffix)) + suffix if name else f"{kind} {team_id}{note}"
    return Option(value=team_id, text=PlainTextObject(text=truncate(text, OPTION_TEXT_LIMIT), emoji=False))


def _text_of(option: Option) -> str:
    return option.text or option.label or option.value  # slack_sdk keeps the text object's text as `text`


def _name_of(option: Option) -> str:
    """An option's name without its "(organization E…)" suffix: what a group's label shows."""
    text = _text_of(option)
    name, _, _ = text.rpartition(" (")
    return name if name and text.endswith(")") else text


def option_groups(options: Sequence[Option]) -> list[OptionGroup] | None:
    """None while the options fit one select; past 100 (a channel holds up to 250 organizations), every one in groups
    of 100, alphabetical, each labelled with its first and last name."""
    if len(options) <= SELECT_OPTIONS_MAX:
        return None
    ordered = sorted(options, key=lambda o: _text_of(o).casefold())
    groups = []
    for start in range(0, len(ordered), SELECT_OPTIONS_MAX):
        part = ordered[start : start + SELECT_OPTIONS_MAX]
        half = (GROUP_LABEL_LIMIT - 3) // 2
        first, last = (_name_of(part[0]), _name_of(part[-1]))
        label = f"{truncate(first, half)} – {truncate(last, half)}"
        groups.append(OptionGroup(label=truncate(label, GROUP_LABEL_LIMIT), options=part))
    return groups


def channel_problem_text(problem: str, shared: SharedChannel | None = None, host: str | None = None) -> str:
    """Why nothing may be disconnected from the chosen channel; `host` names who created it, if known."""
    if shared is not None and shared.host_team_id:
        host = team_label(shared.host_team_id, shared.team_name(shared.host_team_id))
        org = shared.host_org_id
        if org and org != shared.host_team_id:
            host = f"{host}, a workspace of organization `{org}`,"
    if problem in CHANNEL_PROBLEMS:
        return capitalize(CHANNEL_PROBLEMS[problem].format(host=host or "another organization"))
    return error_text(COMMON_ERRORS, problem, action="look up this channel")


def status_modal(text: str, callback_id: str = STATUS_CALLBACK, external_id: str | None = None) -> View:
    """A modal with a message and no inputs: checking, refused, or done."""
    return View(
        type="modal",
        callback_id=callback_id,
        external_id=external_id,
        title=TITLE,
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000)))],
    )


def checking_modal(external_id: str | None = None) -> View:
    return status_modal("Checking your admin rights and the channel…", external_id=external_id)


def _dry_run_block(dry_run: bool) -> InputBlock:
    return dry_run_checkbox(
        DRY_RUN_BLOCK,
        "Dry run: show what would be disconnected, change nothing",
        "Every check runs and the attempt is audited as a dry run.",
        dry_run,
    )


def form_modal(
    channel_id: str | None,
    shared: SharedChannel | None,
    preselected: Sequence[str],
    metadata: str,
    dry_run: bool = False,
) -> View:
    """The form: a shared channel, then the workspaces connected to it, chosen by name, and the dry-run box."""
    blocks: list[Any] = [
        InputBlock(
            block_id=CHANNEL_BLOCK,
            label="Shared channel",
            dispatch_action=True,
            element=ConversationSelectElement(
                action_id=CHANNEL_ACTION,
                placeholder="Choose a shared channel",
                initial_conversation=channel_id,
                filter=ConversationFilter(include=["public", "private"]),
            ),
        )
    ]
    if channel_id is None:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="Choose the shared channel first.")))
    elif shared is None or shared.channel_id != channel_id:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=CHANNEL_PROBLEMS["loading"])))
    elif shared.problem is not None:
        text = f":warning: {channel_problem_text(shared.problem, shared)}"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000))))
        blocks.extend(_pending_note(shared))
    else:
        options = [_option(p.id, shared.team_name(p.id), p.state) for p in shared.parties if p.removable]
        chosen = [o for o in options if o.value in preselected]
        groups = option_groups(options)
        blocks.append(
            InputBlock(
                block_id=TEAMS_BLOCK_PREFIX + channel_id,
                label="Organizations or workspaces to disconnect",
                element=StaticMultiSelectElement(
                    action_id=TEAMS_ACTION,
                    max_selected_items=MAX_PARTIES_PER_RUN,
                    placeholder="Choose who leaves the channel" if groups is None else "Type a name or ID to find it",
                    options=options if groups is None else None,
                    option_groups=groups,
                    initial_options=chosen or None,
                ),
            )
        )
        host = shared.host_team_id
        if host:
            blocks.append(
                ContextBlock(
                    elements=[
                        MarkdownTextObject(
                            text=f"{team_label(host, shared.team_name(host))} (your org) created this channel and "
                            "can't be removed."
                        )
                    ]
                )
            )
        blocks.extend(_pending_note(shared))
    blocks.append(_dry_run_block(dry_run))
    return View(
        type="modal",
        callback_id=FORM_CALLBACK,
        title=TITLE,
        submit="Review",
        close="Cancel",
        private_metadata=metadata,
        blocks=blocks,
    )


def _pending_note(shared: SharedChannel) -> list[ContextBlock]:
    """Invitations not yet accepted: shown, never offered (there is no connection to remove yet)."""
    if not shared.pending:
        return []
    names = ", ".join(team_label(t, shared.team_name(t)) for t in shared.pending)
    text = truncate(f"Invitation pending, not connected yet (nothing to disconnect): {names}.", 3000)
    return [ContextBlock(elements=[MarkdownTextObject(text=text)])]


def confirm_modal(
    shared: SharedChannel,
    team_ids: Sequence[str],
    metadata: str,
    external_id: str,
    dry_run: bool = False,
    left_out: Sequence[str] = (),
) -> View:
    """Names the channel and every workspace, says what happens; only its submit calls the admin API. `left_out`:
    why a party picked is not among them (a sentence each)."""
    channel = mention(shared.channel_id)
    count = parties_count(team_ids)
    they = "them" if len(team_ids) > 1 else ("this organization" if is_org_id(team_ids[0]) else "this workspace")
    host = shared.host_team_id
    keeper = team_label(host, shared.team_name(host)) if host else "the host workspace"
    teams = [f"• {team_label(t, shared.team_name(t))}" for t in team_ids]
    if dry_run:
        question = f"*Dry run: disconnect {count} from {channel}?*"
        what_happens = [
            "*Nothing will change.* I'll check your admin rights and the admin token again, record a dry run in the "
            f"audit log, and tell you what a real run would disconnect. {channel} stays shared with {they}."
        ]
    else:
        question = f"*Disconnect {count} from {channel}?*"
        what_happens = [
            f"*What happens:* people in {they} lose access to {channel} right away and it leaves their sidebars; "
            f"the channel and its history stay with {keeper} and anyone still connected. "
            "Getting them back means sharing the channel with them again.",
            "Each is disconnected separately, in this order, and every attempt is recorded in the audit "
            "log. You'll get a message saying what happened to each.",
        ]
    return View(
        type="modal",
        callback_id=CONFIRM_CALLBACK,
        external_id=external_id,
        title="Confirm dry run" if dry_run else "Confirm disconnect",
        submit="Dry run" if dry_run else "Disconnect",
        close="Back",
        private_metadata=metadata,
        blocks=sections([question, *teams, "", *what_happens, *([""] if left_out else []), *left_out]),
    )


def disconnect_failure_text(
    channel_id: str, result: DisconnectResult, names: dict[str, str], source: TokenSource | None = None
) -> str:
    code = result.error or "unexpected_response"
    team = team_label(result.team_id, names.get(result.team_id))
    channel = mention(channel_id)
    source = source or TokenSource.setting()
    sentence = error_text(
        DISCONNECT_ERRORS,
        code,
        team=team,
        channel=channel,
        action=f"disconnect {team} from {channel}",
        token=source.name,
        fix=source.fix,
    )
    shown = result.after_error if code == OUTCOME_UNKNOWN and result.after_error else code
    return capitalize(f"{sentence} (`{escape_text(shown)}`)")


def outcome_message(
    channel_id: str, results: Sequence[DisconnectResult], names: dict[str, str], source: TokenSource | None = None
) -> dict[str, Any]:
    """Which were disconnected (and which only confirmed after an error), which were not and why."""
    channel = mention(channel_id)
    done = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    lines: list[str] = []
    if done:
        teams = ", ".join(team_label(r.team_id, names.get(r.team_id)) for r in done)
        lines.append(f"Disconnected from {channel}: {teams}.")
    for r in done:
        if r.after_error:
            lines.append(
                f"• {team_label(r.team_id, names.get(r.team_id))}: disconnected — confirmed after an error from "
                f"Slack (`{escape_text(r.after_error)}`): I read the channel again and it is no longer connected."
            )
    unknown = [r for r in failed if r.error == OUTCOME_UNKNOWN]
    failed = [r for r in failed if r.error != OUTCOME_UNKNOWN]
    if failed:
        lines.append(
            f"Not disconnected from {channel}:" if done or unknown else f"Nothing was disconnected from {channel}:"
        )
        lines.extend(f"• {disconnect_failure_text(channel_id, r, names, source)}" for r in failed)
    if unknown:
        lines.append(f"Not known whether disconnected from {channel}:")
        lines.extend(f"• {disconnect_failure_text(channel_id, r, names, source)}" for r in unknown)
    return {"text": truncate("\n".join(lines), MESSAGE_TEXT_LIMIT)}


def dry_run_message(channel_id: str, team_ids: Sequence[str], names: dict[str, str]) -> dict[str, Any]:
    """What a real run would have done, and that nothing changed."""
    channel = mention(channel_id)
    teams = ", ".join(team_label(t, names.get(t)) for t in team_ids)
    lines = [
        f"*Dry run: nothing was changed.* A real run would disconnect from {channel}: {teams}.",
        "Your admin rights, the admin token and each workspace's connection were all checked, and the dry run is "
        "in the audit log. Slack makes its own last checks only when the disconnect runs for real.",
    ]
    return {"text": truncate("\n".join(lines), MESSAGE_TEXT_LIMIT)}


@dataclass(frozen=True)
class FormMetadata:
    """What the form carries between steps: the reply URL and what was learned about the chosen channel. Not the
    parties offered (up to 250 IDs overflow private_metadata's 3,000 characters): the submitted view's own options
    say which were offered (listeners.payload.offered_teams)."""

    response_url: str | None
    channel_id: str | None = None
    host_team_id: str | None = None
    problem: str | None = None

    @property
    def host_label(self) -> str | None:
        return team_label(self.host_team_id, None) if self.host_team_id else None

    @classmethod
    def for_channel(cls, response_url: str | None, shared: SharedChannel | None) -> FormMetadata:
        if shared is None:
            return cls(response_url)
        return cls(response_url, shared.channel_id, shared.host_team_id, shared.problem)

    def encode(self) -> str:
        return encode_metadata(
            {
                "r": self.response_url,
                "c": self.channel_id,
                "h": self.host_team_id,
                "p": self.problem,
            }
        )

    @classmethod
    def decode(cls, text: str | None) -> FormMetadata:
        data = decode_metadata(text)
        return cls(
            text_field(data, "r"),
            text_field(data, "c"),
            text_field(data, "h"),
            text_field(data, "p"),
        )


@dataclass(frozen=True)
class ConfirmMetadata:
    """What the confirmation carries: where to reply, the channel, and the workspaces in order."""

    response_url: str | None
    channel_id: str | None
    team_ids: tuple[str, ...]
    dry_run: bool = False

    def encode(self) -> str:
        data = {"r": self.response_url, "c": self.channel_id, "t": list(self.team_ids)}
        return encode_metadata({**data, "d": True} if self.dry_run else data)

    @classmethod
    def decode(cls, text: str | None) -> ConfirmMetadata:
        data = decode_metadata(text)
        return cls(text_field(data, "r"), text_field(data, "c"), text_list(data, "t"), data.get("d") is True)
