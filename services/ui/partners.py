"""The partner directory in the Home tab, and offboarding "everything, including DMs": its plan block, confirmation,
progress and summary (services.disconnecting.everything runs it).

Block Kit limits (slack_sdk.models checks them; https://docs.slack.dev/reference/block-kit/views): a Home tab holds at
most 100 blocks, so the directory shows DIRECTORY_PAGE_SIZE partners at a time with paging buttons, as the audit log
does; a section's text stays under 3,000 characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from services.disconnecting.directory import CONNECTED, DISCONNECTED, DirectoryPage, ExternalTeam
from services.error_texts import error_text
from services.jobs.queue import FINISHED, Job
from services.ui import SECTION_TEXT_LIMIT, decode_metadata, encode_metadata, escape_text, text_field, truncate
from services.ui.disconnect import team_label

DIRECTORY_PAGE_SIZE = 10  # partners a Home tab page: 10 sections + 4 blocks of heading and paging
DIRECTORY_BLOCK = "partner_directory_paging"
DIRECTORY_NEXT_ACTION = "partner_directory_next"
DIRECTORY_FIRST_ACTION = "partner_directory_first"
PARTNER_OFFBOARD_ACTION = "partner_offboard"  # a directory row's Offboard button (value: the partner's ID)
EVERYTHING_ACTION = "offboard_everything"  # the plan's "Everything, including DMs…" button (value: metadata)
EVERYTHING_BLOCK = "offboard_mode"
EVERYTHING_CONFIRM_CALLBACK = "offboard_everything_confirm"
EVERYTHING_PROGRESS_CALLBACK = "offboard_everything_progress"
EVERYTHING_CANCEL_ACTION = "offboard_everything_cancel"  # an everything-job's Cancel on the Home tab (value: job ID)
DMS_ONLY_CALLBACK = "offboard_dms_only"  # the command's answer for a partner sharing only DMs and group DMs
TITLE = "Offboard organization"
STALE_DAYS = 90  # a partner with no activity for this long is marked stale

PARTNER_PROBLEMS: dict[str, str] = {
    # Not positively outside our org: refused, nothing called.
    "not_established": "I couldn't establish that `{name}` is outside your organization: Slack didn't describe it "
    "(team.info) and the partner directory doesn't list it. Offboarding only ever acts on an organization or "
    "workspace known to be another one, so nothing was searched or disconnected. Use the org ID (`E…`) shown in "
    "the Home tab's partner directory, or try again in a minute.",
}

DIRECTORY_PROBLEMS: dict[str, str] = {
    "missing_scope": "The partner directory needs the bot scopes `conversations.connect:manage` and `team:read`: "
    "an Org Admin should reinstall the app to grant them. Offboarding by org ID (`E…`) still works.",
    "not_allowed": "Slack won't list this org's partners for the app (`not_allowed`: Enterprise Grid only, and the "
    "app must be installed on the whole org).",
    "restricted_action": "Slack won't list this org's partners: a workspace preference restricts it "
    "(`restricted_action`).",
}

EVERYTHING_ERRORS: dict[str, str] = {
    "invalid_target_team": "Slack says {team} isn't an organization connected to yours (`invalid_target_team`).",
    "restricted_action": "A preference of your org stops the app from disconnecting organizations "
    "(`restricted_action`); an Org Owner can change it.",
    "missing_argument": "Slack says the request lacked the organization to disconnect (`missing_argument`).",
    "missing_scope": "The app's bot lacks the `conversations.connect:manage` scope: an Org Admin should reinstall the "
    "app to grant it.",
    "not_allowed": "Slack won't let the app disconnect organizations here (`not_allowed`): Enterprise Grid only, "
    "with the app installed on the whole org.",
}


def partner_problem(problem: str, partner_text: str) -> str | None:
    """The sentence for a problem of this module's (`not_established:<code>`), None for others."""
    key, _, _ = problem.partition(":")
    template = PARTNER_PROBLEMS.get(key)
    return template.format(name=escape_text(partner_text[:80])) if template else None


# ---- the Home tab's directory ---------------------------------------------------------------------------------------


def _when(seconds: int) -> str:
    at = datetime.fromtimestamp(seconds, UTC)
    return f"<!date^{seconds}^{{date_short_pretty}}|{at.strftime('%Y-%m-%d')}>"


def _activity(team: ExternalTeam, now: float) -> str:
    if team.last_active is None:
        return "no activity recorded"
    days = int((now - team.last_active) // 86400)
    stale = f" — *stale: {days} days*" if days >= STALE_DAYS else ""
    return f"last active {_when(team.last_active)}{stale}"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


DMS_ONLY = ":dms"  # an Offboard button's value ends so when Slack counts only DMs and group DMs with the partner


def offboard_value(team: ExternalTeam) -> str:
    return team.id + (DMS_ONLY if team.channels == 0 and team.dms + team.group_dms > 0 else "")


def partner_row(team: ExternalTeam, now: float) -> SectionBlock:
    """Name, domain, what is shared (public, private, DMs, group DMs), last activity, status; and Offboard."""
    label = team_label(team.id, team.name)
    domain = f" ({escape_text(team.domain)})" if team.domain else ""
    status = team.status or "unknown"
    shared = ", ".join(
        [
            _plural(team.public, "public channel", "public channels"),
            _plural(team.private, "private channel", "private channels"),
            _plural(team.dms, "DM", "DMs"),
            _plural(team.group_dms, "group DM", "group DMs"),
        ]
    )
    text = f"{label}{domain}\n{shared}\n{_activity(team, now)}; status *{escape_text(status)}*"
    offboard = (
        ButtonElement(text="Offboard", action_id=PARTNER_OFFBOARD_ACTION, value=offboard_value(team))
        if status != DISCONNECTED
        else None
    )
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT)), accessory=offboard)


def directory_blocks(page: DirectoryPage, *, first_page: bool, now: float | None = None) -> list[Any]:
    """The partners connected to our org, stalest first, a page at a time (the Home tab stays within 100 blocks)."""
    now = datetime.now(UTC).timestamp() if now is None else now
    total = f" ({page.total})" if page.total is not None else ""
    blocks: list[Any] = [
        DividerBlock(),
        HeaderBlock(text=truncate(f"Connected organizations{total}", 150)),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="From Slack's partner directory, least recently active first, so partners nobody works "
                    f"with any more stand out. {DIRECTORY_PAGE_SIZE} at a time. *Offboard* plans disconnecting one."
                )
            ]
        ),
    ]
    if page.error is not None:
        text = DIRECTORY_PROBLEMS.get(page.error) or (
            f"I couldn't read the partner directory (`{escape_text(page.error)}`). Open this tab again in a moment."
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
        return blocks
    if not page.teams:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="No organization is connected to yours.")))
    blocks.extend(partner_row(team, now) for team in page.teams[:DIRECTORY_PAGE_SIZE])
    buttons = []
    if page.next_cursor:
        buttons.append(
            ButtonElement(text="More organizations", action_id=DIRECTORY_NEXT_ACTION, value=page.next_cursor)
        )
    if not first_page:
        buttons.append(ButtonElement(text="Back to the first", action_id=DIRECTORY_FIRST_ACTION, value="first"))
    if buttons:
        blocks.append(ActionsBlock(block_id=DIRECTORY_BLOCK, elements=buttons))
    return blocks


# ---- "everything, including DMs" ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EverythingMetadata:
    response_url: str | None
    partner_id: str
    partner_name: str | None = None
    dry_run: bool = False

    def encode(self) -> str:
        return encode_metadata(
            {"r": self.response_url, "p": self.partner_id, "n": (self.partner_name or "")[:80], "d": self.dry_run}
        )

    @classmethod
    def decode(cls, text: str | None) -> EverythingMetadata:
        data = decode_metadata(text)
        return cls(text_field(data, "r"), text_field(data, "p") or "", text_field(data, "n"), data.get("d") is True)


def everything_block(metadata: EverythingMetadata) -> ActionsBlock:
    """The plan's second way: one button that opens its own confirmation (inserted into the plan modal)."""
    return ActionsBlock(
        block_id=EVERYTHING_BLOCK,
        elements=[
            ButtonElement(
                text="Everything, including DMs…",
                action_id=EVERYTHING_ACTION,
                value=metadata.encode()[:2000],
            )
        ],
    )


def plan_mode_blocks(partner_id: str, partner_name: str | None, plan_metadata: str, dry_run: bool) -> list[Any]:
    """What the plan modal shows of the second way (none in a dry run: Slack's disconnect has no dry run)."""
    if dry_run or not partner_id:
        return []
    response_url = text_field(decode_metadata(plan_metadata), "r")
    return [everything_note(), everything_block(EverythingMetadata(response_url, partner_id, partner_name))]


def dms_only_modal(nothing_shared: str, team: ExternalTeam, metadata: EverythingMetadata) -> View:
    """`/disconnect-shared all <partner>` when the search found no channel but Slack's directory counts DMs or group
    DMs with the partner: the one way that reaches them (as the Home tab's Offboard button offers)."""
    text = (
        f"{nothing_shared}\nSlack's directory still counts {counts_text(team.counts())} with it: "
        "*Everything, including DMs…* asks Slack to disconnect those too."
    )
    return View(
        type="modal",
        callback_id=DMS_ONLY_CALLBACK,
        title=TITLE,
        close="Close",
        clear_on_close=True,
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT))),
            everything_block(metadata),
        ],
    )


def everything_note() -> ContextBlock:
    return ContextBlock(
        elements=[
            MarkdownTextObject(
                text="*Two ways to offboard:* *Review* disconnects the channels above one by one (ours only, "
                "keep some, dry run, audited per channel). *Everything, including DMs…* asks Slack to disconnect the "
                "organization from every shared channel, DM and group DM at once."
            )
        ]
    )


def counts_text(counts: dict[str, Any]) -> str:
    def n(key: str) -> int:
        value = counts.get(key)
        return value if isinstance(value, int) else 0

    return ", ".join(
        [
            _plural(n("public"), "public channel", "public channels"),
            _plural(n("private"), "private channel", "private channels"),
            _plural(n("dms"), "DM", "DMs"),
            _plural(n("group_dms"), "group DM", "group DMs"),
        ]
    )


def everything_confirm_modal(
    metadata: EverythingMetadata,
    team: ExternalTeam | None,
    *,
    external_id: str | None = None,
    checking: bool = False,
    watch_minutes: int = 30,
) -> View:
    """Its own confirmation: it says that DMs and group DMs end too, with Slack's counts when known."""
    label = team_label(metadata.partner_id, metadata.partner_name or (team.name if team else None))
    shared = f" Slack counts {counts_text(team.counts())} shared with {label}." if team else ""
    lines = [
        f"*Disconnect {label} from everything?*",
        f"Slack disconnects {label} from *every* Slack Connect channel your org shares with it — including channels "
        "it created — *and every DM and group DM* with its people. All communication with them ends; depending on "
        "permissions, history stays readable." + shared,
        "Nothing can be kept and there is no dry run: to spare some channels, or to see each channel's result, go "
        "Back and use *Review* (channel by channel) instead.",
        "Slack does it in the background. I watch until Slack lists the organization as disconnected (at most "
        f"{watch_minutes} minutes), then send you one summary of what changed. It is recorded in the audit log.",
    ]
    if checking:
        lines.append("_Checking your admin rights and that this organization is outside yours…_")
    return View(
        type="modal",
        callback_id=EVERYTHING_CONFIRM_CALLBACK,
        external_id=external_id,
        title="Confirm offboarding",
        submit="Disconnect all",
        close="Back",
        private_metadata=metadata.encode(),
        blocks=[SectionBlock(text=MarkdownTextObject(text=truncate(line, SECTION_TEXT_LIMIT))) for line in lines],
    )


def everything_status_modal(text: str, callback_id: str = EVERYTHING_PROGRESS_CALLBACK) -> View:
    """A message in the modal; Close closes the whole stack (`clear_on_close`,
    https://docs.slack.dev/reference/views/modal-views). Both ways of offboarding use it."""
    return View(
        type="modal",
        callback_id=callback_id,
        title=TITLE,
        close="Close",
        clear_on_close=True,
        blocks=[SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT)))],
    )


def _label(job: Job) -> str:
    return team_label(str(job.payload.get("partner") or ""), job.payload.get("partner_name"))


def everything_progress_line(job: Job) -> str:
    label = _label(job)
    cancelling = job.payload.get("stopping") == "cancelled"
    if job.payload.get("called"):
        line = (
            f"Slack is disconnecting {label} from everything, in the background: that can't be recalled, "
            "I'm only watching for it to finish…"
        )
        return line + (" Cancelling: I stop watching and send the summary." if cancelling else "")
    line = f"Asking Slack to disconnect {label} from everything…"
    return line + (" Cancelling: Slack won't be asked." if cancelling else "")


def everything_cancel_button(job: Job) -> ButtonElement:
    """Before Slack is asked, Cancel means nothing is disconnected; after, it only stops the watch (the confirm says
    which, as the job records it when the Home tab is drawn; the summary says what happened)."""
    called = bool(job.payload.get("called") or job.payload.get("sent"))
    text = (
        "Slack was already asked to disconnect everything: its background disconnect can't be recalled. "
        "Cancel only stops watching for it, and you get the summary now."
        if called
        else "Slack hasn't been asked yet: nothing will be disconnected. (If it is asked in the meantime, "
        "that can't be recalled: Cancel then only stops the watch.)"
    )
    return ButtonElement(
        text="Stop watching" if called else "Cancel",
        action_id=EVERYTHING_CANCEL_ACTION,
        value=job.id,
        style="danger",
        confirm=ConfirmObject(
            title="Cancel offboarding?", text=text, confirm="Cancel it" if not called else "Stop", deny="Keep going"
        ),
    )


def everything_progress_modal(job: Job) -> View:
    if job.status in FINISHED:
        return everything_status_modal(everything_summary(job)["text"])
    return View(
        type="modal",
        callback_id=EVERYTHING_PROGRESS_CALLBACK,
        title=TITLE,
        close="Close",
        clear_on_close=True,
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=f"*{everything_progress_line(job)}*")),
            ContextBlock(
                elements=[
                    PlainTextObject(text="You can close this window: the job goes on and you'll get one summary.")
                ]
            ),
        ],
    )


def everything_summary(job: Job) -> dict[str, Any]:
    """One summary: what Slack said, and what changed (Slack's counts before and after)."""
    label = _label(job)
    payload = job.payload
    before = payload.get("before") if isinstance(payload.get("before"), dict) else None
    after = payload.get("after") if isinstance(payload.get("after"), dict) else None
    ended = payload.get("ended")
    lines: list[str] = []
    if ended == "disconnected":
        lines.append(f"*Offboarding {label}: disconnected from everything, including DMs and group DMs.*")
        lines.append(f"Slack now lists {label} as {DISCONNECTED}.")
    elif ended == "already":
        lines.append(
            f"*Offboarding {label}: nothing to do.* Slack already listed it as {DISCONNECTED} before the job started, "
            "so I didn't call Slack."
        )
    elif ended == "timeout":
        lines.append(
            f"*Offboarding {label}: Slack accepted the disconnect, but after {payload.get('watched_minutes', '?')} "
            f"minutes still lists it as {escape_text(str(payload.get('status') or CONNECTED))}.*"
        )
        lines.append(
            "Slack works in the background and may still finish: check the Home tab's partner directory later."
        )
        if payload.get("uncertain"):
            lines.append(
                "The app was interrupted while asking Slack, so it can't tell whether Slack received the request: "
                "if the partner is still connected later, offboard it again."
            )
    elif ended == "refused":
        code = str(payload.get("error") or "unexpected_response")
        sentence = error_text(EVERYTHING_ERRORS, code, team=label)
        lines.append(f"*Offboarding {label}: nothing was disconnected.* {sentence}")
    elif ended == "cancelled":
        lines.append(f"*Offboarding {label}: cancelled by an admin before Slack was asked.* Nothing was disconnected.")
    elif ended == "watch_cancelled":
        lines.append(
            f"*Offboarding {label}: an admin stopped the watch.* Slack had already been asked to disconnect everything; "
            "its background disconnect can't be recalled and may still finish: check the Home tab's partner directory."
        )
    elif ended == "not_outside":
        lines.append(
            f"*Offboarding {label}: nothing was disconnected.* I couldn't establish again that it is outside your "
            "organization, so I called nothing."
        )
    elif ended == "not_allowed":
        lines.append(
            f"*Offboarding {label}: nothing was disconnected,* because you may no longer do this (your admin rights "
            "changed)."
        )
    else:
        lines.append(f"*Offboarding {label}: {escape_text(str(ended or 'unfinished'))}.*")
    if before is not None:
        lines.append(f"Before: {counts_text(before)}.")
    if after is not None:
        lines.append(f"After: {counts_text(after)}.")
    if job.interrupted:
        lines.append("_This was interrupted (the app restarted) and picked up where it stopped; Slack was asked once._")
    return {"text": "\n".join(lines)}


def directory_team_label(team: ExternalTeam) -> str:
    return team_label(team.id, team.name)


def everything_counts(teams: Sequence[ExternalTeam]) -> dict[str, int]:
    """Summed counts (one partner: its own)."""
    total = {"public": 0, "private": 0, "dms": 0, "group_dms": 0}
    for team in teams:
        for key, value in team.counts().items():
            total[key] += value
    return total
